// The block codec for compacted telemetry (format version 1): one series' points
// packed bit by bit, the way time-series databases do (Facebook's Gorilla paper,
// Prometheus's TSDB), so that a 1 Hz sensor with a fixed resolution costs well under
// a byte a point. Pure functions, no I/O. README.md § Storage has the measured sizes.
//
// Layout: byte 0 is the format version (1; blocks of the first format are CBOR and
// start with 0x83, see blocks.ts), then one bit stream, padded to a byte:
//   n                          uint (6-bit width, then that many bits)
//   times      1 bit mode      0: t0 (zigzag uint), Rice k (6 bits), n-1 Rice-coded
//                                 zigzag delta-of-deltas (regular intervals: 1 bit a point)
//                              1: n raw doubles (times that are not integers below 2^50)
//   kinds      1 bit           1: every value is a number; 0: uint runs, then per run
//                                 2 bits kind (number, string, boolean, bytes) and uint length
//   numbers    2 bits mode     0: Gorilla XOR of the previous value's bits
//                              1: scaled integers (every value * 10^d, d <= 6, is an integer
//                                 that divides back to the same double): 3 bits d, 6 bits
//                                 Rice k, Rice-coded zigzag deltas
//                              2: as 1, with delta-of-deltas (steady counters)
//                              the encoder writes whichever of the three is smallest
//   booleans   1 bit first value, uint runs, uint length per run
//   strings    uint runs, per run: uint length, uint UTF-8 byte count, the bytes
//   bytes      as strings, raw bytes
// Rice code with parameter k: q = z >> k in unary (q ones, a zero), then the low k
// bits; q >= 24 escapes to 24 ones, 6 bits of width and the whole value.

import { BitReader, BitWriter, bitLength } from './bits.js';

export type CodecValue = number | string | boolean | Uint8Array;

/** The format byte of blocks this module writes. */
export const CODEC_VERSION = 1;

/** Most points a block may claim when decoded (a corrupt count must not allocate gigabytes). */
const MAX_DECODE_POINTS = 1 << 20;
const RICE_ESCAPE = 24;
/** Integers stay below this in the integer streams, so deltas of deltas and their zigzag stay exact doubles. */
const INT_LIMIT = 2 ** 50;
const MAX_DECIMALS = 6;
const POW2: number[] = Array.from({ length: 64 }, (_, i) => 2 ** i);
const POW10: number[] = Array.from({ length: MAX_DECIMALS + 1 }, (_, i) => 10 ** i);

const Kind = { Number: 0, String: 1, Boolean: 2, Bytes: 3 } as const;
type Kind = (typeof Kind)[keyof typeof Kind];
const NumMode = { Gorilla: 0, Delta: 1, DeltaOfDelta: 2 } as const;

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const LO = LITTLE_ENDIAN ? 0 : 1;
const HI = LITTLE_ENDIAN ? 1 : 0;
const utf8 = new TextEncoder();
// ignoreBOM: a string that starts with U+FEFF is stored as sent (the default decoder drops it).
const fromUtf8 = new TextDecoder('utf-8', { ignoreBOM: true });

function zigzag(d: number): number {
  return d >= 0 ? d * 2 : -d * 2 - 1;
}

function unzigzag(z: number): number {
  return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
}

function riceCost(z: number, k: number): number {
  const q = z < 4_294_967_296 && k < 32 ? z >>> k : Math.floor(z / (POW2[k] as number));
  return q < RICE_ESCAPE ? q + 1 + k : RICE_ESCAPE + 6 + bitLength(z);
}

/** riceCost for z below 2^32 and k below 32 (shifts instead of a division). */
function riceCost32(z: number, k: number): number {
  const q = z >>> k;
  return q < RICE_ESCAPE ? q + 1 + k : RICE_ESCAPE + 6 + bitLength(z);
}

/**
 * The Rice parameter that codes `zs` in the fewest bits: near log2 of the mean (the
 * optimum for a geometric distribution), checked exactly for it, its neighbours and 0,
 * in one pass (this runs for every stream of every block compaction writes).
 */
function riceParameter(zs: readonly number[]): { k: number; bits: number } {
  let sum = 0;
  let max = 0;
  for (const z of zs) {
    sum += z;
    if (z > max) max = z;
  }
  // All zeros (a steady interval, a value that does not change): a bit each at k = 0.
  if (sum === 0) return { k: 0, bits: zs.length };
  const mean = sum / zs.length;
  const guess = mean < 1 ? 0 : Math.min(50, Math.floor(Math.log2(mean * Math.LN2)));
  // Candidates guess-2 .. guess+2 (clamped at 0), and 0: a few large values pull the
  // mean up while most are small.
  const lo = Math.max(0, guess - 2);
  let c0 = 0;
  let c1 = 0;
  let c2 = 0;
  let c3 = 0;
  let c4 = 0;
  let cz = 0;
  const n = zs.length;
  if (max < 4_294_967_296 && lo + 4 < 32 && max >>> lo < RICE_ESCAPE) {
    // The common case: no value escapes at any candidate k >= lo, so a cost is
    // n * (1 + k) plus the sum of the quotients, in local sums and shifts (this loop
    // was the codec's hottest).
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let s4 = 0;
    for (const z of zs) {
      if (lo > 0) cz += riceCost32(z, 0);
      s0 += z >>> lo;
      s1 += z >>> (lo + 1);
      s2 += z >>> (lo + 2);
      s3 += z >>> (lo + 3);
      s4 += z >>> (lo + 4);
    }
    c0 = s0 + n * (1 + lo);
    c1 = s1 + n * (2 + lo);
    c2 = s2 + n * (3 + lo);
    c3 = s3 + n * (4 + lo);
    c4 = s4 + n * (5 + lo);
  } else if (max < 4_294_967_296 && lo + 4 < 32) {
    for (const z of zs) {
      if (lo > 0) cz += riceCost32(z, 0);
      c0 += riceCost32(z, lo);
      c1 += riceCost32(z, lo + 1);
      c2 += riceCost32(z, lo + 2);
      c3 += riceCost32(z, lo + 3);
      c4 += riceCost32(z, lo + 4);
    }
  } else {
    for (const z of zs) {
      if (lo > 0) cz += riceCost(z, 0);
      c0 += riceCost(z, lo);
      c1 += riceCost(z, lo + 1);
      c2 += riceCost(z, lo + 2);
      c3 += riceCost(z, lo + 3);
      c4 += riceCost(z, lo + 4);
    }
  }
  let k = 0;
  let bits = lo > 0 ? cz : Number.POSITIVE_INFINITY;
  const costs = [c0, c1, c2, c3, c4];
  for (let j = 0; j < 5; j++) {
    if ((costs[j] as number) < bits) {
      k = lo + j;
      bits = costs[j] as number;
    }
  }
  return { k, bits };
}

function writeRice(w: BitWriter, z: number, k: number): void {
  const pk = POW2[k] as number;
  const q = Math.floor(z / pk);
  if (q < RICE_ESCAPE) {
    w.writeBits((POW2[q + 1] as number) - 2, q + 1);
    w.writeWide(z - q * pk, k);
  } else {
    w.writeBits((POW2[RICE_ESCAPE] as number) - 1, RICE_ESCAPE);
    w.writeUint(z);
  }
}

function readRice(r: BitReader, k: number): number {
  const q = r.readOnes(RICE_ESCAPE);
  if (q < RICE_ESCAPE) return q * (POW2[k] as number) + r.readWide(k);
  return r.readUint();
}

// --- times ---------------------------------------------------------------------

function intTimes(ts: readonly number[], start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const t = ts[i] as number;
    if (!Number.isInteger(t) || Math.abs(t) > INT_LIMIT || Object.is(t, -0)) return false;
  }
  return true;
}

function writeTimes(w: BitWriter, ts: readonly number[], start: number, end: number): void {
  if (!intTimes(ts, start, end)) {
    w.writeBits(1, 1);
    for (let i = start; i < end; i++) writeDouble(w, ts[i] as number);
    return;
  }
  w.writeBits(0, 1);
  const t0 = ts[start] as number;
  w.writeUint(zigzag(t0));
  const zs: number[] = new Array(end - start - 1);
  let prev = t0;
  let prevDelta = 0;
  for (let i = start + 1; i < end; i++) {
    const t = ts[i] as number;
    const delta = t - prev;
    zs[i - start - 1] = zigzag(delta - prevDelta);
    prev = t;
    prevDelta = delta;
  }
  const { k } = riceParameter(zs);
  w.writeBits(k, 6);
  for (const z of zs) writeRice(w, z, k);
}

function readTimes(r: BitReader, n: number, into: number[]): void {
  if (r.readBit() === 1) {
    for (let i = 0; i < n; i++) into.push(readDouble(r));
    return;
  }
  let t = unzigzag(r.readUint());
  into.push(t);
  const k = r.readBits(6);
  let delta = 0;
  for (let i = 1; i < n; i++) {
    delta += unzigzag(readRice(r, k));
    t += delta;
    into.push(t);
  }
}

// --- numbers -------------------------------------------------------------------

function writeDouble(w: BitWriter, v: number): void {
  f64[0] = v;
  w.writeBits(u32[HI] as number, 32);
  w.writeBits(u32[LO] as number, 32);
}

function readDouble(r: BitReader): number {
  u32[HI] = r.readBits(32);
  u32[LO] = r.readBits(32);
  return f64[0] as number;
}

function ctz32(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/** Writes the `len` bits of (hi, lo) >> shift. */
function writeShifted(w: BitWriter, hi: number, lo: number, shift: number, len: number): void {
  let h = hi;
  let l = lo;
  if (shift >= 32) {
    l = hi >>> (shift - 32);
    h = 0;
  } else if (shift > 0) {
    l = ((lo >>> shift) | (hi << (32 - shift))) >>> 0;
    h = hi >>> shift;
  }
  if (len > 32) {
    w.writeBits(h, len - 32);
    w.writeBits(l, 32);
  } else {
    w.writeBits(l, len);
  }
}

/**
 * Gorilla's value encoding (§4.1.2 of the paper): '0' for a repeat; else the XOR with
 * the previous value's bits, '10' + the bits inside the previous window of leading and
 * trailing zeros, or '11' + 5 bits of leading zeros + 6 bits of length + the bits.
 * Returns the bits it takes; writes them only when given a writer.
 */
function gorilla(nums: readonly number[], w: BitWriter | undefined): number {
  f64[0] = nums[0] as number;
  let ph = u32[HI] as number;
  let pl = u32[LO] as number;
  w?.writeBits(ph, 32);
  w?.writeBits(pl, 32);
  let bits = 64;
  let wl = -1;
  let wt = 0;
  for (let i = 1; i < nums.length; i++) {
    f64[0] = nums[i] as number;
    const h = u32[HI] as number;
    const l = u32[LO] as number;
    const xh = (h ^ ph) >>> 0;
    const xl = (l ^ pl) >>> 0;
    ph = h;
    pl = l;
    if (xh === 0 && xl === 0) {
      bits += 1;
      w?.writeBits(0, 1);
      continue;
    }
    const lz = Math.min(31, xh !== 0 ? Math.clz32(xh) : 32 + Math.clz32(xl));
    const tz = xl !== 0 ? ctz32(xl) : 32 + ctz32(xh);
    if (wl >= 0 && lz >= wl && tz >= wt) {
      const len = 64 - wl - wt;
      bits += 2 + len;
      if (w) {
        w.writeBits(2, 2);
        writeShifted(w, xh, xl, wt, len);
      }
    } else {
      const len = 64 - lz - tz;
      bits += 13 + len;
      if (w) {
        w.writeBits(3, 2);
        w.writeBits(lz, 5);
        w.writeBits(len & 63, 6);
        writeShifted(w, xh, xl, tz, len);
      }
      wl = lz;
      wt = tz;
    }
  }
  return bits;
}

function readGorilla(r: BitReader, count: number, out: number[]): void {
  let ph = r.readBits(32);
  let pl = r.readBits(32);
  u32[HI] = ph;
  u32[LO] = pl;
  out.push(f64[0] as number);
  let wl = -1;
  let wt = 0;
  for (let i = 1; i < count; i++) {
    if (r.readBit() === 1) {
      let len: number;
      if (r.readBit() === 1) {
        wl = r.readBits(5);
        len = r.readBits(6) || 64;
        wt = 64 - wl - len;
        if (wt < 0) throw new RangeError('telemetry block: bad XOR window');
      } else {
        if (wl < 0) throw new RangeError('telemetry block: XOR window before any');
        len = 64 - wl - wt;
      }
      let h = len > 32 ? r.readBits(len - 32) : 0;
      let l = r.readBits(Math.min(len, 32));
      if (wt >= 32) {
        h = (l << (wt - 32)) >>> 0;
        l = 0;
      } else if (wt > 0) {
        h = ((h << wt) | (l >>> (32 - wt))) >>> 0;
        l = (l << wt) >>> 0;
      }
      ph = (ph ^ h) >>> 0;
      pl = (pl ^ l) >>> 0;
      u32[HI] = ph;
      u32[LO] = pl;
    }
    out.push(f64[0] as number);
  }
}

/** The fewest decimals d (<= 6) at which every value is an integer that divides back to itself, or -1. */
function decimalScale(nums: readonly number[]): number {
  scales: for (let d = 0; d <= MAX_DECIMALS; d++) {
    const s = POW10[d] as number;
    for (const v of nums) {
      const m = Math.round(v * s);
      // NaN and the infinities fail the first test; -0 would come back as 0.
      if (!(Math.abs(m) <= INT_LIMIT) || m / s !== v || (m === 0 && Object.is(v, -0))) continue scales;
    }
    return d;
  }
  return -1;
}

/** Scaled integers at this many bits a value or fewer are not worth comparing with Gorilla (which needs more for any change). */
const SCALED_GOOD_ENOUGH = 8;

function writeNumbers(w: BitWriter, nums: readonly number[]): void {
  const d = decimalScale(nums);
  if (d >= 0) {
    const s = POW10[d] as number;
    const deltas: number[] = new Array(nums.length);
    const dods: number[] = new Array(nums.length);
    let prev = 0;
    let prevDelta = 0;
    for (let i = 0; i < nums.length; i++) {
      const m = Math.round((nums[i] as number) * s);
      const delta = m - prev;
      deltas[i] = zigzag(delta);
      dods[i] = zigzag(delta - prevDelta);
      prev = m;
      prevDelta = delta;
    }
    const byDelta = riceParameter(deltas);
    const byDod = riceParameter(dods);
    const [mode, zs, { k, bits }] = byDod.bits < byDelta.bits ? [NumMode.DeltaOfDelta, dods, byDod] : [NumMode.Delta, deltas, byDelta];
    if (bits <= SCALED_GOOD_ENOUGH * nums.length || bits + 9 < gorilla(nums, undefined)) {
      w.writeBits(mode, 2);
      w.writeBits(d, 3);
      w.writeBits(k, 6);
      for (const z of zs) writeRice(w, z, k);
      return;
    }
  }
  w.writeBits(NumMode.Gorilla, 2);
  gorilla(nums, w);
}

function readNumbers(r: BitReader, count: number, out: number[]): void {
  const mode = r.readBits(2);
  if (mode === NumMode.Gorilla) {
    readGorilla(r, count, out);
    return;
  }
  if (mode !== NumMode.Delta && mode !== NumMode.DeltaOfDelta) throw new RangeError('telemetry block: unknown number mode');
  const d = r.readBits(3);
  if (d > MAX_DECIMALS) throw new RangeError('telemetry block: bad decimal scale');
  const s = POW10[d] as number;
  const k = r.readBits(6);
  let m = 0;
  let delta = 0;
  for (let i = 0; i < count; i++) {
    const z = unzigzag(readRice(r, k));
    if (mode === NumMode.Delta) delta = z;
    else delta += z;
    m += delta;
    out.push(m / s);
  }
}

// --- booleans, strings, bytes --------------------------------------------------

function writeBooleans(w: BitWriter, bools: readonly boolean[]): void {
  const runs: number[] = [];
  let run = 0;
  for (let i = 0; i < bools.length; i++) {
    if (i > 0 && bools[i] !== bools[i - 1]) {
      runs.push(run);
      run = 0;
    }
    run++;
  }
  runs.push(run);
  w.writeBits(bools[0] ? 1 : 0, 1);
  w.writeUint(runs.length);
  for (const r of runs) w.writeUint(r);
}

function readBooleans(r: BitReader, count: number, out: boolean[]): void {
  let v = r.readBit() === 1;
  const runs = r.readUint();
  for (let i = 0; i < runs; i++) {
    const len = r.readUint();
    if (out.length + len > count) throw new RangeError('telemetry block: boolean runs overflow');
    for (let j = 0; j < len; j++) out.push(v);
    v = !v;
  }
  if (out.length !== count) throw new RangeError('telemetry block: boolean runs short');
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Strings or byte strings, one run per stretch of equal values. */
function writeRuns<T extends string | Uint8Array>(
  w: BitWriter,
  items: readonly T[],
  toBytes: (v: T) => Uint8Array,
  same: (a: T, b: T) => boolean,
) {
  const runs: [T, number][] = [];
  for (const v of items) {
    const last = runs[runs.length - 1];
    if (last !== undefined && same(last[0], v)) last[1]++;
    else runs.push([v, 1]);
  }
  w.writeUint(runs.length);
  for (const [v, len] of runs) {
    const bytes = toBytes(v);
    w.writeUint(len);
    w.writeUint(bytes.length);
    w.writeBytes(bytes);
  }
}

function readRuns<T>(r: BitReader, count: number, out: T[], fromBytes: (b: Uint8Array) => T, copy: (v: T) => T): void {
  const runs = r.readUint();
  for (let i = 0; i < runs; i++) {
    const len = r.readUint();
    if (out.length + len > count) throw new RangeError('telemetry block: runs overflow');
    const v = fromBytes(r.readBytes(r.readUint()));
    for (let j = 0; j < len; j++) out.push(j === 0 ? v : copy(v));
  }
  if (out.length !== count) throw new RangeError('telemetry block: runs short');
}

function kindOf(v: CodecValue): Kind {
  if (typeof v === 'number') return Kind.Number;
  if (typeof v === 'string') return Kind.String;
  if (typeof v === 'boolean') return Kind.Boolean;
  return Kind.Bytes;
}

// --- blocks --------------------------------------------------------------------

/** Encodes points [start, end) of parallel arrays (times sorted or not: any order round-trips). */
export function encodeBlock(ts: readonly number[], values: readonly CodecValue[], start = 0, end = ts.length): Uint8Array {
  const n = end - start;
  const w = new BitWriter(16 + n);
  w.writeBits(CODEC_VERSION, 8);
  w.writeUint(n);
  if (n === 0) return w.finish().slice();
  writeTimes(w, ts, start, end);
  const nums: number[] = [];
  const strings: string[] = [];
  const bools: boolean[] = [];
  const bytes: Uint8Array[] = [];
  const runs: [Kind, number][] = [];
  for (let i = start; i < end; i++) {
    const v = values[i] as CodecValue;
    const kind = kindOf(v);
    if (kind === Kind.Number) nums.push(v as number);
    else if (kind === Kind.String) strings.push(v as string);
    else if (kind === Kind.Boolean) bools.push(v as boolean);
    else bytes.push(v as Uint8Array);
    const last = runs[runs.length - 1];
    if (last !== undefined && last[0] === kind) last[1]++;
    else runs.push([kind, 1]);
  }
  if (nums.length === n) {
    w.writeBits(1, 1);
  } else {
    w.writeBits(0, 1);
    w.writeUint(runs.length);
    for (const [kind, len] of runs) {
      w.writeBits(kind, 2);
      w.writeUint(len);
    }
  }
  if (nums.length > 0) writeNumbers(w, nums);
  if (bools.length > 0) writeBooleans(w, bools);
  if (strings.length > 0)
    writeRuns(
      w,
      strings,
      (s) => utf8.encode(s),
      (a, b) => a === b,
    );
  if (bytes.length > 0) writeRuns(w, bytes, (b) => b, sameBytes);
  return w.finish().slice();
}

/** Decodes a block written by encodeBlock, appending to `ts` and `values`. Throws on a corrupt block. */
export function decodeBlock(data: Uint8Array, ts: number[], values: CodecValue[]): void {
  if (data[0] !== CODEC_VERSION) throw new RangeError(`telemetry block: unknown format ${data[0]}`);
  const r = new BitReader(data, 1);
  const n = r.readUint();
  if (n === 0) return;
  if (n > MAX_DECODE_POINTS) throw new RangeError(`telemetry block: ${n} points`);
  readTimes(r, n, ts);
  let runs: [Kind, number][];
  if (r.readBit() === 1) {
    runs = [[Kind.Number, n]];
  } else {
    runs = [];
    const count = r.readUint();
    let total = 0;
    for (let i = 0; i < count; i++) {
      const kind = r.readBits(2) as Kind;
      const len = r.readUint();
      total += len;
      runs.push([kind, len]);
    }
    if (total !== n) throw new RangeError('telemetry block: kind runs do not add up');
  }
  const counts = [0, 0, 0, 0];
  for (const [kind, len] of runs) counts[kind] = (counts[kind] as number) + len;
  if (counts[Kind.Number] === n) {
    readNumbers(r, n, values as number[]);
    return;
  }
  const nums: number[] = [];
  const bools: boolean[] = [];
  const strings: string[] = [];
  const bytes: Uint8Array[] = [];
  if (counts[Kind.Number]) readNumbers(r, counts[Kind.Number] as number, nums);
  if (counts[Kind.Boolean]) readBooleans(r, counts[Kind.Boolean] as number, bools);
  if (counts[Kind.String])
    readRuns(
      r,
      counts[Kind.String] as number,
      strings,
      (b) => fromUtf8.decode(b),
      (s) => s,
    );
  if (counts[Kind.Bytes])
    readRuns(
      r,
      counts[Kind.Bytes] as number,
      bytes,
      (b) => b,
      (b) => b.slice(),
    );
  const next = [0, 0, 0, 0];
  const streams: CodecValue[][] = [nums, strings, bools, bytes];
  for (const [kind, len] of runs) {
    const stream = streams[kind] as CodecValue[];
    let at = next[kind] as number;
    for (let j = 0; j < len; j++) values.push(stream[at++] as CodecValue);
    next[kind] = at;
  }
}
