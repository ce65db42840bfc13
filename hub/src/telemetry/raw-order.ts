// The order raw points are paged in, and the position a page ends at.
//
// Points of one series are ordered by (time, key), never by where they are stored:
// a point moves from the in-memory tail to a compacted block (or from a row into a
// PostgreSQL day block) between two pages, and arrival order is not kept across such
// moves, but its time and value are. The key is the value itself for numbers and
// booleans, and a digest for text and bytes, so that a position (and the cursor
// carrying it) stays a few dozen bytes even after a long text value. Points equal in
// time and key are indistinguishable, so a position counts how many of them were
// delivered (`skip`). A page resumes at the first point after its position, so every
// point stored when the range was read is delivered exactly once, whatever ingest and
// compaction do meanwhile; a point committed later is delivered when it sorts after
// the position (README.md § Data export and retention).

import { createHash } from 'node:crypto';
import type { Points, PointValue } from '../store/store.js';

/**
 * A value's place among the values of one time: its kind (numbers 0, text 1,
 * booleans 2, bytes 3), then the number (NaN after the others), false before true,
 * or the first 16 bytes of the SHA-256 of the text's UTF-8 or of the bytes, in hex.
 */
export type SortKey = readonly [0, number] | readonly [1, string] | readonly [2, boolean] | readonly [3, string];

/** Where a page of one series ended: the last point delivered, and how many points equal to it were. */
export interface RawPosition {
  ts: number;
  key: SortKey;
  skip: number;
  /** The read window the page ended with (ms): where the next page starts guessing the density. */
  window?: number;
}

const digest = (v: string | Uint8Array) => createHash('sha256').update(v).digest('hex').slice(0, 32);

export function sortKey(v: PointValue): SortKey {
  if (typeof v === 'number') return [0, v];
  if (typeof v === 'string') return [1, digest(v)];
  if (typeof v === 'boolean') return [2, v];
  return [3, digest(v)];
}

export function compareKeys(a: SortKey, b: SortKey): number {
  if (a[0] !== b[0]) return a[0] - b[0];
  const x = a[1];
  const y = b[1];
  if (typeof x === 'number' && typeof y === 'number') {
    if (Number.isNaN(x) || Number.isNaN(y)) return Number(Number.isNaN(x)) - Number(Number.isNaN(y));
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (typeof x === 'boolean' && typeof y === 'boolean') return Number(x) - Number(y);
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * Points sorted by (time, key). Points already in strictly increasing time (the
 * usual case: a block's points, a sensor's rows) are returned as they are, with no
 * key made: keys matter only between equal times.
 */
export function sortByTimeKey(p: Points): Points {
  let increasing = true;
  for (let i = 1; i < p.ts.length && increasing; i++) increasing = (p.ts[i] as number) > (p.ts[i - 1] as number);
  if (increasing) return p;
  const keys = p.values.map(sortKey);
  const order = p.ts.map((_, i) => i);
  order.sort((a, b) => (p.ts[a] as number) - (p.ts[b] as number) || compareKeys(keys[a] as SortKey, keys[b] as SortKey));
  return { ts: order.map((i) => p.ts[i] as number), values: order.map((i) => p.values[i] as PointValue) };
}

/** Compares a point with a position's (its key made only when the times are equal). */
export function compareToPosition(ts: number, value: PointValue, at: RawPosition): number {
  return ts - at.ts || compareKeys(sortKey(value), at.key);
}

/** A key as JSON for a cursor (non-finite numbers as text). */
export function keyToJson(k: SortKey): [number, unknown] {
  if (k[0] === 0 && !Number.isFinite(k[1])) return [0, String(k[1])];
  return [k[0], k[1]];
}

/** The reverse of keyToJson; undefined for anything it cannot have made. */
export function keyFromJson(j: unknown): SortKey | undefined {
  if (!Array.isArray(j) || j.length !== 2) return undefined;
  const [k, r] = j as [unknown, unknown];
  if (k === 0 && typeof r === 'number') return [0, r];
  if (k === 0 && (r === 'NaN' || r === 'Infinity' || r === '-Infinity')) return [0, Number(r)];
  if ((k === 1 || k === 3) && typeof r === 'string' && /^[0-9a-f]{32}$/.test(r)) return [k, r];
  if (k === 2 && typeof r === 'boolean') return [2, r];
  return undefined;
}
