// Device events and presence history in PostgreSQL (as ../events.ts does in SQLite).

import type { EventInfo, JsonValue, PresenceInfo, PresenceReason } from '@halyard/firmware-protocol';
import type { EventQuery, NewEvent, NewPresence } from '../events.js';
import type { Queryable } from './pool.js';

export async function insertEvent(db: Queryable, e: NewEvent): Promise<number> {
  const r = await db.query<{ id: number }>(
    'INSERT INTO events (device, name, level, data, time, received_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id',
    [e.device, e.name, e.level, e.data === null ? null : JSON.stringify(e.data), e.time, e.receivedAt],
  );
  return (r.rows[0] as { id: number }).id;
}

/** Newest first. */
export async function listEvents(db: Queryable, q: EventQuery): Promise<EventInfo[]> {
  const where: string[] = [];
  const args: number[] = [];
  if (q.device !== undefined) {
    args.push(q.device);
    where.push(`e.device = $${args.length}`);
  }
  if (q.afterId !== undefined) {
    args.push(q.afterId);
    where.push(`e.id > $${args.length}`);
  }
  if (q.beforeId !== undefined) {
    args.push(q.beforeId);
    where.push(`e.id < $${args.length}`);
  }
  if (q.since !== undefined) {
    args.push(q.since);
    where.push(`e.received_at >= $${args.length}`);
  }
  args.push(q.limit);
  const rows = await db.query<{
    id: number;
    device: string;
    name: string;
    level: number;
    data: JsonValue | null;
    time: number;
    received_at: number;
  }>(
    `SELECT e.id, d.id AS device, e.name, e.level, e.data, e.time, e.received_at FROM events e JOIN devices d ON d.rowid = e.device
     ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY e.id DESC LIMIT $${args.length}`,
    args,
  );
  return rows.rows.map((r) => ({
    id: r.id,
    device: r.device,
    name: r.name,
    level: r.level,
    data: r.data,
    time: r.time,
    receivedAt: r.received_at,
  }));
}

/** Rows of devices that no longer exist are skipped (a deleted device's last presence may still be on its way). */
export async function insertPresence(db: Queryable, rows: readonly NewPresence[]): Promise<void> {
  if (rows.length === 0) return;
  await db.query(
    `INSERT INTO presence (device, online, reason, code, at)
     SELECT u.device, u.online, u.reason, u.code, u.at
     FROM unnest($1::bigint[], $2::boolean[], $3::text[], $4::int[], $5::bigint[]) WITH ORDINALITY AS u(device, online, reason, code, at, n)
     WHERE EXISTS (SELECT 1 FROM devices WHERE rowid = u.device) ORDER BY u.n`,
    [rows.map((p) => p.device), rows.map((p) => p.online), rows.map((p) => p.reason), rows.map((p) => p.code), rows.map((p) => p.at)],
  );
}

/** Newest first. */
export async function listPresence(db: Queryable, device: number, deviceId: string, limit: number): Promise<PresenceInfo[]> {
  const rows = await db.query<{ online: boolean; reason: PresenceReason; code: number | null; at: number }>(
    'SELECT online, reason, code, at FROM presence WHERE device = $1 ORDER BY id DESC LIMIT $2',
    [device, limit],
  );
  return rows.rows.map((r) => ({ device: deviceId, online: r.online, reason: r.reason, code: r.code, at: r.at }));
}
