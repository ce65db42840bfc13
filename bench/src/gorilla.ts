// The reference the storage bench compares the hub's block codec against: the
// encoding of Facebook's Gorilla paper (Pelkonen et al., VLDB 2015, §4.1), written
// here from the paper, independent of the hub's codec, and counting bits only.
// Timestamps: the first in 64 bits, then delta-of-deltas in the paper's buckets
// ('0'; '10' + 7 bits; '110' + 9; '1110' + 12; '1111' + 32). Values: the first in
// 64 bits, then the XOR with the previous value: '0' when equal, '10' + the bits
// inside the previous window of leading/trailing zeros when they fit, else '11' +
// 5 bits of leading zeros + 6 bits of length + the meaningful bits.

const view = new DataView(new ArrayBuffer(8));

function bitsOf(v: number): bigint {
  view.setFloat64(0, v);
  return view.getBigUint64(0);
}

function leadingZeros(x: bigint): number {
  return 64 - x.toString(2).length;
}

function trailingZeros(x: bigint): number {
  let n = 0;
  while ((x & 1n) === 0n) {
    x >>= 1n;
    n++;
  }
  return n;
}

function timestampBits(dod: number): number {
  if (dod === 0) return 1;
  if (dod >= -63 && dod <= 64) return 2 + 7;
  if (dod >= -255 && dod <= 256) return 3 + 9;
  if (dod >= -2047 && dod <= 2048) return 4 + 12;
  // The paper's 32 bits hold any gap of a 2-hour block in seconds; in ms a larger gap needs 64.
  return 4 + (Math.abs(dod) < 2 ** 31 ? 32 : 64);
}

/** Bits Gorilla takes for one block of points (times in ms, values as doubles). */
export function gorillaBits(ts: readonly number[], values: readonly number[]): number {
  if (ts.length === 0) return 0;
  let bits = 64 + 64;
  let prevDelta = 0;
  let prevBits = bitsOf(values[0] as number);
  let lead = -1;
  let trail = 0;
  for (let i = 1; i < ts.length; i++) {
    const delta = (ts[i] as number) - (ts[i - 1] as number);
    bits += timestampBits(delta - prevDelta);
    prevDelta = delta;
    const cur = bitsOf(values[i] as number);
    const x = cur ^ prevBits;
    prevBits = cur;
    if (x === 0n) {
      bits += 1;
      continue;
    }
    const lz = Math.min(31, leadingZeros(x));
    const tz = trailingZeros(x);
    if (lead >= 0 && lz >= lead && tz >= trail) {
      bits += 2 + (64 - lead - trail);
    } else {
      bits += 2 + 5 + 6 + (64 - lz - tz);
      lead = lz;
      trail = tz;
    }
  }
  return bits;
}
