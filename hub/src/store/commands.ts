// The command ledger: every command, its state, and every state change with its time.

import { type CommandInfo, type CommandState, deepEqual, FINAL_COMMAND_STATES, type JsonValue } from '@halyard/firmware-protocol';
import { canMove } from '../commands/states.js';
import { HubError, HubErrorCode } from '../errors.js';
import type { Db } from './db.js';
import { sql } from './prepared.js';

interface Row {
  rowid: number;
  id: string;
  device: string;
  name: string;
  params: string;
  state: CommandState;
  key: string | null;
  created_at: number;
  created_by: string;
  ttl: number;
  timeout: number;
  sent_at: number | null;
  result: string | null;
  error: string | null;
}

/** A command with what the runtime needs beside the API shape. */
export interface CommandRecord extends CommandInfo {
  rowid: number;
  deviceRowid: number;
  sentAt: number | null;
}

const SELECT = `SELECT c.rowid, c.id, d.id AS device, c.device AS device_rowid, c.name, c.params, c.state, c.key, c.created_at, c.created_by,
  c.ttl, c.timeout, c.sent_at, c.result, c.error FROM commands c JOIN devices d ON d.rowid = c.device`;

function toRecord(db: Db, r: Row & { device_rowid: number }, withHistory: boolean): CommandRecord {
  return {
    rowid: r.rowid,
    id: r.id,
    device: r.device,
    deviceRowid: r.device_rowid,
    name: r.name,
    params: JSON.parse(r.params) as JsonValue,
    state: r.state,
    key: r.key,
    createdAt: r.created_at,
    createdBy: r.created_by,
    ttl: r.ttl,
    timeout: r.timeout,
    sentAt: r.sent_at,
    result: r.result === null ? null : (JSON.parse(r.result) as JsonValue),
    error: r.error,
    history: withHistory
      ? (sql(db, 'SELECT state, at FROM command_history WHERE command = ? ORDER BY rowid').all(r.rowid) as {
          state: CommandState;
          at: number;
        }[])
      : [],
  };
}

export function getCommand(db: Db, id: string): CommandRecord | undefined {
  const r = sql(db, `${SELECT} WHERE c.id = ?`).get(id) as (Row & { device_rowid: number }) | undefined;
  return r && toRecord(db, r, true);
}

export interface CommandQuery {
  device: number;
  states?: readonly CommandState[];
  beforeRowid?: number;
  limit: number;
}

/** A device's commands, newest first. */
export function listCommands(db: Db, q: CommandQuery): CommandRecord[] {
  const where = ['c.device = ?'];
  const args: (string | number)[] = [q.device];
  if (q.states?.length) {
    where.push(`c.state IN (${q.states.map(() => '?').join(', ')})`);
    args.push(...q.states);
  }
  if (q.beforeRowid !== undefined) {
    where.push('c.rowid < ?');
    args.push(q.beforeRowid);
  }
  const rows = sql(db, `${SELECT} WHERE ${where.join(' AND ')} ORDER BY c.rowid DESC LIMIT ?`).all(...args, q.limit) as (Row & {
    device_rowid: number;
  })[];
  return rows.map((r) => toRecord(db, r, true));
}

/**
 * When an open command becomes overdue: a queued one at the end of its ttl, a sent or
 * accepted one at the end of its timeout. The same text is the expression of the
 * `commands_overdue` index (migrations.ts, postgres/schema.ts) and the sweep's
 * condition: both engines use an expression index only for the expression it holds.
 */
export const OVERDUE_AT = "(CASE WHEN state = 'queued' THEN created_at + ttl ELSE coalesce(sent_at, created_at) + timeout END)";
/** The open states, as the partial indexes on commands name them. */
export const OPEN_STATES = "state IN ('queued', 'sent', 'accepted')";
/** Most overdue commands one sweep reads; the rest wait for the next. */
export const OVERDUE_BATCH = 1_000;

/**
 * Open commands overdue at `now` (?1), the longest overdue first, at most ?2: through
 * commands_overdue, not a pass over every open command. INDEXED BY: without statistics
 * SQLite's planner prefers commands_open (state IN …) and sorts every open command;
 * it also makes the query fail, rather than scan, should the index's expression and
 * OVERDUE_AT ever differ.
 */
export const OVERDUE_SQL = `SELECT rowid FROM commands INDEXED BY commands_overdue WHERE ${OPEN_STATES} AND ${OVERDUE_AT} <= ? ORDER BY ${OVERDUE_AT} LIMIT ?`;

/** See OVERDUE_SQL. */
export function overdueCommands(db: Db, now: number, limit = OVERDUE_BATCH): CommandRecord[] {
  const rows = sql(db, `${SELECT} WHERE c.rowid IN (${OVERDUE_SQL}) ORDER BY c.rowid`).all(now, limit) as (Row & {
    device_rowid: number;
  })[];
  return rows.map((r) => toRecord(db, r, true));
}

/** Every command not yet in a final state, oldest first (what a restarted hub resumes). */
export function openCommands(db: Db): CommandRecord[] {
  const rows = sql(db, `${SELECT} WHERE c.state IN ('queued', 'sent', 'accepted') ORDER BY c.rowid`).all() as (Row & {
    device_rowid: number;
  })[];
  return rows.map((r) => toRecord(db, r, true));
}

export interface NewCommand {
  id: string;
  device: number;
  name: string;
  params: JsonValue;
  key: string | null;
  createdAt: number;
  createdBy: string;
  ttl: number;
  timeout: number;
}

/** Expired keys deleted per command created: keeps the table at about a key-lifetime's worth without a sweep. */
const KEY_PRUNE_BATCH = 100;

/**
 * Creates a queued command, or returns the one the same caller (`createdBy`) created
 * with the same idempotency key less than `keyTtl` ms before; the same key with a
 * different device, name or params is a conflict (the IETF Idempotency-Key draft's
 * 422). Refuses when the device already has `maxOpen` open commands.
 */
export function createCommand(db: Db, c: NewCommand, maxOpen: number, keyTtl: number): { command: CommandRecord; created: boolean } {
  if (c.key !== null) {
    const hit = sql(db, 'SELECT command, created_at FROM idempotency_keys WHERE scope = ? AND key = ?').get(c.createdBy, c.key) as
      | { command: number; created_at: number }
      | undefined;
    // A key whose command was deleted with its device is free again, like an expired one.
    const existing =
      hit === undefined || hit.created_at + keyTtl <= c.createdAt
        ? undefined
        : (sql(db, `${SELECT} WHERE c.rowid = ?`).get(hit.command) as (Row & { device_rowid: number }) | undefined);
    if (existing !== undefined) {
      if (existing.device_rowid !== c.device || existing.name !== c.name || !deepEqual(JSON.parse(existing.params), c.params)) {
        throw new HubError(
          HubErrorCode.IdempotencyConflict,
          `idempotency key "${c.key}" was used for a different request (${existing.name} on ${existing.device}, command ${existing.id}); use a new key`,
        );
      }
      return { command: toRecord(db, existing, true), created: false };
    }
  }
  const open = sql(db, "SELECT count(*) FROM commands WHERE device = ? AND state IN ('queued', 'sent', 'accepted')")
    .pluck()
    .get(c.device) as number;
  if (open >= maxOpen)
    throw new HubError(HubErrorCode.QueueFull, `the device already has ${open} open commands (at most ${maxOpen}); wait or cancel some`);
  const rowid = Number(
    sql(
      db,
      'INSERT INTO commands (id, device, name, params, state, key, created_at, created_by, ttl, timeout, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ).run(c.id, c.device, c.name, JSON.stringify(c.params), 'queued', c.key, c.createdAt, c.createdBy, c.ttl, c.timeout, c.createdAt)
      .lastInsertRowid,
  );
  sql(db, 'INSERT INTO command_history (command, state, at) VALUES (?, ?, ?)').run(rowid, 'queued', c.createdAt);
  if (c.key !== null) {
    sql(db, 'INSERT OR REPLACE INTO idempotency_keys (scope, key, command, created_at) VALUES (?, ?, ?, ?)').run(
      c.createdBy,
      c.key,
      rowid,
      c.createdAt,
    );
    sql(
      db,
      `DELETE FROM idempotency_keys WHERE (scope, key) IN
         (SELECT scope, key FROM idempotency_keys WHERE created_at <= ? ORDER BY created_at LIMIT ${KEY_PRUNE_BATCH})`,
    ).run(c.createdAt - keyTtl);
  }
  return { command: getCommand(db, c.id) as CommandRecord, created: true };
}

export interface Transition {
  id: string;
  to: CommandState;
  at: number;
  result?: JsonValue | null;
  error?: string | null;
}

/**
 * Moves commands to new states. A move the state machine does not allow (a late
 * result after a timeout, say) is skipped; the returned list holds the commands
 * that moved, in their new state.
 */
export function transitionCommands(db: Db, moves: readonly Transition[]): CommandRecord[] {
  const moved: CommandRecord[] = [];
  for (const m of moves) {
    const r = sql(db, 'SELECT rowid, state FROM commands WHERE id = ?').get(m.id) as { rowid: number; state: CommandState } | undefined;
    if (r === undefined || !canMove(r.state, m.to)) continue;
    sql(
      db,
      `UPDATE commands SET state = ?, updated_at = ?, sent_at = CASE WHEN ? = 'sent' THEN coalesce(sent_at, ?) ELSE sent_at END,
         result = coalesce(?, result), error = coalesce(?, error) WHERE rowid = ?`,
    ).run(m.to, m.at, m.to, m.at, m.result === undefined || m.result === null ? null : JSON.stringify(m.result), m.error ?? null, r.rowid);
    sql(db, 'INSERT INTO command_history (command, state, at) VALUES (?, ?, ?)').run(r.rowid, m.to, m.at);
    moved.push(getCommand(db, m.id) as CommandRecord);
  }
  return moved;
}

export function isFinal(state: CommandState): boolean {
  return FINAL_COMMAND_STATES.has(state);
}
