// The command ledger in PostgreSQL (as ../commands.ts does in SQLite; the state
// machine and the idempotency rules are the same, canMove is shared).

import { type CommandState, deepEqual, type JsonValue } from '@halyard/firmware-protocol';
import { canMove } from '../../commands/states.js';
import { HubError, HubErrorCode } from '../../errors.js';
import {
  type CommandQuery,
  type CommandRecord,
  type NewCommand,
  OPEN_STATES,
  OVERDUE_AT,
  OVERDUE_BATCH,
  type Transition,
} from '../commands.js';
import type { Queryable } from './pool.js';

interface Row {
  rowid: number;
  id: string;
  device: string;
  device_rowid: number;
  name: string;
  params: JsonValue;
  state: CommandState;
  key: string | null;
  created_at: number;
  created_by: string;
  ttl: number;
  timeout: number;
  sent_at: number | null;
  result: JsonValue | null;
  error: string | null;
  history: { state: CommandState; at: number }[];
}

// The history comes along as a JSON array in the same query: one round trip per list.
const SELECT = `SELECT c.rowid, c.id, d.id AS device, c.device AS device_rowid, c.name, c.params, c.state, c.key, c.created_at,
  c.created_by, c.ttl, c.timeout, c.sent_at, c.result, c.error,
  coalesce((SELECT json_agg(json_build_object('state', h.state, 'at', h.at) ORDER BY h.id) FROM command_history h
            WHERE h.command = c.rowid), '[]'::json) AS history
  FROM commands c JOIN devices d ON d.rowid = c.device`;

function toRecord(r: Row): CommandRecord {
  return {
    rowid: r.rowid,
    id: r.id,
    device: r.device,
    deviceRowid: r.device_rowid,
    name: r.name,
    params: r.params,
    state: r.state,
    key: r.key,
    createdAt: r.created_at,
    createdBy: r.created_by,
    ttl: r.ttl,
    timeout: r.timeout,
    sentAt: r.sent_at,
    result: r.result,
    error: r.error,
    history: r.history,
  };
}

export async function getCommand(db: Queryable, id: string): Promise<CommandRecord | undefined> {
  const r = (await db.query<Row>(`${SELECT} WHERE c.id = $1`, [id])).rows[0];
  return r && toRecord(r);
}

/** A device's commands, newest first. */
export async function listCommands(db: Queryable, q: CommandQuery): Promise<CommandRecord[]> {
  const args: unknown[] = [q.device];
  const where = ['c.device = $1'];
  if (q.states?.length) {
    args.push([...q.states]);
    where.push(`c.state = ANY($${args.length}::text[])`);
  }
  if (q.beforeRowid !== undefined) {
    args.push(q.beforeRowid);
    where.push(`c.rowid < $${args.length}`);
  }
  args.push(q.limit);
  return (await db.query<Row>(`${SELECT} WHERE ${where.join(' AND ')} ORDER BY c.rowid DESC LIMIT $${args.length}`, args)).rows.map(
    toRecord,
  );
}

/** As ../commands.ts OVERDUE_SQL, with PostgreSQL's placeholders (its planner picks the index by its statistics: no INDEXED BY). */
export const PG_OVERDUE_SQL = `SELECT rowid FROM commands WHERE ${OPEN_STATES} AND ${OVERDUE_AT} <= $1 ORDER BY ${OVERDUE_AT} LIMIT $2`;

/** Open commands overdue at `now`, oldest first, at most `limit` (the longest overdue): through commands_overdue. */
export async function overdueCommands(db: Queryable, now: number, limit = OVERDUE_BATCH): Promise<CommandRecord[]> {
  return (await db.query<Row>(`${SELECT} WHERE c.rowid IN (${PG_OVERDUE_SQL}) ORDER BY c.rowid`, [now, limit])).rows.map(toRecord);
}

/** Every command not yet in a final state, oldest first. */
export async function openCommands(db: Queryable): Promise<CommandRecord[]> {
  return (await db.query<Row>(`${SELECT} WHERE c.state IN ('queued', 'sent', 'accepted') ORDER BY c.rowid`)).rows.map(toRecord);
}

/** Expired keys deleted per command created (as in SQLite). */
const KEY_PRUNE_BATCH = 100;

/** As ../commands.ts createCommand, in a transaction that has checked the device. */
export async function createCommand(
  db: Queryable,
  c: NewCommand,
  maxOpen: number,
  keyTtl: number,
): Promise<{ command: CommandRecord; created: boolean }> {
  if (c.key !== null) {
    // Serialise one caller's uses of one key across hubs: the second waits for the first to commit, then finds its command.
    await db.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [JSON.stringify(['idem', c.createdBy, c.key])]);
    const hit = (
      await db.query<{ command: number; created_at: number }>(
        'SELECT command, created_at FROM idempotency_keys WHERE scope = $1 AND key = $2',
        [c.createdBy, c.key],
      )
    ).rows[0];
    const existing =
      hit === undefined || hit.created_at + keyTtl <= c.createdAt
        ? undefined
        : (await db.query<Row>(`${SELECT} WHERE c.rowid = $1`, [hit.command])).rows[0];
    if (existing !== undefined) {
      if (existing.device_rowid !== c.device || existing.name !== c.name || !deepEqual(existing.params, c.params)) {
        throw new HubError(
          HubErrorCode.IdempotencyConflict,
          `idempotency key "${c.key}" was used for a different request (${existing.name} on ${existing.device}, command ${existing.id}); use a new key`,
        );
      }
      return { command: toRecord(existing), created: false };
    }
  }
  const open = (
    await db.query<{ n: number }>("SELECT count(*) AS n FROM commands WHERE device = $1 AND state IN ('queued', 'sent', 'accepted')", [
      c.device,
    ])
  ).rows[0]?.n as number;
  if (open >= maxOpen)
    throw new HubError(HubErrorCode.QueueFull, `the device already has ${open} open commands (at most ${maxOpen}); wait or cancel some`);
  const rowid = (
    await db.query<{ rowid: number }>(
      `INSERT INTO commands (id, device, name, params, state, key, created_at, created_by, ttl, timeout, updated_at)
       VALUES ($1, $2, $3, $4, 'queued', $5, $6, $7, $8, $9, $6) RETURNING rowid`,
      [c.id, c.device, c.name, JSON.stringify(c.params), c.key, c.createdAt, c.createdBy, c.ttl, c.timeout],
    )
  ).rows[0]?.rowid as number;
  await db.query("INSERT INTO command_history (command, state, at) VALUES ($1, 'queued', $2)", [rowid, c.createdAt]);
  if (c.key !== null) {
    await db.query(
      `INSERT INTO idempotency_keys (scope, key, command, created_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (scope, key) DO UPDATE SET command = excluded.command, created_at = excluded.created_at`,
      [c.createdBy, c.key, rowid, c.createdAt],
    );
    await db.query(
      `DELETE FROM idempotency_keys WHERE (scope, key) IN
         (SELECT scope, key FROM idempotency_keys WHERE created_at <= $1 ORDER BY created_at LIMIT ${KEY_PRUNE_BATCH} FOR UPDATE SKIP LOCKED)`,
      [c.createdAt - keyTtl],
    );
  }
  return { command: (await getCommand(db, c.id)) as CommandRecord, created: true };
}

/** As ../commands.ts transitionCommands: moves the state machine refuses are skipped. */
export async function transitionCommands(db: Queryable, moves: readonly Transition[]): Promise<CommandRecord[]> {
  const moved: CommandRecord[] = [];
  for (const m of moves) {
    const r = (await db.query<{ rowid: number; state: CommandState }>('SELECT rowid, state FROM commands WHERE id = $1 FOR UPDATE', [m.id]))
      .rows[0];
    if (r === undefined || !canMove(r.state, m.to)) continue;
    await db.query(
      `UPDATE commands SET state = $1, updated_at = $2, sent_at = CASE WHEN $1 = 'sent' THEN coalesce(sent_at, $2) ELSE sent_at END,
         result = coalesce($3::json, result), error = coalesce($4::json, error) WHERE rowid = $5`,
      [
        m.to,
        m.at,
        m.result === undefined || m.result === null ? null : JSON.stringify(m.result),
        m.error === undefined || m.error === null ? null : JSON.stringify(m.error),
        r.rowid,
      ],
    );
    await db.query('INSERT INTO command_history (command, state, at) VALUES ($1, $2, $3)', [r.rowid, m.to, m.at]);
    moved.push((await getCommand(db, m.id)) as CommandRecord);
  }
  return moved;
}
