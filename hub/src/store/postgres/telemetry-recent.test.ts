// Moving telemetry_recent rows into packs (telemetry-recent.ts) against a real server:
// two hubs moving at once move each row once, every point ends in a pack of its own
// series with nothing lost or doubled, and a corrupt row is dropped and reported
// without stopping the moves after it; slices go through the devices in order; the
// store's mover thread (recent-mover.ts) moves the same and reports a lost server as one.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { telemetryPoints } from '../../../test/helpers/pg-points.js';
import { startPostgres, type TestPostgres } from '../../../test/helpers/postgres.js';
import { migrate } from './migrate.js';
import { ensurePartitions } from './partitions.js';
import { createPool, isConnectionFault, type Pool } from './pool.js';
import { RecentMover } from './recent-mover.js';
import { encodeSections } from './telemetry-insert.js';
import { MOVE_BYTES, moveRecent, vacuumRecent } from './telemetry-recent.js';

describe('PostgreSQL store: moving recent telemetry into packs', () => {
  let server: TestPostgres;
  let pool: Pool;
  let other: Pool;

  before(async () => {
    server = await startPostgres({ fsync: false });
    pool = createPool(server.url);
    other = createPool(server.url);
    await migrate(pool);
    await ensurePartitions(pool, Date.now());
  });

  after(async () => {
    await other?.end();
    await pool?.end();
    await server?.stop();
  });

  it('two hubs at once move every row once: each point in a pack of its series, none lost or doubled', async () => {
    const now = Date.now();
    await pool.query(`INSERT INTO devices (id, secret_hash, created_at) SELECT 'd' || i, '\\x00', 0 FROM generate_series(1, 20) i`);
    const devices = (await pool.query<{ rowid: number }>('SELECT rowid FROM devices ORDER BY rowid')).rows.map((r) => Number(r.rowid));
    const series = new Map<number, number[]>();
    for (const d of devices) {
      const ids = (
        await pool.query<{ id: number }>(
          `INSERT INTO series (device, name) SELECT $1, 'm' || i FROM generate_series(0, 2) i RETURNING id`,
          [d],
        )
      ).rows.map((r) => Number(r.id));
      series.set(d, ids);
    }
    // 20 devices x 300 rows, each a frame of the device's three series, a second apart
    // (so a series' points split into packs of PACK_MAX_POINTS at most).
    const want: string[] = [];
    for (const d of devices) {
      const ids = series.get(d) as number[];
      for (let k = 0; k < 300; k++) {
        const t = now - 300_000 + k * 1000;
        const sections = ids.map((id, j) => ({
          series: id,
          ts: [t],
          values: [j === 2 ? `s${k}` : d * 1000 + k + j / 10],
          start: 0,
          end: 1,
        }));
        for (const x of sections) want.push(`${x.series}@${t}=${String(x.values[0])}`);
        await pool.query('INSERT INTO telemetry_recent (device, ts, p) VALUES ($1, $2, $3)', [d, t, encodeSections(sections)]);
      }
    }
    let moved = 0;
    let points = 0;
    // Two "hubs" (two pools) racing until nothing is left.
    for (;;) {
      const [a, b] = await Promise.all([moveRecent(pool), moveRecent(other)]);
      moved += a.rows + b.rows;
      points += a.points + b.points;
      if (a.rows + b.rows === 0 && !a.more && !b.more) break;
    }
    assert.equal(moved, 20 * 300);
    assert.equal(points, 20 * 300 * 3);
    assert.equal(Number((await pool.query('SELECT count(*) AS n FROM telemetry_recent')).rows[0]?.n), 0);
    // What the store runs every VACUUM_EVERY_MS while moving: outside a transaction, beside another hub's move.
    await Promise.all([vacuumRecent(pool), moveRecent(other)]);
    const got = (await telemetryPoints(pool)).map((p) => `${p.series}@${p.ts}=${String(p.v ?? p.s)}`);
    assert.deepEqual(got.sort(), want.sort());
    // 60 series of 300 points a second apart, in packs spanning a minute at most: 61 points at most each.
    const packs = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM telemetry WHERE p IS NOT NULL');
    assert.ok((packs.rows[0]?.n ?? 0) >= 60 * 5, `packs: ${packs.rows[0]?.n}`);
  });

  it('a move takes about MOVE_BYTES at most: big rows wait for the next move', async () => {
    const device = Number((await pool.query<{ rowid: number }>(`SELECT rowid FROM devices WHERE id = 'd2'`)).rows[0]?.rowid);
    const id = Number((await pool.query<{ id: number }>(`SELECT id FROM series WHERE device = $1 AND name = 'm1'`, [device])).rows[0]?.id);
    const big = new Uint8Array(MOVE_BYTES / 8).fill(7);
    for (let i = 0; i < 10; i++)
      await pool.query('INSERT INTO telemetry_recent (device, ts, p) VALUES ($1, $2, $3)', [
        device,
        1000 + i,
        encodeSections([{ series: id, ts: [1000 + i], values: [big], start: 0, end: 1 }]),
      ]);
    const first = await moveRecent(pool);
    assert.ok(first.rows >= 8 && first.rows < 10 && first.more, `first move: ${first.rows} rows, more ${first.more}`);
    assert.ok(first.rows * big.length <= MOVE_BYTES + big.length + 1024);
    // The next slice of the round starts at the device cut short, not after it.
    assert.equal(first.last, device);
    const second = await moveRecent(pool, false, first.last);
    assert.equal(first.rows + second.rows, 10);
    assert.equal(Number((await pool.query('SELECT count(*) AS n FROM telemetry_recent')).rows[0]?.n), 0);
  });

  it('a corrupt row is set aside whole and reported, and the rows beside it are moved', async () => {
    const device = Number((await pool.query<{ rowid: number }>(`SELECT rowid FROM devices WHERE id = 'd1'`)).rows[0]?.rowid);
    const id = Number((await pool.query<{ id: number }>(`SELECT id FROM series WHERE device = $1 AND name = 'm0'`, [device])).rows[0]?.id);
    const before = (await telemetryPoints(pool)).length;
    const good = encodeSections([{ series: id, ts: [1, 2], values: [1.5, 2.5], start: 0, end: 2 }]);
    await pool.query('INSERT INTO telemetry_recent (device, ts, p) VALUES ($1, 2, $2), ($1, 3, $3), ($1, 4, $2)', [
      device,
      good,
      good.subarray(0, good.length - 3),
    ]);
    const r = await moveRecent(pool);
    assert.equal(r.rows, 3);
    assert.equal(r.points, 4);
    assert.deepEqual(
      r.corrupt.map((c) => [c.device, c.bytes]),
      [[device, good.length - 3]],
    );
    assert.match(r.corrupt[0]?.error ?? '', /corrupt telemetry sections/);
    assert.equal((await telemetryPoints(pool)).length, before + 4);
    const aside = (
      await pool.query<{ device: number; p: Buffer; error: string }>('SELECT device, p, error FROM telemetry_recent_quarantine')
    ).rows;
    assert.deepEqual(
      aside.map((q) => [q.device, q.p.length]),
      [[device, good.length - 3]],
    );
    assert.match(aside[0]?.error ?? '', /corrupt telemetry sections/);
  });

  it('a slice takes the devices from `from` on, in device order; the rest waits for the next round', async () => {
    const devices = (await pool.query<{ rowid: number }>('SELECT rowid FROM devices ORDER BY rowid')).rows.map((r) => Number(r.rowid));
    const ids = new Map<number, number>();
    for (const d of devices) {
      const r = await pool.query<{ id: number }>(`INSERT INTO series (device, name) VALUES ($1, 'slice') RETURNING id`, [d]);
      ids.set(d, Number(r.rows[0]?.id));
    }
    for (const d of devices)
      await pool.query('INSERT INTO telemetry_recent (device, ts, p) VALUES ($1, 5000, $2)', [
        d,
        encodeSections([{ series: ids.get(d) as number, ts: [4000, 5000], values: [1, 2], start: 0, end: 2 }]),
      ]);
    const middle = devices[Math.floor(devices.length / 2)] as number;
    const slice = await moveRecent(pool, false, middle);
    assert.equal(slice.rows, devices.filter((d) => d >= middle).length);
    assert.equal(slice.last, devices[devices.length - 1]);
    assert.equal(slice.more, false);
    const left = (await pool.query<{ device: number }>('SELECT device FROM telemetry_recent ORDER BY device')).rows.map((r) =>
      Number(r.device),
    );
    assert.deepEqual(
      left,
      devices.filter((d) => d < middle),
    );
    const round = await moveRecent(pool);
    assert.equal(round.rows, left.length);
    assert.equal(round.last, left[left.length - 1]);
  });

  it("the store's mover thread moves rows, and reports an unreachable server as a connection fault", async () => {
    const device = Number((await pool.query<{ rowid: number }>(`SELECT rowid FROM devices WHERE id = 'd3'`)).rows[0]?.rowid);
    const id = Number((await pool.query<{ id: number }>(`SELECT id FROM series WHERE device = $1 AND name = 'm0'`, [device])).rows[0]?.id);
    const before = (await telemetryPoints(pool)).length;
    await pool.query('INSERT INTO telemetry_recent (device, ts, p) VALUES ($1, 7000, $2)', [
      device,
      encodeSections([{ series: id, ts: [6000, 7000], values: [1, 2], start: 0, end: 2 }]),
    ]);
    const mover = new RecentMover(server.url);
    try {
      const r = await mover.move(false, 0);
      assert.equal(r.rows, 1);
      assert.equal(r.points, 2);
      assert.equal((await telemetryPoints(pool)).length, before + 2);
      await mover.vacuum();
    } finally {
      await mover.close();
    }
    // Port 1 on this host: refused at once.
    const lost = new RecentMover('postgres://halyard@127.0.0.1:1/none');
    try {
      const err = await lost.move(false, 0).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof Error, 'the move fails');
      assert.ok(isConnectionFault(err), `a connection fault: ${(err as Error).message}`);
    } finally {
      await lost.close();
    }
  });
});
