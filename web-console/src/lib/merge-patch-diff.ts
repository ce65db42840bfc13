// From "the document as it was" and "the document as the operator edited it" to the
// RFC 7396 merge patch that turns one into the other: what the twin editor sends, so
// keys the operator did not touch are not overwritten by a stale copy.

import { deepEqual, type JsonObject, type JsonValue } from '@halyard/firmware-protocol';
import { isJsonObject } from './json.ts';

/** The patch; an empty object when nothing changed. */
export function mergePatchBetween(before: JsonObject, after: JsonObject): JsonObject {
  const patch: JsonObject = {};
  for (const key of Object.keys(before)) if (!Object.hasOwn(after, key)) patch[key] = null;
  for (const [key, value] of Object.entries(after)) {
    const old = before[key];
    if (Object.hasOwn(before, key) && deepEqual(old, value)) continue;
    // Nested objects are patched key by key; anything else (arrays too) is replaced whole.
    patch[key] = isJsonObject(old) && isJsonObject(value) ? mergePatchBetween(old, value) : value;
  }
  return patch;
}

/**
 * Paths of null values: a merge patch cannot set a key to null (null deletes it), so
 * the editor refuses them rather than silently deleting keys.
 */
export function nullPaths(doc: JsonValue, path = ''): string[] {
  if (doc === null) return [path || '(the document)'];
  if (Array.isArray(doc)) return [];
  if (typeof doc !== 'object') return [];
  return Object.entries(doc).flatMap(([k, v]) => nullPaths(v, path ? `${path}.${k}` : k));
}
