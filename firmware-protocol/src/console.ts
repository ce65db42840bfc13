// The console channel (SPEC.md §10): CBOR maps with text keys, field `t` names the
// message. decodeConsoleRequest() is what the hub runs on every frame from a browser.

import type { AlarmInfo } from './alarm-types.js';
import type { CommandInfo, DeviceInfo, EventInfo, HubStats, PresenceInfo, Role, TelemetryPoint, TwinInfo } from './api-types.js';
import { type CborValue, decodeCbor, isCborObject as isObject } from './cbor/decode.js';
import { DEFAULT_LIMITS, type Limits, MAX_INTEGER } from './constants.js';
import { ProtocolError, ProtocolErrorCode } from './errors.js';
import type { JobProgressInfo } from './job-types.js';
import type { JsonObject, JsonValue } from './merge-patch.js';
import { DEVICE_ID_PATTERN, NAME_PATTERN } from './names.js';

export const CONSOLE_STREAMS = ['fleet', 'telemetry', 'events', 'commands', 'twins', 'stats', 'alarms', 'jobs'] as const;
export type ConsoleStream = (typeof CONSOLE_STREAMS)[number];

/** Most devices one telemetry or twins subscription may name. */
export const MAX_CONSOLE_DEVICES = 50;

export type ConsoleRequest =
  | { t: 'sub'; stream: ConsoleStream; devices?: string[] }
  | { t: 'unsub'; stream: ConsoleStream }
  | {
      t: 'command';
      req: number;
      device: string;
      name: string;
      params?: JsonValue;
      /** Duration string ("30s") or ms. */
      ttl?: string | number;
      timeout?: string | number;
      /** Idempotency key (1-128 characters), scoped to the operator, like HTTP's Idempotency-Key. */
      key?: string;
    }
  | { t: 'cancel'; req: number; command: string }
  | { t: 'twin.patch'; req: number; device: string; patch: JsonObject; ifMatch?: number };

export type ConsoleUpdate =
  | { t: 'welcome'; operator: { username: string; role: Role }; hub: { name: string; version: string }; time: number }
  | { t: 'fleet'; devices: DeviceInfo[] }
  | { t: 'device'; device: DeviceInfo }
  | { t: 'device.removed'; id: string }
  | { t: 'presence'; presence: PresenceInfo; rtt: number | null; lastSeen: number | null }
  | { t: 'telemetry'; device: string; points: TelemetryPoint[] }
  | { t: 'event'; event: EventInfo }
  | { t: 'command'; command: CommandInfo }
  | { t: 'twin'; twin: TwinInfo }
  | { t: 'stats'; stats: HubStats }
  | { t: 'alarm'; alarm: AlarmInfo }
  | { t: 'job'; job: JobProgressInfo }
  | { t: 'dropped'; stream: ConsoleStream; count: number }
  | { t: 'reply'; req: number; ok: true; command?: CommandInfo; twin?: TwinInfo }
  | { t: 'reply'; req: number; ok: false; error: { code: string; message: string; field?: string } }
  | { t: 'error'; code: number; message: string };

export type ConsoleDecodeResult = { ok: true; request: ConsoleRequest } | { ok: false; error: ProtocolError };

/**
 * The console channel carries larger documents than a device frame (twin edits), and
 * data somewhat past the device's limits (twice the depth, four times the entries and
 * string length): the hub answers such params and patches with a reply naming the
 * field (SPEC.md §10.2) instead of closing the channel, as a console cannot tell why
 * its socket closed.
 */
export const CONSOLE_LIMITS: Readonly<Limits> = Object.freeze({
  ...DEFAULT_LIMITS,
  maxFrame: 262_144,
  maxDepth: 2 * DEFAULT_LIMITS.maxDepth,
  maxItems: 4 * DEFAULT_LIMITS.maxItems,
  maxString: 4 * DEFAULT_LIMITS.maxString,
});

function fieldError(field: string, message: string): ConsoleDecodeResult {
  return { ok: false, error: new ProtocolError(ProtocolErrorCode.Field, message, field) };
}

/** JSON-compatible data only: the console edits JSON documents. */
function isJson(v: CborValue, depth = 0): boolean {
  if (depth > 32) return false;
  if (v === null || typeof v === 'boolean' || typeof v === 'number' || typeof v === 'string') return true;
  if (Array.isArray(v)) return v.every((x) => isJson(x, depth + 1));
  if (isObject(v)) return Object.values(v).every((x) => isJson(x, depth + 1));
  return false;
}

function isReq(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= MAX_INTEGER;
}

function isDuration(v: unknown): v is string | number {
  return (typeof v === 'number' && Number.isInteger(v) && v >= 0) || (typeof v === 'string' && v.length > 0 && v.length <= 16);
}

/** Decodes and checks one frame from a console. Never throws. */
export function decodeConsoleRequest(bytes: Uint8Array, limits: Limits = CONSOLE_LIMITS): ConsoleDecodeResult {
  // Reserved keys are kept (as own properties) for the hub to refuse with a reply, or to
  // accept with null in a merge patch, which removes one already stored (SPEC.md §10.2).
  const cbor = decodeCbor(bytes, limits, { keepReservedKeys: true });
  if (!cbor.ok) return cbor;
  const m = cbor.value;
  if (!isObject(m) || typeof m.t !== 'string') {
    return { ok: false, error: new ProtocolError(ProtocolErrorCode.Envelope, 'a console message must be a map with a text field "t"') };
  }
  switch (m.t) {
    case 'sub':
    case 'unsub': {
      if (!CONSOLE_STREAMS.includes(m.stream as ConsoleStream)) return fieldError('stream', `must be one of ${CONSOLE_STREAMS.join(', ')}`);
      const stream = m.stream as ConsoleStream;
      if (m.t === 'unsub') return { ok: true, request: { t: 'unsub', stream } };
      if (m.devices === undefined) return { ok: true, request: { t: 'sub', stream } };
      if (!Array.isArray(m.devices) || m.devices.length > MAX_CONSOLE_DEVICES) {
        return fieldError('devices', `must be an array of at most ${MAX_CONSOLE_DEVICES} device ids`);
      }
      if (!m.devices.every((d) => typeof d === 'string' && DEVICE_ID_PATTERN.test(d))) return fieldError('devices', 'must hold device ids');
      return { ok: true, request: { t: 'sub', stream, devices: m.devices as string[] } };
    }
    case 'command': {
      if (!isReq(m.req)) return fieldError('req', 'must be an unsigned integer');
      if (typeof m.device !== 'string' || !DEVICE_ID_PATTERN.test(m.device)) return fieldError('device', 'must be a device id');
      if (typeof m.name !== 'string' || !NAME_PATTERN.test(m.name)) return fieldError('name', 'must be a command name');
      if (m.params !== undefined && !isJson(m.params)) return fieldError('params', 'must be JSON-compatible data');
      if (m.ttl !== undefined && !isDuration(m.ttl)) return fieldError('ttl', 'must be a duration');
      if (m.timeout !== undefined && !isDuration(m.timeout)) return fieldError('timeout', 'must be a duration');
      if (m.key !== undefined && (typeof m.key !== 'string' || m.key.length === 0 || m.key.length > 128)) {
        return fieldError('key', 'must be 1-128 characters');
      }
      const request: ConsoleRequest = { t: 'command', req: m.req, device: m.device, name: m.name };
      if (m.params !== undefined) request.params = m.params as JsonValue;
      if (m.ttl !== undefined) request.ttl = m.ttl as string | number;
      if (m.timeout !== undefined) request.timeout = m.timeout as string | number;
      if (m.key !== undefined) request.key = m.key as string;
      return { ok: true, request };
    }
    case 'cancel':
      if (!isReq(m.req)) return fieldError('req', 'must be an unsigned integer');
      if (typeof m.command !== 'string' || m.command.length === 0 || m.command.length > 128)
        return fieldError('command', 'must be a command id');
      return { ok: true, request: { t: 'cancel', req: m.req, command: m.command } };
    case 'twin.patch': {
      if (!isReq(m.req)) return fieldError('req', 'must be an unsigned integer');
      if (typeof m.device !== 'string' || !DEVICE_ID_PATTERN.test(m.device)) return fieldError('device', 'must be a device id');
      if (!isObject(m.patch) || !isJson(m.patch)) return fieldError('patch', 'must be a JSON merge patch (a map)');
      const request: ConsoleRequest = { t: 'twin.patch', req: m.req, device: m.device, patch: m.patch as JsonObject };
      if (m.ifMatch !== undefined) {
        if (!isReq(m.ifMatch)) return fieldError('ifMatch', 'must be a version number');
        request.ifMatch = m.ifMatch;
      }
      return { ok: true, request };
    }
    default:
      return {
        ok: false,
        error: new ProtocolError(ProtocolErrorCode.UnknownType, `unknown console message "${String(m.t).slice(0, 32)}"`),
      };
  }
}
