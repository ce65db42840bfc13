// Parsing JSON that people type, with errors that say where.

import type { JsonObject, JsonValue } from '@halyard/firmware-protocol';

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

/** Parses `text`; an error names the line and column when the engine gives a position. */
export function parseJson(text: string): Parsed<JsonValue> {
  try {
    return { ok: true, value: JSON.parse(text) as JsonValue };
  } catch (err) {
    // V8 echoes the input after the reason (`Unexpected token '}', "{..." is not valid JSON`); keep the reason.
    const message = (err as Error).message;
    const reason = message.replace(/,\s*".*$/s, '').replace(/ in JSON at position \d+.*$/s, '');
    const m = /position (\d+)/.exec(message);
    if (m === null) return { ok: false, error: `not valid JSON: ${reason}` };
    const before = text.slice(0, Number(m[1]));
    const line = before.split('\n').length;
    const column = before.length - before.lastIndexOf('\n');
    return { ok: false, error: `not valid JSON at line ${line}, column ${column}: ${reason}` };
  }
}

export function isJsonObject(v: JsonValue | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function parseJsonObject(text: string): Parsed<JsonObject> {
  const r = parseJson(text);
  if (!r.ok) return r;
  if (!isJsonObject(r.value)) return { ok: false, error: 'must be a JSON object: { "key": value, ... }' };
  return { ok: true, value: r.value };
}

export function pretty(v: unknown): string {
  return JSON.stringify(v, null, 2) ?? 'null';
}
