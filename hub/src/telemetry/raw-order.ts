// The order raw points are paged in, and the position a page ends at.
//
// Points of one series are ordered by (time, value), never by where they are
// stored: a point moves from the in-memory tail to a compacted block (or from a
// row into a PostgreSQL day block) between two pages, and arrival order is not
// kept across such moves, but its time and value are. Points equal in both are
// indistinguishable, so a position counts how many of them were delivered
// (`skip`). A page resumes at the first point after its position, so every point
// stored when the range was read is delivered exactly once, whatever ingest and
// compaction do meanwhile; a point committed later is delivered when it sorts
// after the position (README.md § Data export and retention).

import type { Points, PointValue } from '../store/store.js';

/** Where a page of one series ended: the last point delivered, and how many points equal to it were. */
export interface RawPosition {
  ts: number;
  value: PointValue;
  skip: number;
  /** The read window the page ended with (ms): where the next page starts guessing the density. */
  window?: number;
}

/** Value kinds in their order: numbers, text, booleans, bytes. */
function kind(v: PointValue): number {
  if (typeof v === 'number') return 0;
  if (typeof v === 'string') return 1;
  if (typeof v === 'boolean') return 2;
  return 3;
}

/** A total order on values (NaN after every other number). */
export function compareValues(a: PointValue, b: PointValue): number {
  const ka = kind(a);
  const kb = kind(b);
  if (ka !== kb) return ka - kb;
  if (typeof a === 'number' && typeof b === 'number') {
    if (Number.isNaN(a) || Number.isNaN(b)) return Number(Number.isNaN(a)) - Number(Number.isNaN(b));
    return a < b ? -1 : a > b ? 1 : 0;
  }
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  return Buffer.compare(a as Uint8Array, b as Uint8Array);
}

/** Sorts points by (time, value) in place of a copy. */
export function sortByTimeValue(p: Points): Points {
  const order = p.ts.map((_, i) => i);
  order.sort((a, b) => (p.ts[a] as number) - (p.ts[b] as number) || compareValues(p.values[a] as PointValue, p.values[b] as PointValue));
  return { ts: order.map((i) => p.ts[i] as number), values: order.map((i) => p.values[i] as PointValue) };
}

/** Compares a point with a position's point. */
export function compareToPosition(ts: number, value: PointValue, at: RawPosition): number {
  return ts - at.ts || compareValues(value, at.value);
}

/** A value as JSON for a cursor: [kind, representation]. */
export function valueToJson(v: PointValue): [number, unknown] {
  const k = kind(v);
  if (k === 0) return [0, Number.isFinite(v as number) ? v : String(v)];
  if (k === 3) return [3, Buffer.from(v as Uint8Array).toString('base64')];
  return [k, v];
}

/** The reverse of valueToJson; undefined for anything it cannot have made. */
export function valueFromJson(j: unknown): PointValue | undefined {
  if (!Array.isArray(j) || j.length !== 2) return undefined;
  const [k, r] = j as [unknown, unknown];
  if (k === 0 && typeof r === 'number') return r;
  if (k === 0 && (r === 'NaN' || r === 'Infinity' || r === '-Infinity')) return Number(r);
  if (k === 1 && typeof r === 'string') return r;
  if (k === 2 && typeof r === 'boolean') return r;
  if (k === 3 && typeof r === 'string') return new Uint8Array(Buffer.from(r, 'base64'));
  return undefined;
}
