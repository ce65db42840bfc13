// Crash durability on SQLite (helpers/crash-scenario.ts): after every SIGKILL the
// database passes integrity_check; nothing acknowledged is lost, nothing stored
// twice, every command ran once.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { crashScenario, KILLS, SEED } from './helpers/crash-scenario.js';
import { sqliteOnly } from './helpers/test-store.js';

describe(`crash durability (${KILLS} kills)`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'halyard-crash-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const skip = sqliteOnly('integrity_check of halyard.db; crash-postgres.external.test.ts runs the scenario on PostgreSQL');
  it(`loses nothing acknowledged and runs every command once (seed ${SEED})`, { skip }, (t) =>
    crashScenario(t, {
      name: 'sqlite',
      args: ['--data-dir', dir],
      integrity: async () => {
        const db = new Database(join(dir, 'halyard.db'), { readonly: true });
        try {
          return db.pragma('integrity_check', { simple: true }) as string;
        } finally {
          db.close();
        }
      },
    }),
  );
});
