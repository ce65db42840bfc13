// A strict CBOR (RFC 8949) decoder for data from untrusted peers (SPEC.md §3).
//
// General-purpose decoders turn tags into RegExps, Sets, Errors or cyclic objects,
// replace invalid UTF-8 with U+FFFD and rename `__proto__`. This one accepts only the
// plain data the spec allows, checks every limit before it allocates, and reports
// the first violation as a typed error instead of throwing.

import { DEFAULT_LIMITS, type Limits, MAX_INTEGER, RESERVED_KEYS } from '../constants.js';
import { ProtocolError, ProtocolErrorCode, type ProtocolErrorCodeString } from '../errors.js';

/**
 * A decoded map whose keys include integers (SenML records use integer labels).
 * Parallel arrays rather than a Map: these maps are small and read once, in order.
 */
export class LabelMap {
  constructor(
    readonly keys: (number | string)[] = [],
    readonly values: CborValue[] = [],
  ) {}

  get size(): number {
    return this.keys.length;
  }

  get(key: number | string): CborValue | undefined {
    const i = this.keys.indexOf(key);
    return i === -1 ? undefined : this.values[i];
  }

  entries(): [number | string, CborValue][] {
    return this.keys.map((k, i) => [k, this.values[i] as CborValue]);
  }
}
export interface CborObject {
  [key: string]: CborValue;
}
export type CborValue = null | boolean | number | string | Uint8Array | CborValue[] | CborObject | LabelMap;

/** A decoded map with text keys only (what JSON calls an object). */
export function isCborObject(v: unknown): v is CborObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) && !(v instanceof LabelMap);
}

export type CborResult = { ok: true; value: CborValue } | { ok: false; error: ProtocolError };

/** RFC 8949 §3.4.6: the self-described CBOR tag, the only tag v1 accepts, and only in front. */
const TAG_SELF_DESCRIBED = 55799;

class Failure {
  constructor(
    readonly code: ProtocolErrorCodeString,
    readonly message: string,
  ) {}
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

// Decoding is synchronous and never re-entered, so the cursor lives at module level:
// cheaper than a reader object per message on the hot path.
let src: Uint8Array = new Uint8Array(0);
let pos = 0;
let end = 0;
let view: DataView | undefined;
let depth = 0;
let limits: Limits = DEFAULT_LIMITS;
let keepReserved = false;

function fail(code: ProtocolErrorCodeString, message: string): never {
  throw new Failure(code, message);
}

function need(n: number): void {
  if (end - pos < n) fail(ProtocolErrorCode.Truncated, 'message ends inside a data item');
}

function dataView(): DataView {
  if (view === undefined) view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  return view;
}

/** Reads the argument of a head whose additional information is `ai` (RFC 8949 §3). */
function readArgument(ai: number): number {
  if (ai < 24) return ai;
  switch (ai) {
    case 24:
      need(1);
      return src[pos++] as number;
    case 25: {
      need(2);
      const v = ((src[pos] as number) << 8) | (src[pos + 1] as number);
      pos += 2;
      return v;
    }
    case 26: {
      need(4);
      const v = dataView().getUint32(pos);
      pos += 4;
      return v;
    }
    case 27: {
      need(8);
      const hi = dataView().getUint32(pos);
      const lo = dataView().getUint32(pos + 4);
      pos += 8;
      // 2^53 and above cannot be represented exactly; callers turn this into their own error.
      if (hi > 0x1fffff) return Number.POSITIVE_INFINITY;
      return hi * 0x1_0000_0000 + lo;
    }
    case 31:
      return -1;
    default:
      return fail(ProtocolErrorCode.Malformed, `reserved additional information ${ai}`);
  }
}

function readLength(ai: number, what: string): number {
  const n = readArgument(ai);
  if (n === -1) fail(ProtocolErrorCode.Indefinite, `indefinite-length ${what} is not allowed`);
  if (n === Number.POSITIVE_INFINITY) fail(ProtocolErrorCode.Length, `${what} with a length of 2^53 or more`);
  return n;
}

// Short ASCII strings (names, units, keys) repeat in every message a device sends.
// An interning cache keyed by their bytes turns most of them into a hash, a compare
// and no allocation (the technique msgpackr and cbor-x use).
const CACHE_SLOTS = 4096;
const cacheBytes: (Uint8Array | undefined)[] = new Array(CACHE_SLOTS);
const cacheStrings: string[] = new Array(CACHE_SLOTS);

function shortAscii(start: number, len: number): string | undefined {
  let h = len;
  for (let i = start; i < start + len; i++) {
    const b = src[i] as number;
    if (b >= 0x80) return undefined;
    h = (Math.imul(h, 31) + b) | 0;
  }
  const slot = (h ^ (h >>> 12)) & (CACHE_SLOTS - 1);
  const known = cacheBytes[slot];
  if (known !== undefined && known.length === len) {
    let same = true;
    for (let i = 0; i < len; i++) {
      if (known[i] !== src[start + i]) {
        same = false;
        break;
      }
    }
    if (same) return cacheStrings[slot];
  }
  const bytes = src.slice(start, start + len);
  const s = String.fromCharCode.apply(null, bytes as unknown as number[]);
  cacheBytes[slot] = bytes;
  cacheStrings[slot] = s;
  return s;
}

function readText(len: number): string {
  if (len > limits.maxString) fail(ProtocolErrorCode.Length, `text string of ${len} bytes exceeds ${limits.maxString}`);
  need(len);
  const start = pos;
  if (len <= 32) {
    const s = shortAscii(start, len);
    if (s !== undefined) {
      pos += len;
      return s;
    }
  }
  let text: string;
  try {
    text = utf8.decode(src.subarray(start, start + len));
  } catch {
    fail(ProtocolErrorCode.Utf8, 'text string is not valid UTF-8');
  }
  pos += len;
  return text;
}

/** 2^(e-25) for each 5-bit half-precision exponent e. */
const HALF_SCALE = Array.from({ length: 32 }, (_, e) => 2 ** (e - 25));

function halfToNumber(h: number): number {
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  let v: number;
  if (exp === 0) v = mant * 2 ** -24;
  else if (exp !== 31) v = (mant + 1024) * (HALF_SCALE[exp] as number);
  else v = mant === 0 ? Number.POSITIVE_INFINITY : Number.NaN;
  return h & 0x8000 ? -v : v;
}

function finite(v: number): number {
  if (!Number.isFinite(v)) fail(ProtocolErrorCode.NonFinite, 'NaN and infinities are not allowed');
  return v;
}

function readItem(): CborValue {
  need(1);
  const initial = src[pos++] as number;
  const major = initial >> 5;
  const ai = initial & 0x1f;
  switch (major) {
    case 0: {
      const n = readArgument(ai);
      if (n === -1) fail(ProtocolErrorCode.Malformed, 'indefinite length on an integer');
      if (n > MAX_INTEGER) fail(ProtocolErrorCode.IntegerRange, 'integer above 2^53-1');
      return n;
    }
    case 1: {
      const n = readArgument(ai);
      if (n === -1) fail(ProtocolErrorCode.Malformed, 'indefinite length on an integer');
      if (n >= MAX_INTEGER) fail(ProtocolErrorCode.IntegerRange, 'integer below -(2^53-1)');
      return -1 - n;
    }
    case 2: {
      const len = readLength(ai, 'byte string');
      if (len > limits.maxString) fail(ProtocolErrorCode.Length, `byte string of ${len} bytes exceeds ${limits.maxString}`);
      need(len);
      const bytes = src.slice(pos, pos + len);
      pos += len;
      return bytes;
    }
    case 3:
      return readText(readLength(ai, 'text string'));
    case 4:
      return readArray(readLength(ai, 'array'));
    case 5:
      return readMap(readLength(ai, 'map'));
    case 6: {
      const tag = readArgument(ai);
      if (tag === TAG_SELF_DESCRIBED && pos === 3 && depth === 0) return readItem();
      return fail(ProtocolErrorCode.Tag, `CBOR tag ${tag} is not allowed`);
    }
    default:
      return readSimple(ai);
  }
}

function readSimple(ai: number): CborValue {
  switch (ai) {
    case 20:
      return false;
    case 21:
      return true;
    case 22:
      return null;
    case 25: {
      need(2);
      const h = ((src[pos] as number) << 8) | (src[pos + 1] as number);
      pos += 2;
      return finite(halfToNumber(h));
    }
    case 26: {
      need(4);
      const v = dataView().getFloat32(pos);
      pos += 4;
      return finite(v);
    }
    case 27: {
      need(8);
      const v = dataView().getFloat64(pos);
      pos += 8;
      return finite(v);
    }
    case 28:
    case 29:
    case 30:
      return fail(ProtocolErrorCode.Malformed, `reserved additional information ${ai}`);
    case 31:
      return fail(ProtocolErrorCode.Malformed, 'break code outside an indefinite-length item');
    default:
      return fail(
        ProtocolErrorCode.SimpleValue,
        ai === 23 ? 'undefined is not allowed' : 'simple values other than false, true and null are not allowed',
      );
  }
}

function enter(len: number, perItem: number, what: string): void {
  if (len > limits.maxItems) fail(ProtocolErrorCode.Length, `${what} of ${len} entries exceeds ${limits.maxItems}`);
  // Every entry takes at least one byte: refuse impossible lengths before allocating.
  need(len * perItem);
  if (++depth > limits.maxDepth) fail(ProtocolErrorCode.Depth, `nesting deeper than ${limits.maxDepth}`);
}

function readArray(len: number): CborValue[] {
  enter(len, 1, 'array');
  const out = new Array<CborValue>(len);
  for (let i = 0; i < len; i++) out[i] = readItem();
  depth--;
  return out;
}

function readKey(): string | number {
  need(1);
  const major = (src[pos] as number) >> 5;
  if (major === 3) {
    const key = readText(readLength((src[pos++] as number) & 0x1f, 'text string'));
    if (!keepReserved && RESERVED_KEYS.has(key)) fail(ProtocolErrorCode.Key, `map key "${key}" is not allowed`);
    return key;
  }
  if (major === 0 || major === 1) return readItem() as number;
  return fail(ProtocolErrorCode.Key, 'map keys must be text strings or integers');
}

function readMap(len: number): CborObject | LabelMap {
  enter(len, 2, 'map');
  const obj: CborObject = {};
  for (let i = 0; i < len; i++) {
    const key = readKey();
    if (typeof key === 'number') {
      // An integer key: continue as a LabelMap holding what was read so far.
      const keys = new Array<number | string>(len);
      const values = new Array<CborValue>(len);
      let j = 0;
      for (const k in obj) {
        keys[j] = k;
        values[j++] = obj[k] as CborValue;
      }
      return readLabels(new LabelMap(keys, values), j, key);
    }
    if (Object.hasOwn(obj, key)) fail(ProtocolErrorCode.Key, `duplicate map key "${key}"`);
    // Only reached for a reserved key when the caller asked to keep them: defined as an
    // own property, since assigning "__proto__" would replace the object's prototype.
    if (keepReserved && key === '__proto__')
      Object.defineProperty(obj, key, { value: readItem(), enumerable: true, writable: true, configurable: true });
    else obj[key] = readItem();
  }
  depth--;
  return obj;
}

/**
 * Reads the rest of a map into `labels`, whose arrays have its length (every SenML
 * record is such a map: sized once, not grown entry by entry); `from` entries are
 * there already and the next key is read.
 */
function readLabels(labels: LabelMap, from: number, firstKey: number | string): LabelMap {
  const { keys, values } = labels;
  // Small maps (every SenML record) check duplicates by scanning; large ones by a Set.
  const seen = keys.length > 16 ? new Set<number | string>(keys.slice(0, from)) : undefined;
  let key = firstKey;
  for (let i = from; i < keys.length; i++) {
    if (i > from) key = readKey();
    let dup = seen?.has(key) ?? false;
    for (let k = 0; seen === undefined && k < i && !dup; k++) dup = keys[k] === key;
    if (dup) fail(ProtocolErrorCode.Key, `duplicate map key ${JSON.stringify(key)}`);
    seen?.add(key);
    keys[i] = key;
    values[i] = readItem();
  }
  depth--;
  return labels;
}

export interface CborDecodeOptions {
  /**
   * Keep the reserved keys (RESERVED_KEYS) as own properties instead of refusing the
   * message. Only for a channel whose receiver checks them itself and answers more
   * precisely than a close (the console channel: SPEC.md §10.2); never for devices.
   */
  keepReservedKeys?: boolean;
}

/**
 * Decodes exactly one CBOR data item filling all of `bytes`.
 * Never throws: malformed, oversized or disallowed input yields `{ ok: false }`.
 */
export function decodeCbor(bytes: Uint8Array, lim: Limits = DEFAULT_LIMITS, options: CborDecodeOptions = {}): CborResult {
  if (bytes.length > lim.maxFrame) {
    return {
      ok: false,
      error: new ProtocolError(ProtocolErrorCode.TooLarge, `message of ${bytes.length} bytes exceeds ${lim.maxFrame}`),
    };
  }
  src = bytes;
  pos = 0;
  end = bytes.length;
  view = undefined;
  depth = 0;
  limits = lim;
  keepReserved = options.keepReservedKeys === true;
  try {
    if (end === 0) fail(ProtocolErrorCode.Truncated, 'empty message');
    const value = readItem();
    if (pos !== end) fail(ProtocolErrorCode.TrailingBytes, `${end - pos} bytes after the data item`);
    return { ok: true, value };
  } catch (err) {
    if (err instanceof Failure) return { ok: false, error: new ProtocolError(err.code, err.message) };
    // Only a bug in this file gets here; still a typed answer, never a crash of the caller.
    return { ok: false, error: new ProtocolError(ProtocolErrorCode.Malformed, `decoder failure: ${String(err)}`) };
  } finally {
    src = EMPTY;
    view = undefined;
    keepReserved = false;
  }
}

const EMPTY = new Uint8Array(0);

/**
 * The first `count` elements of the top-level array when each is an unsigned integer
 * in the safe range, read from their heads alone; otherwise undefined. For naming a
 * message that fails to decode (SPEC.md §8.3): a tag, trailing bytes or its size can
 * sink a message whose `[type, seq, ...]` prefix is perfectly readable.
 */
export function peekUints(bytes: Uint8Array, count: number): number[] | undefined {
  let p = 0;
  // The self-describe tag (d9 d9 f7) is allowed in front of the message (SPEC.md §3.2).
  if (bytes[0] === 0xd9 && bytes[1] === 0xd9 && bytes[2] === 0xf7) p = 3;
  const head = (): [number, number] | undefined => {
    const initial = bytes[p];
    if (initial === undefined) return undefined;
    const ai = initial & 0x1f;
    const width = ai < 24 ? 0 : ai === 24 ? 1 : ai === 25 ? 2 : ai === 26 ? 4 : ai === 27 ? 8 : -1;
    if (width === -1) {
      if (ai !== 31) return undefined;
      p++;
      return [initial >> 5, -1];
    }
    if (p + 1 + width > bytes.length) return undefined;
    let v = width === 0 ? ai : 0;
    for (let i = 1; i <= width; i++) v = v * 256 + (bytes[p + i] as number);
    p += 1 + width;
    return [initial >> 5, v];
  };
  const array = head();
  // An indefinite-length array (-1) is refused, but its elements are still readable.
  if (array === undefined || array[0] !== 4 || (array[1] !== -1 && array[1] < count)) return undefined;
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const item = head();
    if (item === undefined || item[0] !== 0 || item[1] < 0 || item[1] > MAX_INTEGER) return undefined;
    out.push(item[1]);
  }
  return out;
}
