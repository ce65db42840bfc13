// Plain data (SPEC.md §3.4) checked against what a receiver's decoder accepts (§3.2,
// §9), before it is encoded. The hub runs this on everything operators and integrators
// want sent to a device (command params, desired documents): a value the device's
// decoder would refuse must be refused where it comes in, not sent to the device on
// every reconnect. Same key list and same limits as the decoder (cbor/decode.ts).

import { type Limits, RESERVED_KEYS } from './constants.js';

export type PlainValueLimits = Pick<Limits, 'maxDepth' | 'maxItems' | 'maxString'>;

export const PlainValueProblemKind = {
  /** A reserved key (SPEC.md §3.2). */
  Key: 'key',
  /** Nested deeper than maxDepth, counting the levels of the enclosing message. */
  Depth: 'depth',
  /** An array or map with more than maxItems entries. */
  Items: 'items',
  /** A text string (value or key) or byte string longer than maxString bytes. */
  String: 'string',
  /** Not plain data: NaN, an infinity, undefined, a function, a class instance... */
  Type: 'type',
} as const;
export type PlainValueProblemKindString = (typeof PlainValueProblemKind)[keyof typeof PlainValueProblemKind];

export interface PlainValueProblem {
  kind: PlainValueProblemKindString;
  /** Dotted path of the offending field from `options.path` (array indexes as numbers), e.g. `params.valves.3`. */
  path: string;
  message: string;
}

export interface PlainValueOptions {
  /** Name of the value itself, the start of every reported path. */
  path?: string;
  /**
   * Levels of nesting the enclosing message already takes: 1 for a value that is an
   * element of the message array (COMMAND's params, DESIRED's document).
   */
  depth?: number;
  /**
   * A merge patch (RFC 7396): a reserved key whose value is null only removes that
   * key, so it is allowed; that is how a document holding one is repaired.
   */
  mergePatch?: boolean;
  /**
   * For data in a JSON form that writes byte strings as objects (the hub's
   * `{"$base64": ...}`, SPEC.md §3.4): the length in bytes of the byte string `v`
   * stands for, or undefined when `v` is an ordinary map.
   */
  bytesOf?: (v: Readonly<Record<string, unknown>>) => number | undefined;
}

/** Bytes `s` takes in UTF-8 (a lone surrogate is written as U+FFFD, 3 bytes). */
export function utf8Length(s: string): number {
  let n = s.length;
  // Most strings are short: no string of n UTF-16 units is longer than 3n bytes.
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 2; // a pair: 2 units, 4 bytes
      i++;
    } else n += 2;
  }
  return n;
}

/** How messages name the value itself when the caller gave it no name. */
function named(path: string): string {
  return path === '' ? 'the value' : path;
}

function join(path: string, key: string | number): string {
  return path === '' ? String(key) : `${path}.${key}`;
}

function isPlainObject(v: object): v is Record<string, unknown> {
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * The first reason `value` would be refused by a receiver enforcing `limits`, with the
 * path of the offending field; undefined when it would be accepted. Never throws.
 */
export function checkPlainValue(value: unknown, limits: PlainValueLimits, options: PlainValueOptions = {}): PlainValueProblem | undefined {
  return check(value, limits, options.path ?? '', options.depth ?? 0, options);
}

function check(v: unknown, lim: PlainValueLimits, path: string, depth: number, o: PlainValueOptions): PlainValueProblem | undefined {
  if (v === null || typeof v === 'boolean') return undefined;
  if (typeof v === 'number') {
    return Number.isFinite(v)
      ? undefined
      : { kind: PlainValueProblemKind.Type, path, message: `${named(path)}: NaN and infinities are not allowed` };
  }
  if (typeof v === 'string') {
    const n = v.length * 3 <= lim.maxString ? 0 : utf8Length(v);
    if (n > lim.maxString)
      return { kind: PlainValueProblemKind.String, path, message: `${named(path)}: a string of ${n} bytes; at most ${lim.maxString}` };
    return undefined;
  }
  if (typeof v !== 'object') return { kind: PlainValueProblemKind.Type, path, message: `${named(path)}: a ${typeof v} is not plain data` };
  const bytes = v instanceof Uint8Array ? v.length : o.bytesOf !== undefined && isPlainObject(v) ? o.bytesOf(v) : undefined;
  if (bytes !== undefined) {
    if (bytes > lim.maxString) {
      return {
        kind: PlainValueProblemKind.String,
        path,
        message: `${named(path)}: a byte string of ${bytes} bytes; at most ${lim.maxString}`,
      };
    }
    return undefined;
  }
  const level = depth + 1;
  if (level > lim.maxDepth) {
    return {
      kind: PlainValueProblemKind.Depth,
      path,
      message: `${named(path)}: nested ${level} levels deep in the message; at most ${lim.maxDepth}`,
    };
  }
  if (Array.isArray(v)) {
    if (v.length > lim.maxItems) {
      return {
        kind: PlainValueProblemKind.Items,
        path,
        message: `${named(path)}: an array of ${v.length} entries; at most ${lim.maxItems}`,
      };
    }
    for (let i = 0; i < v.length; i++) {
      const p = check(v[i], lim, join(path, i), level, o);
      if (p !== undefined) return p;
    }
    return undefined;
  }
  if (!isPlainObject(v)) return { kind: PlainValueProblemKind.Type, path, message: `${named(path)}: not plain data` };
  const keys = Object.keys(v);
  if (keys.length > lim.maxItems) {
    return { kind: PlainValueProblemKind.Items, path, message: `${named(path)}: a map of ${keys.length} entries; at most ${lim.maxItems}` };
  }
  for (const k of keys) {
    const at = join(path, k);
    const item = v[k];
    if (RESERVED_KEYS.has(k) && !(o.mergePatch === true && item === null)) {
      return { kind: PlainValueProblemKind.Key, path: at, message: `${at}: the key "${k}" is reserved (SPEC.md §3.2)` };
    }
    if (k.length * 3 > lim.maxString && utf8Length(k) > lim.maxString) {
      return {
        kind: PlainValueProblemKind.String,
        path: at,
        message: `${named(path)}: a key of ${utf8Length(k)} bytes; at most ${lim.maxString}`,
      };
    }
    const p = check(item, lim, at, level, o);
    if (p !== undefined) return p;
  }
  return undefined;
}
