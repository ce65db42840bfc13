// Numbers fixed by SPEC.md: message types, close codes, subprotocols and limits.
// Everything a peer can observe on the wire is named here once.

/** WebSocket subprotocol of the device channel (SPEC.md §2). */
export const DEVICE_SUBPROTOCOL = 'halyard.v1';
/** WebSocket subprotocol of the console channel (SPEC.md §10). */
export const CONSOLE_SUBPROTOCOL = 'halyard.console.v1';
/** Path of the device channel. */
export const DEVICE_PATH = '/v1/device';
/** Path of the console channel. */
export const CONSOLE_PATH = '/v1/console';
/** The protocol version a HELLO must carry. */
export const PROTOCOL_VERSION = 1;

/** Message type numbers (SPEC.md §4). */
export const MessageType = {
  Hello: 1,
  Welcome: 2,
  Telemetry: 3,
  Ack: 4,
  Event: 5,
  Command: 6,
  CmdAccepted: 7,
  CmdResult: 8,
  Desired: 9,
  Reported: 10,
  UpdateOffer: 11,
  ChunkRequest: 12,
  Chunk: 13,
  UpdateStatus: 14,
  Error: 15,
  UpdateCancel: 16,
} as const;
export type MessageTypeNumber = (typeof MessageType)[keyof typeof MessageType];

/** Messages a device sends. */
export const UPLINK_TYPES: ReadonlySet<number> = new Set([
  MessageType.Hello,
  MessageType.Telemetry,
  MessageType.Event,
  MessageType.CmdAccepted,
  MessageType.CmdResult,
  MessageType.Reported,
  MessageType.ChunkRequest,
  MessageType.UpdateStatus,
]);
/** Messages the hub sends. */
export const DOWNLINK_TYPES: ReadonlySet<number> = new Set([
  MessageType.Welcome,
  MessageType.Ack,
  MessageType.Command,
  MessageType.Desired,
  MessageType.Error,
  MessageType.UpdateOffer,
  MessageType.Chunk,
  MessageType.UpdateCancel,
]);

/** WebSocket close codes (SPEC.md §8). */
export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  InternalError: 1011,
  Malformed: 4400,
  Unauthorized: 4401,
  Revoked: 4403,
  HelloTimeout: 4408,
  Replaced: 4409,
  TooLarge: 4413,
  RateLimited: 4429,
} as const;
export type CloseCodeNumber = (typeof CloseCode)[keyof typeof CloseCode];

/** CMD_RESULT status values (SPEC.md §6.3). */
export const CommandStatus = { Succeeded: 0, Failed: 1, Rejected: 2 } as const;
export type CommandStatusNumber = (typeof CommandStatus)[keyof typeof CommandStatus];

/** EVENT levels (SPEC.md §5.3): 0 debug, 1 info, 2 warning, 3 error. */
export const EventLevel = { Debug: 0, Info: 1, Warning: 2, Error: 3 } as const;

/** Decoding limits (SPEC.md §9). Every one is a MUST for receivers. */
export interface Limits {
  /** Largest message in bytes; the hub announces its own in WELCOME. */
  maxFrame: number;
  /** Deepest nesting of arrays and maps; the message array itself is level 1. */
  maxDepth: number;
  /** Most entries in one array or map. */
  maxItems: number;
  /** Longest text or byte string, in bytes. */
  maxString: number;
  /** Longest identifier (device id, command id and name, event name, fw, model, session), in bytes. */
  maxIdentifier: number;
  /** Most records in one SenML pack. */
  maxRecords: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxFrame: 65_536,
  maxDepth: 16,
  maxItems: 4_096,
  maxString: 16_384,
  maxIdentifier: 128,
  maxRecords: 1_000,
});

/**
 * Map keys refused anywhere in a message (SPEC.md §3.2): they would alter an object's
 * prototype chain in some consumer. The decoder and checkPlainValue() share this list.
 */
export const RESERVED_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** Largest integer the protocol carries: 2^53 - 1, so every value survives a JavaScript or JSON peer. */
export const MAX_INTEGER = Number.MAX_SAFE_INTEGER;

/**
 * SenML times below 2^28 seconds are relative to "now" (RFC 8428 §4.5.3).
 */
export const SENML_RELATIVE_LIMIT = 2 ** 28;

/**
 * Resolved times (SenML records, EVENT) must fall in [TIME_MIN_MS, TIME_MAX_MS):
 * 1970-01-01T00:00:00Z up to, not including, 2200-01-01T00:00:00Z (SPEC.md §5.2).
 * Stores keep times as 64-bit integers of ms; a finite but absurd time (1e300 s)
 * cannot be stored, so it is refused where it arrives, not where it is stored.
 */
export const TIME_MIN_MS = 0;
export const TIME_MAX_MS = 7_258_118_400_000;

/** True when `ms` is an integer time inside the protocol's range. */
export function timeInRange(ms: number): boolean {
  return Number.isInteger(ms) && ms >= TIME_MIN_MS && ms < TIME_MAX_MS;
}
