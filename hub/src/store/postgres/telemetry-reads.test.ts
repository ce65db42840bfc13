// The newest point of a series is looked for in the last day first and in the
// whole table only when that finds nothing (telemetry-reads.ts): whichever branch
// answers, it must be the true newest point, older than a day or ahead of the clock.
// Closed days compacted into blocks (telemetry-compaction.ts), by two hubs at once,
// answer every read as their rows did.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startPostgres, type TestPostgres } from '../../../test/helpers/postgres.js';
import { BucketAccumulator } from '../../telemetry/buckets.js';
import { migrate } from './migrate.js';
import { DAY_MS, ensurePartitions, listPartitions } from './partitions.js';
import { createPool, type Pool } from './pool.js';
import { compactPartitions } from './telemetry-compaction.js';
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
  it('answers the same once closed days are compacted into blocks, by two hubs at once, and joins later rows', async () => {
    const now = Date.now();
    const day = Math.floor(now / DAY_MS) * DAY_MS;
    await pool.query(`INSERT INTO devices (id, secret_hash, created_at) VALUES ('packed', '\\x00', 0)`);
    const device = Number((await pool.query<{ rowid: string }>(`SELECT rowid FROM devices WHERE id = 'packed'`)).rows[0]?.rowid);
    const series = async (name: string) =>
      Number(
        (await pool.query<{ id: string }>('INSERT INTO series (device, name) VALUES ($1, $2) RETURNING id', [device, name])).rows[0]?.id,
      );
    const temp = await series('temp');
    const mode = await series('mode');
    const odd = await series('odd');
    // Three days, from six days ago: a point every 10 minutes; then today.
    const from = day - 6 * DAY_MS;
    const rows: unknown[][] = [];
    for (let i = 0; i < 3 * 144; i++) {
      const ts = from + i * 600_000 + (i % 3);
      rows.push([temp, ts, Math.round(200 + 30 * Math.sin(i / 20)) / 10, null, null, null]);
      if (i % 7 === 0) rows.push([mode, ts, null, JSON.stringify(i % 2 ? 'heat' : 'idle\u0000'), null, null]);
    }
    const awkward = [Number.NaN, -0, Number.POSITIVE_INFINITY, Number.MAX_SAFE_INTEGER, 1e-300];
    for (const [i, v] of awkward.entries()) rows.push([odd, from + i * 1000, Object.is(v, -0) ? '-0' : String(v), null, null, null]);
    rows.push([odd, from + 10_000, null, null, true, null], [odd, from + 11_000, null, null, null, Buffer.from([0, 255])]);
    rows.push([temp, now - 60_000, 99, null, null, null]);
    for (const r of rows) await pool.query('INSERT INTO telemetry (series, ts, v, s, b, d) VALUES ($1, $2, $3::float8, $4, $5, $6)', r);

    const reads = new PgTelemetryReads(pool);
    const answers = async () => {
      const buckets = async (s: number, width: number) => {
        const acc = new BucketAccumulator(from - DAY_MS, now, width);
        await reads.blockBuckets(s, acc, 0);
        // Sums are added in another order (the server's, or the blocks' summaries): the last digits of an average may differ.
        return acc.result().map((b) => ({ ...b, avg: b.avg === null ? null : Number(b.avg.toPrecision(12)) }));
      };
      return {
        temp: await reads.blockPoints(temp, from - DAY_MS, now, 0),
        tempDay: await reads.blockPoints(temp, from + DAY_MS + 3_600_000, from + 2 * DAY_MS, 0),
        mode: await reads.blockPoints(mode, from, now, 0),
        odd: await reads.blockPoints(odd, from, now, 0),
        hourly: await buckets(temp, 3_600_000),
        quarterly: await buckets(temp, 900_000),
        daily: await buckets(temp, DAY_MS),
        modes: await buckets(mode, 6 * 3_600_000),
        latest: await reads.latest(device),
        latestMany: await reads.latestMany([device], 100),
      };
    };
    const before = await answers();
    assert.equal(before.temp.ts.length, 3 * 144 + 1);
    assert.ok(Object.is(before.odd.values[1], -0) && Number.isNaN(before.odd.values[0]));

    const days = (await listPartitions(pool)).filter((p) => p.day >= from && p.day < from + 3 * DAY_MS).map((p) => p.name);
    assert.equal(days.length, 3);
    // Two hubs' upkeep at once: each point is packed exactly once.
    const [a, b] = await Promise.all([compactPartitions(pool, now), compactPartitions(pool, now)]);
    const inDays = rows.filter((r) => (r[1] as number) < from + 3 * DAY_MS).length;
    assert.equal(a.points + b.points, inDays + 3, "every row of a closed day (and the first test's three), once");
    const left = new Set((await listPartitions(pool)).map((p) => p.name));
    assert.ok(
      days.every((d) => !left.has(d)),
      'the compacted days are dropped',
    );
    assert.deepStrictEqual(await answers(), before);
    assert.equal(
      (
        await reads.latest(
          (await pool.query<{ rowid: string }>(`SELECT rowid FROM devices WHERE id = 'old'`)).rows.map((r) => Number(r.rowid))[0] as number,
        )
      ).get('x')?.value,
      2,
      'the newest point of a series now all in blocks',
    );
    // Nothing left to do: compacting again changes nothing.
    assert.deepStrictEqual(await compactPartitions(pool, now), { partitions: [], points: 0, blocks: 0 });

    // A point arriving late for a compacted day lands in the default partition; reads join it.
    await pool.query('INSERT INTO telemetry (series, ts, v) VALUES ($1, $2, 55.5)', [temp, from + 5_000]);
    const joined = await reads.blockPoints(temp, from, from + 700_000, 0);
    assert.deepStrictEqual(joined.ts, [from, from + 5_000, from + 600_001]);
    assert.deepStrictEqual(joined.values, [20, 55.5, before.temp.values[1]]);
  });
});
