// Bytes <-> messages on the console channel (SPEC.md §10). Hub messages are decoded
// with cbor-x (fast on a 5,000-device fleet snapshot); console messages are encoded
// with the protocol package's encoder, whose output is exactly the CBOR profile the
// hub's strict decoder accepts (no tags, no undefined), so a console can never send a
// frame that gets it closed with 4400.

import { type ConsoleRequest, type ConsoleUpdate, type Encodable, encodeCbor } from '@halyard/firmware-protocol';
// The no-eval build: the default one probes `new Function` at load, which the hub's
// Content-Security-Policy refuses (and reports as an error on every page load).
import { Decoder, type Options } from 'cbor-x/decode-no-eval';

// Records (cbor-x's own extension) are never sent by the hub; plain maps become objects;
// times in ms need 64-bit heads, which must decode to numbers, not BigInt (the protocol
// keeps every integer within 2^53, SPEC.md §3.2).
// int64AsNumber is a cbor-x option its type declarations leave out.
const decoder = new Decoder({ useRecords: false, mapsAsObjects: true, int64AsNumber: true } as Options & { int64AsNumber: boolean });

const UPDATE_TYPES: ReadonlySet<string> = new Set([
  'welcome',
  'fleet',
  'device',
  'device.removed',
  'presence',
  'telemetry',
  'event',
  'command',
  'twin',
  'stats',
  'alarm',
  'job',
  'dropped',
  'reply',
  'error',
]);

/** A hub message, or undefined for bytes that are not one (ignored: a newer hub may add types). */
export function decodeUpdate(bytes: Uint8Array): ConsoleUpdate | undefined {
  let value: unknown;
  try {
    value = decoder.decode(bytes);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const t = (value as { t?: unknown }).t;
  return typeof t === 'string' && UPDATE_TYPES.has(t) ? (value as ConsoleUpdate) : undefined;
}

export function encodeRequest(request: ConsoleRequest): Uint8Array {
  // ConsoleRequest holds only plain data; its object types lack Encodable's index signature.
  return encodeCbor(request as unknown as Encodable);
}
