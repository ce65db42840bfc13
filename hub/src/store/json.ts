// Plain CBOR data to JSON and back for storage and the API: byte strings become
// {"$base64": "..."} (SPEC.md §3.4), everything else maps one to one.

import type { Data, JsonValue } from '@halyard/firmware-protocol';

export function dataToJson(value: Data | undefined): JsonValue {
  if (value === undefined) return null;
  if (value instanceof Uint8Array) return { $base64: Buffer.from(value).toString('base64') };
  if (Array.isArray(value)) return value.map(dataToJson);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, JsonValue> = {};
    for (const [k, v] of Object.entries(value)) out[k] = dataToJson(v);
    return out;
  }
  return value;
}

/** JSON back to plain data: {"$base64": "..."} objects become byte strings again. */
export function jsonToData(value: JsonValue): Data {
  if (Array.isArray(value)) return value.map(jsonToData);
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === '$base64' && typeof value.$base64 === 'string')
      return new Uint8Array(Buffer.from(value.$base64, 'base64'));
    const out: Record<string, Data> = {};
    for (const k of keys) out[k] = jsonToData(value[k] as JsonValue);
    return out;
  }
  return value;
}
