// migrate-store: copies a SQLite hub's whole state into PostgreSQL (README, "Moving
// from SQLite to PostgreSQL"). The SQLite file is opened read-only and read in one
// transaction, so the copy is of one moment even if something else writes to it;
// PostgreSQL gets the hub's schema (postgres/migrate.ts), the state tables
// (copy-tables.ts), then telemetry (copy-telemetry.ts), and last a count check.

import { HubError, HubErrorCode } from '../errors.js';
import { type Db, openDatabase } from '../store/db.js';
import { MIGRATIONS } from '../store/migrations.js';
import { migrate } from '../store/postgres/migrate.js';
import { createPool, type Pool, query } from '../store/postgres/pool.js';
import { ensureCheckpointTable } from './checkpoints.js';
import { copyTable, sourceCount } from './copy-tables.js';
import { copyTelemetry, sourceBlockPoints, sourceLogPoints } from './copy-telemetry.js';
import { assertNoWriter } from './no-writer.js';
import type { Write } from './progress.js';
import { TABLES, type TableSpec } from './tables.js';

export interface MigrateStoreOptions {
  from: string;
  to: string;
  /** Copy even into a database holding another hub's data (rows whose keys exist are kept as they are). */
  force?: boolean;
  write?: Write;
  /** Tests: fail after this many telemetry chunks. */
  failAfterChunks?: number;
}

export interface CountCheck {
  table: string;
  source: number;
  destination: number;
}

export interface MigrateStoreResult {
  counts: CountCheck[];
  ok: boolean;
  seconds: number;
  points: number;
}

const SOURCE_KEY = 'migrate_store.source';

/** The SQLite schema version this copy reads (tables.ts names its columns): the hub's current one. */
export const SOURCE_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;

/** Names the source hub, so a second run can tell its own earlier copy from another hub's data. */
function fingerprint(src: Db): string {
  const op = src.prepare('SELECT username, created_at FROM operators ORDER BY created_at, username LIMIT 1').raw().get() as
    | [string, number]
    | undefined;
  if (op !== undefined) return `operator ${op[0]} created ${op[1]}`;
  const dev = src.prepare('SELECT id, created_at FROM devices ORDER BY rowid LIMIT 1').raw().get() as [string, number] | undefined;
  return dev === undefined ? 'an empty hub' : `device ${dev[0]} created ${dev[1]}`;
}

async function claimDestination(src: Db, dst: Pool, force: boolean): Promise<void> {
  const mine = fingerprint(src);
  const got = await query<{ value: string }>(dst, 'reading meta', 'SELECT value FROM meta WHERE key = $1', [SOURCE_KEY]);
  const theirs = got[0]?.value;
  if (theirs === mine) return;
  if (!force) {
    if (theirs !== undefined) {
      throw new HubError(
        HubErrorCode.Storage,
        `the PostgreSQL database holds a copy of another hub (${theirs}; this one is ${mine}): use an empty database, or --force to copy into it anyway`,
      );
    }
    const used = await query<{ n: number }>(
      dst,
      'checking the destination',
      'SELECT (SELECT count(*) FROM devices) + (SELECT count(*) FROM operators) + (SELECT count(*) FROM integrators) AS n',
    );
    if ((used[0]?.n ?? 0) > 0) {
      throw new HubError(
        HubErrorCode.Storage,
        'the PostgreSQL database already holds a hub (devices, operators or integrators): use an empty database, or --force to copy into it anyway (rows whose keys exist are kept as they are)',
      );
    }
  }
  await query(dst, 'writing meta', 'INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [
    SOURCE_KEY,
    mine,
  ]);
}

/** Moves each identity past the copied ids (and past SQLite's AUTOINCREMENT high-water mark), so new rows never reuse one. */
async function advanceIdentity(src: Db, dst: Pool, t: TableSpec): Promise<void> {
  if (t.identity === undefined) return;
  const floor = t.identity.sqliteSequence
    ? ((src.prepare('SELECT seq FROM sqlite_sequence WHERE name = ?').pluck().get(t.identity.sqliteSequence) as number | undefined) ?? 0)
    : 0;
  const col = t.identity.column;
  await query(
    dst,
    `advancing ${t.name}.${col}`,
    `SELECT setval(pg_get_serial_sequence('${t.name}', '${col}'), GREATEST((SELECT max(${col}) FROM ${t.name}), $1::bigint, 1))`,
    [floor],
  );
}

async function destCount(dst: Pool, table: string, where = ''): Promise<number> {
  const r = await query<{ n: number }>(dst, `counting ${table}`, `SELECT count(*)::bigint AS n FROM ${table}${where}`);
  return r[0]?.n ?? 0;
}

export async function migrateStore(o: MigrateStoreOptions): Promise<MigrateStoreResult> {
  const write = o.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const started = Date.now();
  assertNoWriter(o.from);
  let src: Db;
  try {
    src = openDatabase(o.from, { readonly: true });
  } catch (err) {
    throw new HubError(HubErrorCode.Storage, `cannot open ${o.from} read-only: ${(err as Error).message}`);
  }
  const dst = createPool(o.to, { max: 2 });
  try {
    const version = src.pragma('user_version', { simple: true }) as number;
    if (version < SOURCE_SCHEMA_VERSION) {
      throw new HubError(
        HubErrorCode.Storage,
        `${o.from} is not a hub database of this version (schema ${version}, this hub's is ${SOURCE_SCHEMA_VERSION}): start this hub on it once first`,
      );
    }
    if (version > SOURCE_SCHEMA_VERSION) {
      throw new HubError(
        HubErrorCode.Storage,
        `${o.from} is from a newer hub (schema ${version}, this hub's is ${SOURCE_SCHEMA_VERSION}): run migrate-store of that hub's version`,
      );
    }
    // One read transaction for the whole copy: WAL keeps this snapshot however long it takes.
    src.exec('BEGIN');
    src.prepare('SELECT count(*) FROM devices').get();
    await migrate(dst);
    await ensureCheckpointTable(dst);
    await claimDestination(src, dst, o.force === true);
    for (const t of TABLES) await copyTable(src, dst, t, write);
    for (const t of TABLES) await advanceIdentity(src, dst, t);
    const points = await copyTelemetry(src, dst, { write, failAfterChunks: o.failAfterChunks });

    const counts: CountCheck[] = [];
    // Series made for points still in the log have ids past every copied one.
    const maxSeries = src.prepare('SELECT coalesce(max(id), 0) FROM series').pluck().get() as number;
    for (const t of TABLES) {
      const where = t.name === 'series' ? ` WHERE id <= ${maxSeries}` : '';
      counts.push({ table: t.name, source: sourceCount(src, t), destination: await destCount(dst, t.name, where) });
    }
    counts.push({
      table: 'telemetry',
      source: sourceBlockPoints(src) + sourceLogPoints(src),
      destination: await destCount(dst, 'telemetry'),
    });
    const ok = counts.every((c) => c.source === c.destination);
    for (const c of counts) {
      write(
        `migrate-store: check ${c.table.padEnd(16)} sqlite ${String(c.source).padStart(12)}  postgres ${String(c.destination).padStart(12)}  ${
          c.source === c.destination ? 'ok' : 'MISMATCH'
        }`,
      );
    }
    const seconds = (Date.now() - started) / 1000;
    write(`migrate-store: ${ok ? 'done' : 'counts differ'} in ${seconds.toFixed(1)} s`);
    return { counts, ok, seconds, points };
  } finally {
    if (src.inTransaction) src.exec('ROLLBACK');
    src.close();
    await dst.end();
  }
}
