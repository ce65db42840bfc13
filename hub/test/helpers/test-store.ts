// Which store the hub's tests run on: SQLite in the test's data dir (the default), or
// PostgreSQL when HALYARD_TEST_STORE=postgres (README, Testing: the second pass).
// On PostgreSQL one server serves the whole test process (started on first use,
// gone when the process exits, or HALYARD_TEST_PG_URL), and every data dir a test
// uses gets a fresh database of its own: a hub restarted on the same dir finds its
// data again, as it would in the dir on SQLite.

import { startPostgres, type TestDatabase, type TestPostgres } from './postgres.js';

export const STORE_ENV = 'HALYARD_TEST_STORE';

export type TestStoreKind = 'sqlite' | 'postgres';

export function testStoreKind(): TestStoreKind {
  const v = process.env[STORE_ENV];
  if (v === undefined || v === '' || v === 'sqlite') return 'sqlite';
  if (v === 'postgres') return 'postgres';
  throw new Error(`${STORE_ENV} must be sqlite or postgres (got ${JSON.stringify(v)})`);
}

export const onPostgres = testStoreKind() === 'postgres';

let server: Promise<TestPostgres> | undefined;
const databases = new Map<string, Promise<TestDatabase>>();

/** The test process's PostgreSQL server (fsync off: these tests never crash the server). */
export function testPostgres(): Promise<TestPostgres> {
  server ??= startPostgres({ fsync: false, background: true });
  return server;
}

/** The database that stands for the data dir `dir`: created on first use, the same one after. */
export function databaseFor(dir: string): Promise<TestDatabase> {
  let db = databases.get(dir);
  if (db === undefined) {
    db = testPostgres().then((pg) => pg.newDatabase());
    databases.set(dir, db);
  }
  return db;
}

/** Flags that put a hub using data dir `dir` on the test store: none on SQLite, `--store <url>` on PostgreSQL. */
export async function storeFlags(dir: string, flags: readonly string[] = []): Promise<string[]> {
  if (!onPostgres || flags.includes('--store')) return [];
  return ['--store', (await databaseFor(dir)).url];
}

/** The data dir's database is no longer needed (its hub is closed for good). */
export async function releaseStore(dir: string): Promise<void> {
  const db = databases.get(dir);
  if (db === undefined) return;
  databases.delete(dir);
  await (await db).drop();
}

/** For a test that reaches into SQLite itself: prints why it is skipped on PostgreSQL, or false on SQLite. */
export function sqliteOnly(reason: string): string | false {
  return onPostgres ? `SQLite only: ${reason}` : false;
}

/** Runs one SQL statement on the PostgreSQL database standing for `dir` (what a test reads or plants behind the hub). */
export async function pgQuery<R extends Record<string, unknown>>(dir: string, sql: string, params: unknown[] = []): Promise<R[]> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: (await databaseFor(dir)).url });
  client.on('error', () => {});
  await client.connect();
  try {
    return (await client.query<R>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/** SqliteStore.open's options in the store's own tests, but `path`: a small cache, nothing expires, compaction only when asked. */
export const SQLITE_TEST_OPTIONS = {
  cacheMiB: 16,
  retentionMs: 0,
  compactIntervalMs: 600_000,
  compactRows: 1_000_000,
  commitIntervalMs: 2,
  maxBatchFrames: 50,
  maxFrame: 65536,
} as const;
