// The newest point of a series is looked for in the last day first and in the
// whole table only when that finds nothing (telemetry-reads.ts): whichever branch
// answers, it must be the true newest point, older than a day or ahead of the clock.
// Closed days compacted into blocks (telemetry-compaction.ts), by two hubs at once,
// answer every read as their rows did.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startPostgres, type TestPostgres } from '../../../test/helpers/postgres.js';
import { type Bucket, BucketAccumulator } from '../../telemetry/buckets.js';
import type { PointValue } from '../telemetry/blocks.js';
import { migrate } from './migrate.js';
import { DAY_MS, ensurePartitions, listPartitions } from './partitions.js';
import { createPool, type Pool } from './pool.js';
import { compactPartitions } from './telemetry-compaction.js';
import { encodeSections, PACK_SPAN_MS } from './telemetry-insert.js';
import { PgTelemetryReads } from './telemetry-reads.js';
import { moveRecent } from './telemetry-recent.js';

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
  it('answers the same for points in packs and recent rows as for the same points one row each, before and after moving and compaction', async () => {
    const now = Date.now();
    const day = Math.floor(now / DAY_MS) * DAY_MS;
    const device = async (id: string) =>
      Number(
        (
          await pool.query<{ rowid: string }>(`INSERT INTO devices (id, secret_hash, created_at) VALUES ($1, '\\x00', 0) RETURNING rowid`, [
            id,
          ])
        ).rows[0]?.rowid,
      );
    // The day partitions the test before dropped, made again.
    await ensurePartitions(pool, now, day - 4 * DAY_MS);
    const one = await device('one-each');
    const packed = await device('in-packs');
    const series = async (d: number, name: string) =>
      Number((await pool.query<{ id: string }>('INSERT INTO series (device, name) VALUES ($1, $2) RETURNING id', [d, name])).rows[0]?.id);
    const pairs = {
      num: [await series(one, 'num'), await series(packed, 'num')],
      mix: [await series(one, 'mix'), await series(packed, 'mix')],
    };
    // Two stretches a second apart: two hours four days back (compacted below) and the last hour.
    const times: number[] = [];
    for (let t = day - 4 * DAY_MS + 3_600_000; t < day - 4 * DAY_MS + 3 * 3_600_000; t += 1000) times.push(t + (t % 7));
    for (let t = now - 3_600_000; t < now - 1000; t += 1000) times.push(t);
    let seed = 7;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed / 2_147_483_648;
    };
    for (const [name, [plain, inPacks]] of Object.entries(pairs)) {
      const values: PointValue[] = times.map((t, i) =>
        name === 'num' ? Math.round(100 * Math.sin(t / 60_000)) / 10 + 0 : i % 3 === 0 ? `m${i % 5}` : i % 3 === 1 ? i % 2 === 0 : i,
      );
      const cols: [number[], number[], (number | null)[], (string | null)[], (boolean | null)[]] = [[], [], [], [], []];
      const row = (s: number, t: number, v: PointValue) => {
        cols[0].push(s);
        cols[1].push(t);
        cols[2].push(typeof v === 'number' ? v : null);
        cols[3].push(typeof v === 'string' ? JSON.stringify(v) : null);
        cols[4].push(typeof v === 'boolean' ? v : null);
      };
      for (let i = 0; i < times.length; i++) row(plain as number, times[i] as number, values[i] as PointValue);
      // In packs of 1-40 points spanning up to PACK_SPAN_MS, one point in ten a row of its own among them.
      // The points `at` as one row by `insert` (a pack, or a recent row of the device), ts the newest.
      const store = async (insert: string, key: number, at: number[]) => {
        if (at.length === 0) return;
        const ts = at.map((i) => times[i] as number);
        await pool.query(insert, [
          key,
          ts[ts.length - 1],
          encodeSections([{ series: inPacks as number, ts, values: at.map((i) => values[i] as PointValue), start: 0, end: ts.length }]),
        ]);
      };
      let pack: number[] = [];
      const flush = async () => {
        await store('INSERT INTO telemetry (series, ts, p) VALUES ($1, $2, $3)', inPacks as number, pack);
        pack = [];
      };
      // And one in twenty in telemetry_recent rows of a few points each (the newest point among them).
      let recent: number[] = [];
      const flushRecent = async () => {
        await store('INSERT INTO telemetry_recent (device, ts, p) VALUES ($1, $2, $3)', packed, recent);
        recent = [];
      };
      let size = 1 + Math.floor(random() * 40);
      for (let i = 0; i < times.length; i++) {
        const dice = random();
        if (dice < 0.05 && i < times.length - 1) {
          row(inPacks as number, times[i] as number, values[i] as PointValue);
          continue;
        }
        if (dice < 0.1 || i === times.length - 1) {
          if (recent.length > 0 && ((times[i] as number) - (times[recent[0] as number] as number) > PACK_SPAN_MS || recent.length >= 5))
            await flushRecent();
          recent.push(i);
          continue;
        }
        if (pack.length > 0 && ((times[i] as number) - (times[pack[0] as number] as number) > PACK_SPAN_MS || pack.length >= size)) {
          await flush();
          size = 1 + Math.floor(random() * 40);
        }
        pack.push(i);
      }
      await flush();
      await flushRecent();
      await pool.query(
        'INSERT INTO telemetry (series, ts, v, s, b) SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::float8[], $4::json[], $5::boolean[])',
        cols,
      );
    }

    const reads = new PgTelemetryReads(pool);
    const answers = async (s: number, d: number) => {
      const buckets = async (width: number, from: number, to: number) => {
        const acc = new BucketAccumulator(from, to, width);
        await reads.blockBuckets(s, acc, 0);
        const rolled = new BucketAccumulator(from, to, width);
        await reads.rollupBuckets(s, width, rolled, 0);
        // Sums are added in another order (the server's, or point by point): the last digits of an average may differ.
        const round = (b: Bucket) => ({ ...b, avg: b.avg === null ? null : Math.round(b.avg * 1e9) / 1e9 + 0 });
        return { blocks: acc.result().map(round), rollups: rolled.result().map(round) };
      };
      const old = day - 4 * DAY_MS;
      return {
        all: await reads.blockPoints(s, old, now, 0),
        // Windows that cut packs: a few seconds, and ending inside the last hour.
        cut: await reads.blockPoints(s, old + 3_600_000 + 20_500, old + 3_600_000 + 26_500, 0),
        recent: await reads.blockPoints(s, now - 1_800_017, now - 1_200_011, 0),
        minutes: await buckets(60_000, now - 3_600_000, now),
        quarters: await buckets(900_000, old, now),
        days: await buckets(DAY_MS, old - DAY_MS, now),
        latest: [...(await reads.latest(d))].filter(([n]) => n === (s === pairs.num[0] || s === pairs.num[1] ? 'num' : 'mix')),
      };
    };
    const compare = async () => {
      for (const [plain, inPacks] of Object.values(pairs)) {
        const want = await answers(plain as number, one);
        assert.equal(want.all.ts.length, times.length);
        const got = await answers(inPacks as number, packed);
        for (const k of Object.keys(want) as (keyof typeof want)[]) assert.deepStrictEqual(got[k], want[k], k);
        assert.deepStrictEqual(await answers(inPacks as number, packed), want);
      }
    };
    await compare();
    // Recent rows moved into packs, the same answers.
    assert.ok(Number((await pool.query('SELECT count(*) AS n FROM telemetry_recent')).rows[0]?.n) > 0);
    const moved = await moveRecent(pool);
    assert.ok(moved.points > 0 && !moved.more);
    assert.equal(Number((await pool.query('SELECT count(*) AS n FROM telemetry_recent')).rows[0]?.n), 0);
    await compare();
    // The old stretch compacted into blocks (packs unpacked with the rows), the same answers.
    const compacted = await compactPartitions(pool, now);
    assert.ok(compacted.points >= 2 * 2 * 7200, `every point of the old stretch packed: ${compacted.points}`);
    await compare();
  });
});
