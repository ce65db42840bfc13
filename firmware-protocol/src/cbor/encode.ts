// CBOR encoder with RFC 8949 §4.2.1 preferred serialization: shortest heads, definite
// lengths, and floats in the shortest width (16, 32 or 64 bits) that keeps the value.
// Map keys keep the order given, so callers decide it (SPEC.md §3.3).

export type Encodable =
  | null
  | undefined
  | boolean
  | number
  | string
  | Uint8Array
  | readonly Encodable[]
  | ReadonlyMap<number | string, Encodable>
  | { readonly [key: string]: Encodable };

/** Deeper than any message the spec allows; stops a cyclic value from recursing forever. */
const MAX_ENCODE_DEPTH = 64;

let buf = new Uint8Array(8192);
let pos = 0;
const utf8 = new TextEncoder();
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
const f64 = new Float64Array(1);
const f64bytes = new Uint8Array(f64.buffer);
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function ensure(n: number): void {
  if (pos + n <= buf.length) return;
  let size = buf.length * 2;
  while (size < pos + n) size *= 2;
  const next = new Uint8Array(size);
  next.set(buf.subarray(0, pos));
  buf = next;
}

export function writeHead(major: number, n: number): void {
  ensure(9);
  const m = major << 5;
  if (n < 24) {
    buf[pos++] = m | n;
  } else if (n < 0x100) {
    buf[pos++] = m | 24;
    buf[pos++] = n;
  } else if (n < 0x10000) {
    buf[pos++] = m | 25;
    buf[pos++] = n >>> 8;
    buf[pos++] = n & 0xff;
  } else if (n < 0x1_0000_0000) {
    buf[pos++] = m | 26;
    buf[pos++] = n >>> 24;
    buf[pos++] = (n >>> 16) & 0xff;
    buf[pos++] = (n >>> 8) & 0xff;
    buf[pos++] = n & 0xff;
  } else {
    const hi = Math.floor(n / 0x1_0000_0000);
    const lo = n >>> 0;
    buf[pos++] = m | 27;
    buf[pos++] = hi >>> 24;
    buf[pos++] = (hi >>> 16) & 0xff;
    buf[pos++] = (hi >>> 8) & 0xff;
    buf[pos++] = hi & 0xff;
    buf[pos++] = lo >>> 24;
    buf[pos++] = (lo >>> 16) & 0xff;
    buf[pos++] = (lo >>> 8) & 0xff;
    buf[pos++] = lo & 0xff;
  }
}

/** The half-precision bits of `v` if it is exactly representable in 16 bits, else -1. */
function toHalf(bits32: number): number {
  const sign = (bits32 >>> 16) & 0x8000;
  const exp = (bits32 >>> 23) & 0xff;
  const mant = bits32 & 0x7fffff;
  if (exp === 0 && mant === 0) return sign;
  const e = exp - 127;
  if (e >= -14 && e <= 15) {
    if ((mant & 0x1fff) !== 0) return -1;
    return sign | ((e + 15) << 10) | (mant >>> 13);
  }
  if (e >= -24 && e < -14) {
    const shift = -1 - e;
    const full = 0x800000 | mant;
    if ((full & ((1 << shift) - 1)) !== 0) return -1;
    return sign | (full >>> shift);
  }
  return -1;
}

function writeFloat(v: number): void {
  ensure(9);
  f32[0] = v;
  if (f32[0] === v) {
    const bits = u32[0] as number;
    const half = toHalf(bits);
    if (half !== -1) {
      buf[pos++] = 0xf9;
      buf[pos++] = half >>> 8;
      buf[pos++] = half & 0xff;
      return;
    }
    buf[pos++] = 0xfa;
    buf[pos++] = bits >>> 24;
    buf[pos++] = (bits >>> 16) & 0xff;
    buf[pos++] = (bits >>> 8) & 0xff;
    buf[pos++] = bits & 0xff;
    return;
  }
  f64[0] = v;
  buf[pos++] = 0xfb;
  for (let i = 0; i < 8; i++) buf[pos++] = f64bytes[littleEndian ? 7 - i : i] as number;
}

export function writeNumber(v: number): void {
  if (Number.isSafeInteger(v) && !Object.is(v, -0)) {
    if (v >= 0) writeHead(0, v);
    else writeHead(1, -1 - v);
    return;
  }
  if (!Number.isFinite(v)) throw new TypeError('CBOR encode: NaN and infinities are not allowed');
  writeFloat(v);
}

export function writeText(s: string): void {
  const n = s.length;
  if (n < 24) {
    // ASCII fast path: most names and units.
    ensure(1 + n);
    const start = pos;
    buf[pos++] = 0x60 | n;
    let ascii = true;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        ascii = false;
        break;
      }
      buf[pos++] = c;
    }
    if (ascii) return;
    pos = start;
  }
  // Worst case three bytes per UTF-16 unit; write after a 5-byte head reservation, then shift.
  ensure(9 + n * 3);
  const bodyStart = pos + 9;
  const { written } = utf8.encodeInto(s, buf.subarray(bodyStart));
  const headStart = pos;
  writeHead(3, written);
  const headLen = pos - headStart;
  buf.copyWithin(headStart + headLen, bodyStart, bodyStart + written);
  pos = headStart + headLen + written;
}

export function writeValue(value: Encodable, depth = 0): void {
  if (depth > MAX_ENCODE_DEPTH) throw new TypeError('CBOR encode: value nested too deeply (cyclic?)');
  if (value === null || value === undefined) {
    ensure(1);
    buf[pos++] = 0xf6;
    return;
  }
  switch (typeof value) {
    case 'boolean':
      ensure(1);
      buf[pos++] = value ? 0xf5 : 0xf4;
      return;
    case 'number':
      writeNumber(value);
      return;
    case 'string':
      writeText(value);
      return;
    case 'object':
      break;
    default:
      throw new TypeError(`CBOR encode: cannot encode a ${typeof value}`);
  }
  if (value instanceof Uint8Array) {
    writeHead(2, value.length);
    ensure(value.length);
    buf.set(value, pos);
    pos += value.length;
    return;
  }
  if (Array.isArray(value)) {
    const arr = value as readonly Encodable[];
    writeHead(4, arr.length);
    for (const item of arr) writeValue(item, depth + 1);
    return;
  }
  if (value instanceof Map) {
    const map = value as ReadonlyMap<number | string, Encodable>;
    writeHead(5, map.size);
    for (const [k, v] of map) {
      if (typeof k === 'number') writeNumber(k);
      else writeText(k);
      writeValue(v, depth + 1);
    }
    return;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    throw new TypeError(`CBOR encode: cannot encode a ${proto?.constructor?.name ?? 'object'}`);
  }
  const obj = value as { readonly [key: string]: Encodable };
  let count = 0;
  for (const k in obj) if (obj[k] !== undefined) count++;
  writeHead(5, count);
  for (const k in obj) {
    const v = obj[k];
    if (v === undefined) continue;
    writeText(k);
    writeValue(v, depth + 1);
  }
}

/**
 * Encodes a plain value. Objects become maps with text keys (entries whose value is
 * `undefined` are left out), Maps keep their integer or text keys. Throws a TypeError
 * only for values no peer could receive (NaN, functions, class instances, cycles).
 */
export function encodeCbor(value: Encodable): Uint8Array {
  return encodeWith(writeValue, value);
}

/**
 * Runs `write` against a fresh output and returns the bytes: lets a caller write a
 * structure item by item (writeHead, writeNumber, ...) without building it first.
 */
export function encodeWith<T>(write: (value: T) => void, value: T): Uint8Array {
  pos = 0;
  try {
    write(value);
    return buf.slice(0, pos);
  } finally {
    // Do not keep a buffer a single huge message grew.
    if (buf.length > 1 << 20) buf = new Uint8Array(8192);
  }
}
