// encode() and decode() for every device-channel message (SPEC.md §4-§7).
// decode() checks the CBOR layer, the envelope, and every field's type and range,
// and returns a fully checked message or a ProtocolError; it never throws.

import { type CborValue, decodeCbor, isCborObject as isMap, LabelMap, peekUints } from './cbor/decode.js';
import { encodeCbor, encodeWith, writeHead, writeNumber } from './cbor/encode.js';
import {
  DEFAULT_LIMITS,
  DOWNLINK_TYPES,
  type Limits,
  MAX_INTEGER,
  MessageType,
  PROTOCOL_VERSION,
  timeInRange,
  UPLINK_TYPES,
} from './constants.js';
import { ProtocolError, ProtocolErrorCode } from './errors.js';
import type { Data, DataMap, DecodedMessage, Message, Telemetry } from './messages.js';
import { COMMAND_ID_PATTERN, NAME_PATTERN } from './names.js';
import { readPack, resolveTime, writePack } from './senml.js';
import { DEVICE_UPDATE_STATES, REASON_STATES, UPDATE_JOB_PATTERN, UpdateState, type UpdateStateNumber } from './update.js';

export interface DecodeOptions {
  /** Limits to enforce; missing ones take DEFAULT_LIMITS. */
  limits?: Limits;
  /** Which side's messages to accept: a hub decodes `uplink`, a device `downlink`. */
  accept?: 'uplink' | 'downlink' | 'any';
  /** Clock for relative SenML times, ms since the epoch. */
  now?: number;
}

export type DecodeResult = { ok: true; message: DecodedMessage } | { ok: false; error: ProtocolError };

/** Messages in the device's sequence space (SPEC.md §5.5). */
const SEQ_TYPES: ReadonlySet<number> = new Set([MessageType.Telemetry, MessageType.Event, MessageType.Reported, MessageType.UpdateStatus]);

const NAMES: Record<number, string> = {
  1: 'HELLO',
  2: 'WELCOME',
  3: 'TELEMETRY',
  4: 'ACK',
  5: 'EVENT',
  6: 'COMMAND',
  7: 'CMD_ACCEPTED',
  8: 'CMD_RESULT',
  9: 'DESIRED',
  10: 'REPORTED',
  11: 'UPDATE_OFFER',
  12: 'CHUNK_REQUEST',
  13: 'CHUNK',
  14: 'UPDATE_STATUS',
  15: 'ERROR',
  16: 'UPDATE_CANCEL',
};

/** "TELEMETRY" for 3, and so on; "type N" for unknown numbers. */
export function messageName(type: number): string {
  return NAMES[type] ?? `type ${type}`;
}

class FieldFailure {
  constructor(
    readonly message: string,
    readonly field: string,
  ) {}
}

function bad(field: string, message: string): never {
  throw new FieldFailure(message, field);
}

function uint(v: CborValue | undefined, field: string, min = 0): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > MAX_INTEGER) {
    bad(field, min > 0 ? `must be an integer from ${min} to 2^53-1` : 'must be an unsigned integer');
  }
  return v;
}

function text(v: CborValue | undefined, field: string, max: number): string {
  if (typeof v !== 'string') bad(field, 'must be a text string');
  if (v.length === 0) bad(field, 'must not be empty');
  // UTF-16 length is a lower bound for UTF-8 length; measure exactly only when close.
  if (v.length > max || (v.length * 3 > max && new TextEncoder().encode(v).length > max)) {
    bad(field, `must be at most ${max} bytes`);
  }
  return v;
}

/** An identifier string (SPEC.md §3.5): text() without C0 controls or DEL (nothing an operator can read, and a terminal's hazard). */
function ident(v: CborValue | undefined, field: string, max: number): string {
  const s = text(v, field, max);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) bad(field, 'must not hold control characters (U+0000-U+001F, U+007F)');
  }
  return s;
}

function bytes(v: CborValue | undefined, field: string, min: number, max: number): Uint8Array {
  if (!(v instanceof Uint8Array)) bad(field, 'must be a byte string');
  if (v.length < min || v.length > max) bad(field, min === max ? `must be ${min} bytes` : `must be ${min} to ${max} bytes`);
  return v;
}

function job(v: CborValue | undefined, field: string): string {
  return matching(v, field, UPDATE_JOB_PATTERN, 'an update job id (SPEC.md §12.2)');
}

function matching(v: CborValue | undefined, field: string, pattern: RegExp, what: string): string {
  if (typeof v !== 'string' || !pattern.test(v)) bad(field, `must be ${what}`);
  return v;
}

/** "any" positions (SPEC.md §3.4): plain data, which rules out integer-keyed maps. */
function data(v: CborValue, field: string): Data {
  if (v instanceof LabelMap) bad(field, 'maps must have text keys');
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) data(v[i] as CborValue, `${field}[${i}]`);
  } else if (isMap(v)) {
    for (const k in v) data(v[k] as CborValue, `${field}.${k}`);
  }
  return v as Data;
}

function dataMap(v: CborValue | undefined, field: string): DataMap {
  if (!isMap(v)) bad(field, 'must be a map with text keys');
  return data(v, field) as DataMap;
}

function arity(items: CborValue[], min: number, max: number, name: string): void {
  if (items.length < min || items.length > max) {
    bad(name, min === max ? `must have ${min} elements` : `must have ${min} to ${max} elements`);
  }
}

function readMessage(items: CborValue[], opts: Required<DecodeOptions>): DecodedMessage {
  const type = items[0];
  if (typeof type !== 'number' || !Number.isInteger(type) || type < 0) {
    throw new ProtocolError(ProtocolErrorCode.Envelope, 'the first element must be the message type number');
  }
  const allowed = opts.accept === 'uplink' ? UPLINK_TYPES : opts.accept === 'downlink' ? DOWNLINK_TYPES : undefined;
  if (NAMES[type] === undefined || (allowed !== undefined && !allowed.has(type))) {
    throw new ProtocolError(
      ProtocolErrorCode.UnknownType,
      NAMES[type] === undefined ? `unknown message type ${type}` : `${NAMES[type]} is not accepted from this peer`,
    );
  }
  const name = NAMES[type] as string;
  const id = opts.limits.maxIdentifier;
  switch (type) {
    case MessageType.Hello: {
      arity(items, 2, 2, name);
      const m = items[1];
      if (!isMap(m)) bad('hello', 'must be a map');
      const proto = uint(m.proto, 'hello.proto');
      if (proto !== PROTOCOL_VERSION)
        bad('hello.proto', `protocol version ${proto} is not supported (this hub speaks ${PROTOCOL_VERSION})`);
      const hello: DecodedMessage = { type, proto, fw: ident(m.fw, 'hello.fw', id), model: ident(m.model, 'hello.model', id) };
      if (m.boot !== undefined) hello.boot = uint(m.boot, 'hello.boot');
      if (m.caps !== undefined) {
        if (!Array.isArray(m.caps) || m.caps.length > 32) bad('hello.caps', 'must be an array of at most 32 text strings');
        hello.caps = m.caps.map((c, i) => ident(c, `hello.caps[${i}]`, id));
      }
      if (m.update !== undefined) {
        if (!isMap(m.update)) bad('hello.update', 'must be a map');
        hello.update = { job: job(m.update.job, 'hello.update.job'), held: uint(m.update.held, 'hello.update.held') };
      }
      return hello;
    }
    case MessageType.Welcome: {
      arity(items, 2, 2, name);
      const m = items[1];
      if (!isMap(m)) bad('welcome', 'must be a map');
      return {
        type,
        acked: uint(m.acked, 'welcome.acked'),
        ping: uint(m.ping, 'welcome.ping', 1),
        maxFrame: uint(m.maxFrame, 'welcome.maxFrame', 1),
        time: uint(m.time, 'welcome.time'),
        session: ident(m.session, 'welcome.session', id),
      };
    }
    case MessageType.Telemetry: {
      arity(items, 3, 3, name);
      const seq = uint(items[1], 'seq', 1);
      const read = readPack(items[2] as CborValue, opts.now, opts.limits, 'pack');
      if (read instanceof ProtocolError) throw read;
      return { type, seq, pack: read.pack, records: read.records };
    }
    case MessageType.Ack:
      arity(items, 2, 2, name);
      return { type, seq: uint(items[1], 'seq') };
    case MessageType.Event: {
      arity(items, 3, 3, name);
      const seq = uint(items[1], 'seq', 1);
      const m = items[2];
      if (!isMap(m)) bad('event', 'must be a map');
      const event: DecodedMessage = { type, seq, name: matching(m.name, 'event.name', NAME_PATTERN, 'a name (SPEC.md §3.5)'), time: 0 };
      if (m.level !== undefined) {
        if (m.level !== 0 && m.level !== 1 && m.level !== 2 && m.level !== 3) bad('event.level', 'must be 0, 1, 2 or 3');
        event.level = m.level;
      }
      if (m.data !== undefined) event.data = data(m.data, 'event.data');
      if (m.t !== undefined) {
        if (typeof m.t !== 'number') bad('event.t', 'must be a number');
        event.t = m.t;
      }
      event.time = resolveTime(event.t ?? 0, opts.now);
      if (!timeInRange(event.time)) bad('event.t', 'resolved time is outside 1970-01-01 .. 2200-01-01 (SPEC.md §5.2)');
      return event;
    }
    case MessageType.Command:
      arity(items, 5, 5, name);
      return {
        type,
        id: matching(items[1], 'id', COMMAND_ID_PATTERN, 'a command id (SPEC.md §3.5)'),
        name: matching(items[2], 'name', NAME_PATTERN, 'a name (SPEC.md §3.5)'),
        params: data(items[3] as CborValue, 'params'),
        deadline: uint(items[4], 'deadline'),
      };
    case MessageType.CmdAccepted:
      arity(items, 2, 2, name);
      return { type, id: matching(items[1], 'id', COMMAND_ID_PATTERN, 'a command id (SPEC.md §3.5)') };
    case MessageType.CmdResult: {
      arity(items, 3, 4, name);
      const status = items[2];
      if (status !== 0 && status !== 1 && status !== 2) bad('status', 'must be 0 (succeeded), 1 (failed) or 2 (rejected)');
      const result: DecodedMessage = { type, id: matching(items[1], 'id', COMMAND_ID_PATTERN, 'a command id (SPEC.md §3.5)'), status };
      if (items.length === 4) result.body = data(items[3] as CborValue, 'body');
      return result;
    }
    case MessageType.Desired:
      arity(items, 3, 3, name);
      return { type, version: uint(items[1], 'version'), desired: dataMap(items[2], 'desired') };
    case MessageType.Reported:
      arity(items, 3, 3, name);
      return { type, seq: uint(items[1], 'seq', 1), patch: dataMap(items[2], 'patch') };
    case MessageType.UpdateOffer: {
      arity(items, 2, 2, name);
      const m = items[1];
      if (!isMap(m)) bad('offer', 'must be a map');
      const offer: DecodedMessage = {
        type,
        job: job(m.job, 'offer.job'),
        model: ident(m.model, 'offer.model', id),
        fw: ident(m.fw, 'offer.fw', id),
        size: uint(m.size, 'offer.size', 1),
        sha256: bytes(m.sha256, 'offer.sha256', 32, 32),
        chunk: uint(m.chunk, 'offer.chunk', 1),
      };
      if (offer.chunk > opts.limits.maxString) bad('offer.chunk', `must be at most ${opts.limits.maxString} (SPEC.md §12.3)`);
      if (m.sig !== undefined) offer.sig = bytes(m.sig, 'offer.sig', 64, 64);
      return offer;
    }
    case MessageType.ChunkRequest: {
      arity(items, 4, 4, name);
      const length = uint(items[3], 'length', 1);
      if (length > opts.limits.maxString) bad('length', `must be at most ${opts.limits.maxString} (SPEC.md §12.3)`);
      return { type, job: job(items[1], 'job'), offset: uint(items[2], 'offset'), length };
    }
    case MessageType.Chunk:
      arity(items, 4, 4, name);
      return { type, job: job(items[1], 'job'), offset: uint(items[2], 'offset'), data: bytes(items[3], 'data', 1, opts.limits.maxString) };
    case MessageType.UpdateStatus: {
      arity(items, 3, 3, name);
      const seq = uint(items[1], 'seq', 1);
      const m = items[2];
      if (!isMap(m)) bad('status', 'must be a map');
      const state = m.state;
      if (typeof state !== 'number' || !DEVICE_UPDATE_STATES.has(state)) {
        bad('status.state', 'must be a state a device sends: 1-9 or 11 (SPEC.md §12.5)');
      }
      const status: DecodedMessage = { type, seq, job: job(m.job, 'status.job'), state: state as UpdateStateNumber };
      if (m.progress !== undefined) status.progress = uint(m.progress, 'status.progress');
      else if (state === UpdateState.Downloading) bad('status.progress', 'is required with downloading');
      if (m.reason !== undefined) status.reason = uint(m.reason, 'status.reason');
      else if (REASON_STATES.has(state)) bad('status.reason', 'is required with failed, rejected and rolled_back');
      if (m.detail !== undefined) status.detail = text(m.detail, 'status.detail', id);
      return status;
    }
    case MessageType.UpdateCancel:
      arity(items, 2, 2, name);
      return { type, job: job(items[1], 'job') };
    default: {
      arity(items, 3, 4, name);
      const error: DecodedMessage = {
        type: MessageType.Error,
        code: uint(items[1], 'code'),
        message: typeof items[2] === 'string' ? items[2] : bad('message', 'must be a text string'),
      };
      if (items.length === 4) error.seq = uint(items[3], 'seq', 1);
      return error;
    }
  }
}

/**
 * Decodes one device-channel message. Never throws; on any violation returns the
 * first ProtocolError found, with the field it concerns.
 */
export function decode(bytes: Uint8Array, options: DecodeOptions = {}): DecodeResult {
  const opts: Required<DecodeOptions> = {
    limits: options.limits ?? DEFAULT_LIMITS,
    accept: options.accept ?? 'any',
    now: options.now ?? Date.now(),
  };
  const cbor = decodeCbor(bytes, opts.limits);
  if (!cbor.ok) return refused(cbor.error, bytes);
  const items = cbor.value;
  if (!Array.isArray(items) || items.length === 0) {
    return { ok: false, error: new ProtocolError(ProtocolErrorCode.Envelope, 'a message must be a non-empty array') };
  }
  try {
    return { ok: true, message: readMessage(items, opts) };
  } catch (err) {
    let error: ProtocolError;
    if (err instanceof FieldFailure) error = new ProtocolError(ProtocolErrorCode.Field, err.message, err.field);
    else if (err instanceof ProtocolError) error = err;
    else error = new ProtocolError(ProtocolErrorCode.Field, `validation failure: ${String(err)}`);
    return refused(error, bytes);
  }
}

/**
 * Names the refused message by its seq whenever its first bytes show one, whatever
 * broke later in it (a tag, trailing bytes, its size): the device drops exactly that
 * message from its buffer (SPEC.md §8.3).
 */
function refused(error: ProtocolError, bytes: Uint8Array): DecodeResult {
  const prefix = peekUints(bytes, 2);
  if (prefix !== undefined && SEQ_TYPES.has(prefix[0] as number) && (prefix[1] as number) >= 1) error.seq = prefix[1];
  return { ok: false, error };
}

function writeTelemetry(message: Telemetry): void {
  writeHead(4, 3);
  writeNumber(message.type);
  writeNumber(message.seq);
  writePack(message.pack);
}

/** Encodes one device-channel message in the layout of SPEC.md §4. */
export function encode(message: Message): Uint8Array {
  switch (message.type) {
    case MessageType.Hello:
      return encodeCbor([
        message.type,
        {
          proto: message.proto,
          fw: message.fw,
          model: message.model,
          boot: message.boot,
          caps: message.caps,
          update: message.update && { job: message.update.job, held: message.update.held },
        },
      ]);
    case MessageType.Welcome:
      return encodeCbor([
        message.type,
        { acked: message.acked, ping: message.ping, maxFrame: message.maxFrame, time: message.time, session: message.session },
      ]);
    case MessageType.Telemetry:
      return encodeWith(writeTelemetry, message);
    case MessageType.Ack:
      return encodeCbor([message.type, message.seq]);
    case MessageType.Event:
      return encodeCbor([message.type, message.seq, { name: message.name, level: message.level, data: message.data, t: message.t }]);
    case MessageType.Command:
      return encodeCbor([message.type, message.id, message.name, message.params, message.deadline]);
    case MessageType.CmdAccepted:
      return encodeCbor([message.type, message.id]);
    case MessageType.CmdResult:
      return encodeCbor(
        message.body === undefined ? [message.type, message.id, message.status] : [message.type, message.id, message.status, message.body],
      );
    case MessageType.Desired:
      return encodeCbor([message.type, message.version, message.desired]);
    case MessageType.Reported:
      return encodeCbor([message.type, message.seq, message.patch]);
    case MessageType.Error:
      return encodeCbor(
        message.seq === undefined
          ? [message.type, message.code, message.message]
          : [message.type, message.code, message.message, message.seq],
      );
    case MessageType.UpdateOffer:
      return encodeCbor([
        message.type,
        {
          job: message.job,
          model: message.model,
          fw: message.fw,
          size: message.size,
          sha256: message.sha256,
          chunk: message.chunk,
          sig: message.sig,
        },
      ]);
    case MessageType.ChunkRequest:
      return encodeCbor([message.type, message.job, message.offset, message.length]);
    case MessageType.Chunk:
      return encodeCbor([message.type, message.job, message.offset, message.data]);
    case MessageType.UpdateStatus:
      return encodeCbor([
        message.type,
        message.seq,
        { job: message.job, state: message.state, progress: message.progress, reason: message.reason, detail: message.detail },
      ]);
    case MessageType.UpdateCancel:
      return encodeCbor([message.type, message.job]);
  }
}
