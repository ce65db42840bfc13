// The protocol's typed errors. A decoder never throws: it returns one of these,
// carrying a string code (for logs and metrics) and the close code the hub sends.

import { CloseCode, type CloseCodeNumber } from './constants.js';

export const ProtocolErrorCode = {
  /** The message is empty or ends inside a data item. */
  Truncated: 'PROTO_ERR_TRUNCATED',
  /** Bytes follow the single data item. */
  TrailingBytes: 'PROTO_ERR_TRAILING_BYTES',
  /** Reserved additional information (28-30) or a break code outside an indefinite item. */
  Malformed: 'PROTO_ERR_MALFORMED_CBOR',
  /** Indefinite-length strings, arrays or maps. */
  Indefinite: 'PROTO_ERR_INDEFINITE_LENGTH',
  /** A CBOR tag (none is allowed in v1 except a leading self-describe tag 55799). */
  Tag: 'PROTO_ERR_TAG',
  /** A simple value other than false, true and null; also undefined. */
  SimpleValue: 'PROTO_ERR_SIMPLE_VALUE',
  /** An integer outside -(2^53-1) .. 2^53-1. */
  IntegerRange: 'PROTO_ERR_INTEGER_RANGE',
  /** NaN or an infinity. */
  NonFinite: 'PROTO_ERR_NON_FINITE',
  /** Nesting deeper than maxDepth. */
  Depth: 'PROTO_ERR_DEPTH',
  /** A string longer than maxString, or an array or map with more than maxItems entries. */
  Length: 'PROTO_ERR_LENGTH',
  /** A text string that is not valid UTF-8. */
  Utf8: 'PROTO_ERR_UTF8',
  /** A map key that is not allowed: wrong type, duplicate, or __proto__/constructor/prototype. */
  Key: 'PROTO_ERR_KEY',
  /** The message is not an array whose first element is a known type number. */
  Envelope: 'PROTO_ERR_ENVELOPE',
  /** A message type this side does not accept. */
  UnknownType: 'PROTO_ERR_UNKNOWN_TYPE',
  /** A field is missing, extra, or of the wrong type or range. */
  Field: 'PROTO_ERR_FIELD',
  /** A SenML pack that breaks RFC 8428 or this spec's profile of it. */
  Senml: 'PROTO_ERR_SENML',
  /** The message is larger than the receiver's maxFrame. */
  TooLarge: 'PROTO_ERR_TOO_LARGE',
} as const;
export type ProtocolErrorCodeString = (typeof ProtocolErrorCode)[keyof typeof ProtocolErrorCode];

export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  /** The close code a hub sends after an ERROR for this (SPEC.md §8.4). */
  readonly closeCode: CloseCodeNumber;
  /** The offending message's sequence number, when its envelope could be read (SPEC.md §8.3). */
  seq: number | undefined;

  constructor(
    readonly code: ProtocolErrorCodeString,
    message: string,
    /** Where in the message, e.g. `[2][0].v` or `hello.fw`. */
    readonly field?: string,
  ) {
    super(field === undefined ? message : `${field}: ${message}`);
    this.closeCode = code === ProtocolErrorCode.TooLarge ? CloseCode.TooLarge : CloseCode.Malformed;
  }
}

export function isProtocolError(value: unknown): value is ProtocolError {
  return value instanceof ProtocolError;
}
