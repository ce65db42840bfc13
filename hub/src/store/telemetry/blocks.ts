// Packing a series' points into one compact row: the bit-packed block of codec.ts
// (delta-of-delta times, Gorilla or scaled-integer numbers, run-length booleans and
// strings), plus a numeric summary kept beside the blob so coarse aggregates can skip
// unpacking. Blocks of the first format, CBOR [t0, [Δt...], [value...]], are still
// read; compaction and merging rewrite them in the new one (README.md § Storage).

import { decodeCbor, type Limits } from '@halyard/firmware-protocol';
import { decodeBlock, encodeBlock } from './codec.js';

export type PointValue = number | string | boolean | Uint8Array;

/** Points of one series in time order: parallel arrays keep them cheap to build and scan. */
export interface Points {
  ts: number[];
  values: PointValue[];
}

export interface PackedBlock {
  t0: number;
  t1: number;
  n: number;
  /** How many values are numbers (the summary covers only those). */
  nnum: number;
  sum: number | null;
  min: number | null;
  max: number | null;
  data: Uint8Array;
}

/** Most points in one block, and widest time span, so a range query reads few extra points. */
export const BLOCK_MAX_POINTS = 4096;
export const BLOCK_MAX_SPAN_MS = 3_600_000;

const BLOCK_LIMITS: Limits = {
  maxFrame: 64 * 1024 * 1024,
  maxDepth: 4,
  maxItems: BLOCK_MAX_POINTS,
  maxString: 1024 * 1024,
  maxIdentifier: 128,
  maxRecords: BLOCK_MAX_POINTS,
};

/** The first byte of a block of the first format (a CBOR array of three). */
const CBOR_BLOCK = 0x83;

/** Packs points[start, end), already sorted by time. */
export function packBlock(ts: readonly number[], values: readonly PointValue[], start: number, end: number): PackedBlock {
  let nnum = 0;
  let sum = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = start; i < end; i++) {
    const v = values[i] as PointValue;
    if (typeof v === 'number') {
      nnum++;
      sum += v;
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  return {
    t0: ts[start] as number,
    t1: ts[end - 1] as number,
    n: end - start,
    nnum,
    sum: nnum ? sum : null,
    min: nnum ? min : null,
    max: nnum ? max : null,
    data: encodeBlock(ts, values, start, end),
  };
}

/**
 * Largest blob a block gets. SQLite keeps a row of the blocks table (a WITHOUT ROWID
 * b-tree) in its leaf page only up to about 1,000 bytes with 4 KiB pages; a bigger row
 * spills into an overflow page of its own, mostly empty: a 1.7 KB block then took
 * 4.6 KB of disk, the 1 Hz sensor of README.md § Storage 1.3 bytes a point instead of 0.6.
 */
export const BLOCK_MAX_BYTES = 900;
/** Points packed first to estimate a range's size. */
const PROBE_POINTS = 512;
/** About the bytes of a block that do not grow with its points. */
const BLOCK_FIXED_BYTES = 20;

/**
 * Packs points[start, end) (sorted, within one blockRanges() range) into as many
 * blocks as keep each blob within BLOCK_MAX_BYTES (a single point may exceed it).
 */
export function packBlocks(
  ts: readonly number[],
  values: readonly PointValue[],
  start: number,
  end: number,
  out: PackedBlock[] = [],
  bytesPerPoint?: number,
): PackedBlock[] {
  const n = end - start;
  // A share of a split whose estimate (from the whole's first points) fits with room
  // to spare is packed at once: probing it first packed most points of a merge twice.
  // What does not fit after all goes the probing way below, as before.
  if (bytesPerPoint !== undefined && n > PROBE_POINTS && BLOCK_FIXED_BYTES + bytesPerPoint * n <= BLOCK_MAX_BYTES * 0.9) {
    const whole = packBlock(ts, values, start, end);
    if (whole.data.length <= BLOCK_MAX_BYTES) {
      out.push(whole);
      return out;
    }
  }
  // How big the whole would be, from its first points (packing them all only to split
  // them would double the work).
  const probe = Math.min(n, PROBE_POINTS);
  const b = packBlock(ts, values, start, start + probe);
  // A block's first bytes (format, count, first time and value, parameters) are not per point.
  const estimate = probe === n ? b.data.length : BLOCK_FIXED_BYTES + (Math.max(0, b.data.length - BLOCK_FIXED_BYTES) * n) / probe;
  if (estimate <= BLOCK_MAX_BYTES || n === 1) {
    const whole = probe === n ? b : packBlock(ts, values, start, end);
    if (whole.data.length <= BLOCK_MAX_BYTES || n === 1) {
      out.push(whole);
      return out;
    }
  }
  // Equal shares of the points, aiming at 80% of the limit: rows of about 770 bytes
  // go five to a 4 KiB page, where rows just under the limit went four (the storage
  // bench: 4% less disk for the random-noise series). A share that still comes out
  // too big is split again.
  const parts = Math.max(2, Math.ceil(estimate / (BLOCK_MAX_BYTES * 0.8)));
  const size = Math.ceil(n / parts);
  const perPoint = (estimate - BLOCK_FIXED_BYTES) / n;
  for (let s = start; s < end; s += size) packBlocks(ts, values, s, Math.min(end, s + size), out, perPoint);
  return out;
}

/** Splits sorted points into block ranges of at most BLOCK_MAX_POINTS and BLOCK_MAX_SPAN_MS. */
export function blockRanges(ts: readonly number[]): [number, number][] {
  const ranges: [number, number][] = [];
  let start = 0;
  for (let i = 1; i <= ts.length; i++) {
    if (i === ts.length || i - start >= BLOCK_MAX_POINTS || (ts[i] as number) - (ts[start] as number) > BLOCK_MAX_SPAN_MS) {
      ranges.push([start, i]);
      start = i;
    }
  }
  return ranges;
}

/** Whether a block is of the first (CBOR) format, which compaction rewrites. */
export function isLegacyBlock(data: Uint8Array): boolean {
  return data[0] === CBOR_BLOCK;
}

/** Unpacks a block's points, appending to `into`. Throws on a corrupt blob (a storage fault, not input). */
export function unpackBlock(data: Uint8Array, into: Points = { ts: [], values: [] }): Points {
  if (data[0] !== CBOR_BLOCK) {
    decodeBlock(data, into.ts, into.values);
    return into;
  }
  const r = decodeCbor(data, BLOCK_LIMITS);
  if (!r.ok || !Array.isArray(r.value) || r.value.length !== 3)
    throw new Error(`corrupt telemetry block: ${r.ok ? 'shape' : r.error.message}`);
  const [t0, deltas, vals] = r.value as [unknown, unknown, unknown];
  // A corrupt blob may still be valid CBOR: check the shape before a point is taken from it.
  if (typeof t0 !== 'number' || !Array.isArray(deltas) || !Array.isArray(vals) || deltas.length !== vals.length)
    throw new Error('corrupt telemetry block: shape');
  const from = into.ts.length;
  let t = t0;
  for (let i = 0; i < deltas.length; i++) {
    const d = deltas[i];
    const v = vals[i];
    if (typeof d !== 'number' || !isPointValue(v)) {
      into.ts.length = from;
      into.values.length = from;
      throw new Error(`corrupt telemetry block: point ${i}`);
    }
    t += d;
    into.ts.push(t);
    into.values.push(v);
  }
  return into;
}

function isPointValue(v: unknown): v is PointValue {
  return typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean' || v instanceof Uint8Array;
}

/** Sorts parallel arrays by time, keeping arrival order for equal times. */
export function sortPoints(p: Points): Points {
  let sorted = true;
  for (let i = 1; i < p.ts.length; i++) {
    if ((p.ts[i] as number) < (p.ts[i - 1] as number)) {
      sorted = false;
      break;
    }
  }
  if (sorted) return p;
  const order = p.ts.map((_, i) => i).sort((a, b) => (p.ts[a] as number) - (p.ts[b] as number) || a - b);
  return { ts: order.map((i) => p.ts[i] as number), values: order.map((i) => p.values[i] as PointValue) };
}
