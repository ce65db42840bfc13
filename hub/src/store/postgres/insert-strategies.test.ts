// The three ways to write telemetry rows (telemetry-insert.ts) store the same
// points, every value type included; their times per batch size are printed as
// diagnostics, the figures telemetry-insert.ts's choice rests on.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startPostgres, type TestPostgres } from '../../../test/helpers/postgres.js';
import { migrate } from './migrate.js';
import { ensurePartitions } from './partitions.js';
import { createPool, type Pool, query } from './pool.js';
import {
  emptyColumns,
  fromPointColumns,
  insertPointsCopy,
  insertPointsUnnest,
  insertPointsValues,
  type PointColumns,
  pushPoint,
} from './telemetry-insert.js';

const T0 = Date.UTC(2026, 10, 30);
const STRATEGIES = { values: insertPointsValues, unnest: insertPointsUnnest, copy: insertPointsCopy } as const;

function points(n: number, series: number): PointColumns {
  const p = emptyColumns();
  for (let i = 0; i < n; i++) pushPoint(p, series, T0 + i, i % 10 === 0 ? `s${i}` : 20 + i / 7);
  return p;
}

describe('PostgreSQL store: telemetry insert strategies', () => {
  let server: TestPostgres;
  let pool: Pool;

  before(async () => {
    // fsync on, as production runs.
    server = await startPostgres();
    pool = createPool(server.url);
    await migrate(pool);
    await ensurePartitions(pool, T0);
  });
  after(async () => {
    await pool?.end();
    await server?.stop();
  });

  it('each stores every value type exactly, awkward text and floats included', async () => {
    const odd = ['nul\u0000x', 'tab\there', 'new\nline', 'back\\slash', 'cr\r', 'ünï', '\\N', ''];
    let series = 100;
    for (const [name, insert] of Object.entries(STRATEGIES)) {
      series++;
      const p = emptyColumns();
      const values = [1.5, -0, 1e300, Number.NaN, Number.POSITIVE_INFINITY, true, false, new Uint8Array([0, 9, 10, 92, 255]), ...odd];
      for (const [i, v] of values.entries()) pushPoint(p, series, T0 + i, v);
      const c = await pool.connect();
      try {
        await insert(c, p);
      } finally {
        c.release();
      }
      const rows = await query<{ v: number | null; s: string | null; b: boolean | null; d: Buffer | null }>(
        pool,
        'test',
        'SELECT v, s, b, d FROM telemetry WHERE series = $1 ORDER BY ts',
        [series],
      );
      assert.deepEqual(
        rows.map((r) => fromPointColumns(r.v, r.s, r.b, r.d)),
        values.map((v) => (Object.is(v, -0) ? -0 : v)),
        name,
      );
    }
  });

  it('times 100, 1,000 and 5,000 points per transaction (diagnostics)', async (t) => {
    const rounds = 20;
    let series = 1000;
    for (const n of [100, 1000, 5000]) {
      const line: string[] = [];
      for (const [name, insert] of Object.entries(STRATEGIES)) {
        const times: number[] = [];
        for (let r = 0; r < rounds; r++) {
          const p = points(n, ++series);
          const c = await pool.connect();
          const t0 = performance.now();
          try {
            await c.query('BEGIN');
            await insert(c, p);
            await c.query('COMMIT');
          } finally {
            c.release();
          }
          times.push(performance.now() - t0);
        }
        // Median of the rounds after the first two (plan cache, buffers warm).
        const sorted = times.slice(2).sort((a, b) => a - b);
        line.push(`${name} ${(sorted[Math.floor(sorted.length / 2)] as number).toFixed(1)} ms`);
      }
      t.diagnostic(`${n} points: ${line.join(', ')}`);
    }
    const total = await query<{ n: number }>(pool, 'test', 'SELECT count(*)::int AS n FROM telemetry WHERE series > 1000');
    assert.equal(total[0]?.n, 3 * rounds * (100 + 1000 + 5000));
  });
});
