import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startPostgres, type TestPostgres } from '../../../test/helpers/postgres.js';
import { migrate } from './migrate.js';
import { DAY_MS, dropPartitionsBefore, ensurePartitions, listPartitions, partitionName } from './partitions.js';
import { createPool, query } from './pool.js';
import { PostgresStore } from './postgres-store.js';
import { PG_MIGRATIONS } from './schema.js';

describe('PostgreSQL store: migrations and partitions', () => {
  let server: TestPostgres;

  before(async () => {
    server = await startPostgres({ fsync: false });
  });
  after(async () => {
    await server?.stop();
  });

  it('two hubs migrating a fresh database at once: both succeed, each migration runs once', async () => {
    const db = await server.newDatabase();
    const a = createPool(db.url);
    const b = createPool(db.url);
    try {
      const [ra, rb] = await Promise.all([migrate(a), migrate(b)]);
      const all = PG_MIGRATIONS.map((m) => m.version);
      assert.deepEqual(
        [...ra, ...rb].sort((x, y) => x - y),
        all,
        'every migration applied by exactly one of them',
      );
      const rows = await query<{ version: number }>(a, 'test', 'SELECT version FROM schema_migrations ORDER BY version');
      assert.deepEqual(
        rows.map((r) => r.version),
        all,
      );
      assert.deepEqual(await migrate(a), [], 'a later start applies nothing');
    } finally {
      await a.end();
      await b.end();
      await db.drop();
    }
  });

  it('a failing migration rolls back wholly and is not recorded', async () => {
    const db = await server.newDatabase();
    const pool = createPool(db.url);
    try {
      await assert.rejects(
        migrate(pool, [{ version: 1, name: 'broken', sql: 'CREATE TABLE half (x int); SELECT * FROM nowhere' }]),
        /HUB_ERR_STORAGE|nowhere/,
      );
      const t = await query(pool, 'test', "SELECT 1 FROM pg_tables WHERE tablename = 'half'");
      assert.equal(t.length, 0);
      assert.deepEqual(await query(pool, 'test', 'SELECT * FROM schema_migrations'), []);
    } finally {
      await pool.end();
      await db.drop();
    }
  });

  it('day partitions ahead, stray points moved out of the default partition, retention drops whole days', async () => {
    const db = await server.newDatabase();
    const pool = createPool(db.url);
    try {
      await migrate(pool);
      const now = Date.UTC(2026, 10, 30, 12);
      const today = Date.UTC(2026, 10, 30);
      const created = await ensurePartitions(pool, now);
      assert.deepEqual(
        created,
        [0, 1, 2, 3].map((i) => partitionName(today + i * DAY_MS)),
      );
      assert.deepEqual(await ensurePartitions(pool, now), [], 'idempotent');
      // A point two days back has no partition yet: the default takes it.
      const old = today - 2 * DAY_MS + 5;
      await query(pool, 'test', 'INSERT INTO telemetry (series, ts, v) VALUES (1, $1, 1), (1, $2, 2)', [old, now]);
      const where = async (ts: number) =>
        (await query<{ t: string }>(pool, 'test', 'SELECT tableoid::regclass::text AS t FROM telemetry WHERE ts = $1', [ts]))[0]?.t;
      assert.equal(await where(old), 'telemetry_default');
      assert.equal(await where(now), partitionName(today));
      await ensurePartitions(pool, now, old);
      assert.equal(await where(old), partitionName(today - 2 * DAY_MS), 'moved into its new day partition');
      assert.equal((await listPartitions(pool)).length, 6);
      const dropped = await dropPartitionsBefore(pool, today);
      assert.deepEqual(dropped, [partitionName(today - 2 * DAY_MS), partitionName(today - DAY_MS)]);
      assert.deepEqual(
        (await query<{ ts: number }>(pool, 'test', 'SELECT ts FROM telemetry')).map((r) => r.ts),
        [now],
      );
    } finally {
      await pool.end();
      await db.drop();
    }
  });

  it('upkeep: partitions ahead, retention of telemetry, events and presence, expired sessions', async () => {
    const db = await server.newDatabase();
    const store = await PostgresStore.open({
      url: db.url,
      commitIntervalMs: 2,
      maxBatchFrames: 100,
      maxFrame: 65536,
      retentionMs: 2 * DAY_MS,
      maintenanceIntervalMs: 0,
    });
    const pool = createPool(db.url);
    try {
      const now = Date.now();
      const today = Math.floor(now / DAY_MS) * DAY_MS;
      const d = await store.op('createDevice', {
        id: 'd',
        name: null,
        model: null,
        tags: [],
        secretHash: new Uint8Array(4),
        createdAt: now,
      });
      await ensurePartitions(pool, now, now - 5 * DAY_MS);
      await query(pool, 'test', 'INSERT INTO telemetry (series, ts, v) VALUES (1, $1, 1), (1, $2, 2), (1, $3, 3)', [
        now - 5 * DAY_MS,
        now - DAY_MS,
        now,
      ]);
      await store.op('insertEvent', { device: d.rowid, name: 'old', level: 1, data: null, time: 0, receivedAt: now - 3 * DAY_MS });
      await store.op('insertEvent', { device: d.rowid, name: 'new', level: 1, data: null, time: 0, receivedAt: now });
      await store.op('createOperator', { username: 'o', passwordHash: 'h', role: 'admin', createdAt: now });
      await store.op('createSession', { tokenHash: new Uint8Array([1]), username: 'o', createdAt: now - 10, expiresAt: now - 1 });
      await store.op('createSession', { tokenHash: new Uint8Array([2]), username: 'o', createdAt: now, expiresAt: now + 1000 });
      const failing: number[] = [];
      store.on('maintenance', (n) => failing.push(n));
      await store.maintain(now);
      assert.deepEqual(failing, [], 'no step failed');
      const days = (await listPartitions(pool)).map((p) => p.day);
      assert.ok(days.includes(today + 3 * DAY_MS), 'partitions ahead');
      assert.ok(!days.includes(today - 5 * DAY_MS), 'the old day dropped whole');
      assert.deepEqual(
        (await query<{ v: number }>(pool, 'test', 'SELECT v FROM telemetry ORDER BY ts')).map((r) => r.v),
        [2, 3],
      );
      assert.deepEqual(
        (await store.listEvents({ limit: 10 })).map((e) => e.name),
        ['new'],
      );
      assert.equal(await store.getSession(new Uint8Array([1])), undefined);
      assert.ok(await store.getSession(new Uint8Array([2])));
    } finally {
      await pool.end();
      await store.close();
      await db.drop();
    }
  });
});
