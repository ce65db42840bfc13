// Plain CBOR data to JSON and back for storage and the API: byte strings become
// {"$base64": "..."} (SPEC.md §3.4), everything else maps one to one.

import type { Data, JsonValue } from '@halyard/firmware-protocol';

/**
 * Sets own property `k`. A "__proto__" key (which the hub refuses to send, SPEC.md §3.2)
 * must stay a key, so that the check before sending sees it, rather than replace `out`'s prototype.
 */
function put<T>(out: Record<string, T>, k: string, v: T): void {
  if (k === '__proto__') Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  else out[k] = v;
}

export function dataToJson(value: Data | undefined): JsonValue {
  if (value === undefined) return null;
  if (value instanceof Uint8Array) return { $base64: Buffer.from(value).toString('base64') };
  if (Array.isArray(value)) return value.map(dataToJson);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, JsonValue> = {};
    for (const [k, v] of Object.entries(value)) put(out, k, dataToJson(v));
    return out;
  }
  return value;
}

/** The length in bytes of the byte string `value` stands for when it is {"$base64": "..."}, else undefined. */
export function base64Bytes(value: Readonly<Record<string, unknown>>): number | undefined {
  const keys = Object.keys(value);
  return keys.length === 1 && keys[0] === '$base64' && typeof value.$base64 === 'string'
    ? Buffer.byteLength(value.$base64, 'base64')
    : undefined;
}

/** JSON back to plain data: {"$base64": "..."} objects become byte strings again. */
export function jsonToData(value: JsonValue): Data {
  if (Array.isArray(value)) return value.map(jsonToData);
  if (value !== null && typeof value === 'object') {
    if (base64Bytes(value) !== undefined) return new Uint8Array(Buffer.from(value.$base64 as string, 'base64'));
    const keys = Object.keys(value);
    const out: Record<string, Data> = {};
    for (const k of keys) put(out, k, jsonToData(value[k] as JsonValue));
    return out;
  }
  return value;
}
