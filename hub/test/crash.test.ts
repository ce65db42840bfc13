// Crash durability on the test store (SQLite, or PostgreSQL with HALYARD_TEST_STORE;
// helpers/crash-scenario.ts): after every SIGKILL SQLite passes integrity_check;
// nothing acknowledged is lost, nothing stored twice, every command ran once.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { crashScenario, KILLS, SEED } from './helpers/crash-scenario.js';
import { onPostgres } from './helpers/test-store.js';

describe(`crash durability (${KILLS} kills)`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'halyard-crash-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it(`loses nothing acknowledged and runs every command once (seed ${SEED})`, (t) =>
    crashScenario(t, {
      name: onPostgres ? 'postgres' : 'sqlite',
      // On HALYARD_TEST_STORE=postgres, spawnHub adds --store for this dir (helpers/test-store.ts).
      args: ['--data-dir', dir],
      integrity: async () => {
        // SQLite's file is checked here; on PostgreSQL, crash-postgres.external.test.ts checks marks against points.
        if (onPostgres) return 'ok';
        const db = new Database(join(dir, 'halyard.db'), { readonly: true });
        try {
          return db.pragma('integrity_check', { simple: true }) as string;
        } finally {
          db.close();
        }
      },
    }));
});
