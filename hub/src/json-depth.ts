// How deeply JSON nests. Validation (zod's recursive schemas) and encoding recurse
// once per level, so a body of a few kilobytes of `[[[[...` overflows the stack
// (a 500) unless its depth is checked first, without recursing.

/**
 * Deepest JSON a request (HTTP body or MQTT payload) may nest, in levels: far more
 * than any document the hub keeps (twins: 8; anything sent to a device: 16 with the
 * message itself, SPEC.md §9), far less than what breaks a recursive validator.
 */
export const MAX_JSON_DEPTH = 32;

/**
 * Nesting depth of arrays and objects in JSON text (`1` for `[1]`, `0` for `1`),
 * reading no further once it passes `stopAbove`. Strings are skipped, so brackets
 * inside them do not count. Text that is not JSON gives some number; JSON.parse
 * refuses it afterwards.
 */
export function jsonTextDepth(text: string, stopAbove = MAX_JSON_DEPTH): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 0x5c)
        i++; // backslash: skip the escaped character
      else if (ch === 0x22) inString = false;
    } else if (ch === 0x22) inString = true;
    else if (ch === 0x5b || ch === 0x7b) {
      depth++;
      if (depth > max) {
        max = depth;
        if (max > stopAbove) return max;
      }
    } else if (ch === 0x5d || ch === 0x7d) depth--;
  }
  return max;
}

/**
 * Nesting depth of a value: arrays, maps and plain objects are levels, byte strings
 * and scalars are not (the CBOR a device decodes, SPEC.md §9). Stops counting once
 * past `stopAbove`, so it never recurses deeper than that.
 */
export function valueDepth(value: unknown, stopAbove: number): number {
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return 0;
  if (stopAbove < 0) return 1;
  const children = value instanceof Map ? value.values() : Array.isArray(value) ? value : Object.values(value);
  let deepest = 0;
  for (const child of children) {
    deepest = Math.max(deepest, valueDepth(child, stopAbove - 1));
    if (deepest >= stopAbove) break;
  }
  return 1 + deepest;
}
