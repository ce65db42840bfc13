// Where an interrupted telemetry copy stands, kept in PostgreSQL beside the data:
// each chunk of points and its checkpoint commit in one transaction, so a rerun
// resumes exactly after the last committed chunk. The telemetry table has no unique
// key (schema.ts: it must stay a plain hypertable for TimescaleDB), so this cursor,
// not ON CONFLICT, is what keeps points from being copied twice.

import type { Queryable } from '../store/postgres/pool.js';
import { query } from '../store/postgres/pool.js';

export const CHECKPOINT_TABLE = 'halyard_migrate_store';

export async function ensureCheckpointTable(db: Queryable): Promise<void> {
  await query(
    db,
    'creating the migrate-store checkpoint table',
    `CREATE TABLE IF NOT EXISTS ${CHECKPOINT_TABLE} (part text PRIMARY KEY, cursor json NOT NULL, updated_at bigint NOT NULL)`,
  );
}

export async function readCheckpoint<T>(db: Queryable, part: string): Promise<T | undefined> {
  const rows = await query<{ cursor: T }>(
    db,
    'reading a migrate-store checkpoint',
    `SELECT cursor FROM ${CHECKPOINT_TABLE} WHERE part = $1`,
    [part],
  );
  return rows[0]?.cursor;
}

/** Inside the transaction that wrote the chunk (or alone, for a table done). */
export async function writeCheckpoint(c: Queryable, part: string, cursor: unknown): Promise<void> {
  await c.query(
    `INSERT INTO ${CHECKPOINT_TABLE} (part, cursor, updated_at) VALUES ($1, $2, $3)
     ON CONFLICT (part) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at`,
    [part, JSON.stringify(cursor), Date.now()],
  );
}
