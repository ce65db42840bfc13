// Rollups: per series, 1-minute and 1-hour buckets with count, numeric count, sum,
// min, max and the last value, kept longer than the raw points (--retention-rollups,
// README.md § Data export and retention). Both engines add a series' points to its
// rollups at the moment they go into blocks, in the same transaction, so the
// rollups hold exactly the points that were ever compacted:
// - SQLite: when a log generation is compacted (log-compactor.ts); series.rollup_gen
//   records the newest generation already added, so a compaction redone after a
//   crash adds nothing twice, and queries take the tail's points of newer generations.
// - PostgreSQL: when a closed day's rows are packed (postgres/telemetry-compaction.ts,
//   DELETE ... RETURNING: each row once, whichever hub does it); queries add the rows
//   not yet compacted, in the same snapshot.
// Late points reach the rollups when their own generation or day is compacted.
// Points older than meta 'telemetry.rollups_since' (blocks stored before the rollups
// existed) are read from blocks, never from rollups.

import type { Points, PointValue } from './blocks.js';

/** Rollup widths, ms, narrowest first. */
export const ROLLUP_WIDTHS: readonly number[] = [60_000, 3_600_000];

/** meta key: rollups hold every compacted point at or after this time (ms). */
export const ROLLUPS_SINCE_KEY = 'telemetry.rollups_since';

/** One rollup bucket's aggregates; sum, min and max are null when it holds no number. */
export interface Rollup {
  width: number;
  t: number;
  n: number;
  nnum: number;
  sum: number | null;
  min: number | null;
  max: number | null;
  lastT: number;
  last: PointValue;
}

/** The rollups of a batch of points of one series (any order), every width. */
export function rollupsOf(p: Points): Rollup[] {
  const out: Rollup[] = [];
  // Compaction passes sorted points: one pass, one open bucket; otherwise a map.
  let sorted = true;
  for (let i = 1; i < p.ts.length && sorted; i++) sorted = (p.ts[i] as number) >= (p.ts[i - 1] as number);
  for (const width of ROLLUP_WIDTHS) {
    const byT = sorted ? undefined : new Map<number, Rollup>();
    let r: Rollup | undefined;
    for (let i = 0; i < p.ts.length; i++) {
      const ts = p.ts[i] as number;
      const v = p.values[i] as PointValue;
      const t = Math.floor(ts / width) * width;
      if (r === undefined || r.t !== t) {
        r = byT?.get(t);
        if (r === undefined) {
          r = { width, t, n: 0, nnum: 0, sum: null, min: null, max: null, lastT: ts, last: v };
          byT?.set(t, r);
          out.push(r);
        }
      }
      r.n++;
      if (typeof v === 'number') {
        r.nnum++;
        r.sum = (r.sum ?? 0) + v;
        if (r.min === null || v < r.min) r.min = v;
        if (r.max === null || v > r.max) r.max = v;
      }
      if (ts >= r.lastT) {
        r.lastT = ts;
        r.last = v;
      }
    }
  }
  return out;
}

/**
 * The widest rollup that can answer buckets of `width` ms (it divides `width`, so
 * each rollup bucket lies inside one epoch-aligned query bucket), if any.
 */
export function rollupWidthFor(width: number): number | undefined {
  let best: number | undefined;
  for (const r of ROLLUP_WIDTHS) if (width >= r && width % r === 0) best = r;
  return best;
}
