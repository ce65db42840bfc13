// Holds a test hub's commits of telemetry back, on either store, until `release`: a
// lock taken beside the hub (SQLite: a write transaction on its file; PostgreSQL: the
// device_seq table), so frames are read and queued but not stored meanwhile.

import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { TestHub } from './hub.js';
import { databaseFor, onPostgres } from './test-store.js';

/** Holds the hub's commits of telemetry back until `release` (the writer waits on the lock). */
export async function holdCommits(t: TestHub): Promise<{ release: () => Promise<void> }> {
  if (!onPostgres) {
    const db = new Database(join(t.dir, 'halyard.db'));
    db.exec('BEGIN IMMEDIATE');
    return {
      release: async () => {
        db.exec('ROLLBACK');
        db.close();
      },
    };
  }
  const client = new pg.Client({ connectionString: (await databaseFor(t.dir)).url });
  await client.connect();
  await client.query('BEGIN');
  await client.query('LOCK TABLE device_seq IN EXCLUSIVE MODE');
  return {
    release: async () => {
      await client.query('ROLLBACK');
      await client.end();
    },
  };
}
