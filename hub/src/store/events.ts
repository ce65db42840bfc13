// Device events (EVENT messages and the hub's own notes about a device) and
// presence history.

import type { EventInfo, JsonValue, PresenceInfo, PresenceReason } from '@halyard/firmware-protocol';
import type { Db } from './db.js';
import { sql } from './prepared.js';

export interface NewEvent {
  device: number;
  name: string;
  level: number;
  data: JsonValue | null;
  time: number;
  receivedAt: number;
}

export function insertEvent(db: Db, e: NewEvent): number {
  return Number(
    sql(db, 'INSERT INTO events (device, name, level, data, time, received_at) VALUES (?, ?, ?, ?, ?, ?)').run(
      e.device,
      e.name,
      e.level,
      e.data === null ? null : JSON.stringify(e.data),
      e.time,
      e.receivedAt,
    ).lastInsertRowid,
  );
}

interface EventRow {
  id: number;
  device: string;
  name: string;
  level: number;
  data: string | null;
  time: number;
  received_at: number;
}

export interface EventQuery {
  device?: number;
  /** Only events with an id greater than this (for polling). */
  afterId?: number;
  /** Only events with an id less than this (paging back, as exports do). */
  beforeId?: number;
  /** Only events received at or after this time, ms. */
  since?: number;
  limit: number;
}

/** Newest first. */
export function listEvents(db: Db, q: EventQuery): EventInfo[] {
  const where: string[] = [];
  const args: number[] = [];
  if (q.device !== undefined) {
    where.push('e.device = ?');
    args.push(q.device);
  }
  if (q.afterId !== undefined) {
    where.push('e.id > ?');
    args.push(q.afterId);
  }
  if (q.beforeId !== undefined) {
    where.push('e.id < ?');
    args.push(q.beforeId);
  }
  if (q.since !== undefined) {
    where.push('e.received_at >= ?');
    args.push(q.since);
  }
  const text = `SELECT e.id, d.id AS device, e.name, e.level, e.data, e.time, e.received_at FROM events e JOIN devices d ON d.rowid = e.device
    ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY e.id DESC LIMIT ?`;
  return (sql(db, text).all(...args, q.limit) as EventRow[]).map((r) => ({
    id: r.id,
    device: r.device,
    name: r.name,
    level: r.level,
    data: r.data === null ? null : (JSON.parse(r.data) as JsonValue),
    time: r.time,
    receivedAt: r.received_at,
  }));
}

export interface NewPresence {
  device: number;
  online: boolean;
  reason: PresenceReason;
  code: number | null;
  at: number;
}

export function insertPresence(db: Db, rows: readonly NewPresence[]): void {
  const s = sql(db, 'INSERT INTO presence (device, online, reason, code, at) VALUES (?, ?, ?, ?, ?)');
  for (const p of rows) s.run(p.device, p.online ? 1 : 0, p.reason, p.code, p.at);
}

export function listPresence(db: Db, device: number, deviceId: string, limit: number): PresenceInfo[] {
  return (
    sql(db, 'SELECT online, reason, code, at FROM presence WHERE device = ? ORDER BY id DESC LIMIT ?').all(device, limit) as {
      online: number;
      reason: PresenceReason;
      code: number | null;
      at: number;
    }[]
  ).map((r) => ({ device: deviceId, online: r.online === 1, reason: r.reason, code: r.code, at: r.at }));
}

/** Deletes events and presence rows older than `cutoff`, at most `limit` of each. */
export function pruneHistory(db: Db, cutoff: number, limit: number): number {
  const a = sql(db, 'DELETE FROM events WHERE id IN (SELECT id FROM events WHERE received_at < ? ORDER BY id LIMIT ?)').run(
    cutoff,
    limit,
  ).changes;
  const b = sql(db, 'DELETE FROM presence WHERE id IN (SELECT id FROM presence WHERE at < ? ORDER BY id LIMIT ?)').run(
    cutoff,
    limit,
  ).changes;
  return a + b;
}
