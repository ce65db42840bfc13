// The leader's sweep for overdue commands (commands/service.ts expireOverdue) reads
// only the overdue ones, through the commands_overdue expression index, on both
// engines: a queued command past its ttl, a sent or accepted one past its timeout
// (counted from when it was sent), none that is final or not yet due; and each
// engine's plan for the query uses the index rather than a pass over every open
// command (PostgreSQL with sequential scans off: on a table this small its planner
// would scan whatever indexes exist).

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { startPostgres, type TestPostgres } from '../../test/helpers/postgres.js';
import { SQLITE_TEST_OPTIONS } from '../../test/helpers/test-store.js';
import { OVERDUE_BATCH, OVERDUE_SQL } from './commands.js';
import { openDatabase } from './db.js';
import { PG_OVERDUE_SQL } from './postgres/commands.js';
import { PostgresStore } from './postgres/postgres-store.js';
import { SqliteStore } from './sqlite-store.js';
import type { Store } from './store.js';

const T0 = Date.UTC(2026, 10, 30, 6);

/** Commands on three devices: c-q1 due at T0+1000 (ttl), c-s1 at T0+2500 (sent at T0+500, timeout 2000), c-a1 at T0+3000, c-q2 at T0+9000; c-done final. */
async function scenario(store: Store): Promise<Record<string, string[]>> {
  const rows: number[] = [];
  for (const id of ['d1', 'd2', 'd3']) {
    const r = await store.op('createDevice', { id, name: null, model: null, tags: [], secretHash: new Uint8Array(32), createdAt: T0 });
    rows.push(r.rowid);
  }
  const create = (id: string, device: number, ttl: number, timeout: number) =>
    store.op('createCommand', {
      command: { id, device, name: 'dim', params: {}, key: null, createdAt: T0, createdBy: 'ann', ttl, timeout },
      maxOpen: 10,
      keyTtl: 60_000,
    });
  await create('c-q1', rows[0] as number, 1_000, 60_000);
  await create('c-s1', rows[0] as number, 100_000, 2_000);
  await create('c-a1', rows[1] as number, 100_000, 3_000);
  await create('c-q2', rows[2] as number, 9_000, 1_000);
  await create('c-done', rows[2] as number, 10, 10);
  await store.op('transitionCommands', [
    { id: 'c-s1', to: 'sent', at: T0 + 500 },
    { id: 'c-a1', to: 'sent', at: T0 + 0 },
    { id: 'c-a1', to: 'accepted', at: T0 + 100 },
    { id: 'c-done', to: 'sent', at: T0 + 1 },
    { id: 'c-done', to: 'succeeded', at: T0 + 2, result: null },
  ]);
  const ids = async (now: number) => (await store.overdueCommands(now)).map((c) => c.id).sort();
  return {
    before: await ids(T0 + 999),
    ttl: await ids(T0 + 1_000),
    timeouts: await ids(T0 + 3_000),
    all: await ids(T0 + 100_000),
  };
}

const EXPECTED = {
  before: [],
  ttl: ['c-q1'],
  timeouts: ['c-a1', 'c-q1', 'c-s1'],
  all: ['c-a1', 'c-q1', 'c-q2', 'c-s1'],
};

describe('overdue commands', () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('SQLite: only the overdue ones, through commands_overdue', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'halyard-overdue-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'halyard.db');
    const store = await SqliteStore.open({
      path,
      ...SQLITE_TEST_OPTIONS,
    });
    cleanups.push(() => store.close());
    assert.deepEqual(await scenario(store), EXPECTED);
    const db = openDatabase(path, { readonly: true });
    try {
      const plan = (db.prepare(`EXPLAIN QUERY PLAN ${OVERDUE_SQL}`).all(T0, OVERDUE_BATCH) as { detail: string }[]).map((r) => r.detail);
      assert.ok(
        plan.some((d) => /USING INDEX commands_overdue/.test(d)),
        plan.join('; '),
      );
      assert.ok(!plan.some((d) => /TEMP B-TREE/.test(d)), `ordered by the index, not sorted: ${plan.join('; ')}`);
    } finally {
      db.close();
    }
  });

  it('PostgreSQL: only the overdue ones, through commands_overdue', async (t) => {
    let server: TestPostgres;
    try {
      server = await startPostgres({ fsync: false });
    } catch (err) {
      const msg = (err as Error).message;
      if (/PostgreSQL not found|no postgres user/.test(msg)) return t.skip(msg);
      throw err;
    }
    cleanups.push(() => server.stop());
    const store = await PostgresStore.open({
      url: server.url,
      commitIntervalMs: 2,
      maxBatchFrames: 50,
      maxFrame: 65536,
      retentionMs: 0,
      maintenanceIntervalMs: 0,
    });
    cleanups.push(() => store.close());
    assert.deepEqual(await scenario(store), EXPECTED);
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    try {
      await client.query('SET enable_seqscan = off');
      const sql = PG_OVERDUE_SQL.replace('$1', String(T0)).replace('$2', String(OVERDUE_BATCH));
      const plan = (await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`)).rows.map((r) => r['QUERY PLAN']);
      assert.ok(
        plan.some((l) => /Index Scan using commands_overdue/.test(l)),
        plan.join('\n'),
      );
    } finally {
      await client.end();
    }
  });
});
