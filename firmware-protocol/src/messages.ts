// The device channel's messages as TypeScript types: the single source of truth that
// the hub, the simulator and the console import (SPEC.md §5-§7).

import type { CommandStatusNumber, MessageType } from './constants.js';
import type { UpdateStateNumber } from './update.js';

/** Plain CBOR data ("any" in SPEC.md §3.4): no tags, no integer map keys. */
export type Data = null | boolean | number | string | Uint8Array | Data[] | DataMap;
export interface DataMap {
  [key: string]: Data;
}

/** One SenML record with RFC 8428's labels as field names (SPEC.md §5.2). */
export interface SenmlRecord {
  bver?: number;
  bn?: string;
  bt?: number;
  bu?: string;
  bv?: number;
  bs?: number;
  n?: string;
  u?: string;
  v?: number;
  vs?: string;
  vb?: boolean;
  vd?: Uint8Array;
  s?: number;
  t?: number;
  ut?: number;
}

/** A SenML record after base values and relative times are resolved (RFC 8428 §4.6). */
export interface ResolvedRecord {
  name: string;
  /** Milliseconds since the Unix epoch. */
  time: number;
  unit?: string;
  value?: number;
  stringValue?: string;
  boolValue?: boolean;
  dataValue?: Uint8Array;
  sum?: number;
}

export interface Hello {
  type: typeof MessageType.Hello;
  proto: number;
  fw: string;
  model: string;
  boot?: number;
  caps?: string[];
  /** What the device holds of an update in progress, so the hub resumes it (SPEC.md §12.4). */
  update?: HelloUpdate;
}

export interface HelloUpdate {
  job: string;
  /** Bytes of the image the device holds, from offset 0. */
  held: number;
}

export interface Welcome {
  type: typeof MessageType.Welcome;
  /** Highest durable sequence number of this device, 0 if none. */
  acked: number;
  /** The hub's ping interval in seconds. */
  ping: number;
  /** Largest message the hub accepts, in bytes. */
  maxFrame: number;
  /** The hub's clock, ms since the epoch. */
  time: number;
  session: string;
}

export interface Telemetry {
  type: typeof MessageType.Telemetry;
  seq: number;
  pack: SenmlRecord[];
}

export interface Ack {
  type: typeof MessageType.Ack;
  seq: number;
}

export interface DeviceEvent {
  type: typeof MessageType.Event;
  seq: number;
  name: string;
  /** 0 debug, 1 info (the default), 2 warning, 3 error. */
  level?: 0 | 1 | 2 | 3;
  data?: Data;
  /** SenML time in seconds: absolute, or relative to now below 2^28. */
  t?: number;
}

export interface Command {
  type: typeof MessageType.Command;
  id: string;
  name: string;
  params: Data;
  /** ms since the epoch (hub clock) after which the device must not start the command. */
  deadline: number;
}

export interface CmdAccepted {
  type: typeof MessageType.CmdAccepted;
  id: string;
}

export interface CmdResult {
  type: typeof MessageType.CmdResult;
  id: string;
  status: CommandStatusNumber;
  body?: Data;
}

export interface Desired {
  type: typeof MessageType.Desired;
  version: number;
  desired: DataMap;
}

export interface Reported {
  type: typeof MessageType.Reported;
  seq: number;
  /** RFC 7396 merge patch against the device's last reported document. */
  patch: DataMap;
}

export interface ErrorMessage {
  type: typeof MessageType.Error;
  /** The close code that follows. */
  code: number;
  message: string;
  /** The sequence number of the message that caused it, when the hub could read one. */
  seq?: number;
}

/** A firmware image offered to the device (SPEC.md §12.2). */
export interface UpdateOffer {
  type: typeof MessageType.UpdateOffer;
  job: string;
  /** The model the image is built for. */
  model: string;
  /** The version the device reports in HELLO's `fw` once it runs the image. */
  fw: string;
  /** Image size in bytes. */
  size: number;
  /** SHA-256 of the whole image, 32 bytes. */
  sha256: Uint8Array;
  /** Largest `length` a CHUNK_REQUEST may ask for. */
  chunk: number;
  /** Ed25519 signature of signedBytes() (SPEC.md §12.8), 64 bytes; absent for unsigned images. */
  sig?: Uint8Array;
}

/** The device asks for `length` bytes of the image at `offset` (SPEC.md §12.3). */
export interface ChunkRequest {
  type: typeof MessageType.ChunkRequest;
  job: string;
  offset: number;
  length: number;
}

/** Bytes of the image at `offset` (SPEC.md §12.3). */
export interface Chunk {
  type: typeof MessageType.Chunk;
  job: string;
  offset: number;
  data: Uint8Array;
}

/** Where the device is with an update; in the sequence space (SPEC.md §12.5). */
export interface UpdateStatus {
  type: typeof MessageType.UpdateStatus;
  seq: number;
  job: string;
  state: UpdateStateNumber;
  /** Bytes held, from offset 0. */
  progress?: number;
  /** Required with failed, rejected and rolled_back (SPEC.md §12.6). */
  reason?: number;
  /** Free text for operators, at most 128 bytes. */
  detail?: string;
}

/** The hub withdraws an update (SPEC.md §12.9). */
export interface UpdateCancel {
  type: typeof MessageType.UpdateCancel;
  job: string;
}

export type UplinkMessage = Hello | Telemetry | DeviceEvent | CmdAccepted | CmdResult | Reported | ChunkRequest | UpdateStatus;
export type DownlinkMessage = Welcome | Ack | Command | Desired | ErrorMessage | UpdateOffer | Chunk | UpdateCancel;
export type Message = UplinkMessage | DownlinkMessage;

/** TELEMETRY as decode() returns it: the pack plus its resolved records. */
export interface DecodedTelemetry extends Telemetry {
  records: ResolvedRecord[];
}
/** EVENT as decode() returns it: with its time resolved to ms since the epoch. */
export interface DecodedEvent extends DeviceEvent {
  time: number;
}

type Decoded<M> = M extends Telemetry ? DecodedTelemetry : M extends DeviceEvent ? DecodedEvent : M;
export type DecodedMessage = Decoded<Message>;
export type DecodedUplink = Decoded<UplinkMessage>;
export type DecodedDownlink = Decoded<DownlinkMessage>;
