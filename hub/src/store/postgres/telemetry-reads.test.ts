// The newest point of a series is looked for in the last day first and in the
// whole table only when that finds nothing (telemetry-reads.ts): whichever branch
// answers, it must be the true newest point, older than a day or ahead of the clock.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startPostgres, type TestPostgres } from '../../../test/helpers/postgres.js';
import { migrate } from './migrate.js';
import { DAY_MS, ensurePartitions } from './partitions.js';
import { createPool, type Pool } from './pool.js';
import { PgTelemetryReads } from './telemetry-reads.js';

describe('PostgreSQL store: latest values', () => {
  let server: TestPostgres;
  let pool: Pool;

  before(async () => {
    server = await startPostgres({ fsync: false });
    pool = createPool(server.url);
    await migrate(pool);
    await ensurePartitions(pool, Date.now(), Date.now() - 20 * DAY_MS);
  });

  after(async () => {
    await pool?.end();
    await server?.stop();
  });

  it('finds the newest point whether it is recent, ten days old, or ahead of the clock', async () => {
    const now = Date.now();
    await pool.query(
      `INSERT INTO devices (id, secret_hash, created_at) VALUES ('old', '\\x00', 0), ('recent', '\\x00', 0), ('ahead', '\\x00', 0)`,
    );
    const dev = Object.fromEntries(
      (await pool.query<{ id: string; rowid: string }>('SELECT id, rowid FROM devices')).rows.map((r) => [r.id, Number(r.rowid)]),
    ) as Record<string, number>;
    const series = async (device: number) =>
      Number((await pool.query<{ id: string }>(`INSERT INTO series (device, name) VALUES ($1, 'x') RETURNING id`, [device])).rows[0]?.id);
    const points: [number, number, number][] = [];
    const old = await series(dev.old as number);
    points.push([old, now - 12 * DAY_MS, 1], [old, now - 10 * DAY_MS, 2]);
    const recent = await series(dev.recent as number);
    points.push([recent, now - 10 * DAY_MS, 3], [recent, now - 60_000, 4]);
    const ahead = await series(dev.ahead as number);
    points.push([ahead, now - 60_000, 5], [ahead, now + 2 * DAY_MS, 6]);
    for (const [s, ts, v] of points) await pool.query('INSERT INTO telemetry (series, ts, v) VALUES ($1, $2, $3)', [s, ts, v]);

    const reads = new PgTelemetryReads(pool);
    const want = { old: 2, recent: 4, ahead: 6 };
    for (const [id, v] of Object.entries(want)) {
      assert.equal((await reads.latest(dev[id] as number)).get('x')?.value, v, id);
    }
    const many = await reads.latestMany(Object.values(dev), 100);
    assert.equal(many.rows, 3);
    for (const [id, v] of Object.entries(want)) assert.equal(many.latest.get(dev[id] as number)?.get('x')?.value, v, id);
  });
});
