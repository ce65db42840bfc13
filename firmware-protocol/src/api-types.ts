// Shapes the hub hands to operators, in the HTTP API (JSON) and the console channel
// (CBOR). The web console imports these; the hub builds them.

import type { JsonObject, JsonValue } from './merge-patch.js';
import type { UpdateStateName } from './update.js';

export type Role = 'admin' | 'operator' | 'viewer';

export interface OperatorInfo {
  username: string;
  role: Role;
  disabled: boolean;
  createdAt: number;
}

export interface DeviceInfo {
  id: string;
  name: string | null;
  model: string | null;
  firmware: string | null;
  tags: string[];
  createdAt: number;
  revoked: boolean;
  online: boolean;
  /** ms since the epoch of the last frame or pong, null if never seen. */
  lastSeen: number | null;
  /** Round-trip time of the last ping, ms. */
  rtt: number | null;
  /** When the current session began, null when offline. */
  connectedAt: number | null;
  /** Highest durable sequence number. */
  lastSeq: number;
  pendingCommands: number;
  /** What the device declared in its last HELLO `caps` (SPEC.md §5.1); [] if none. */
  caps: string[];
}

export type PresenceReason =
  | 'connected'
  | 'closed'
  | 'timeout'
  | 'replaced'
  | 'revoked'
  | 'error'
  | 'rate_limited'
  | 'too_large'
  | 'malformed'
  | 'hello_timeout'
  | 'shutdown';

export interface PresenceInfo {
  device: string;
  online: boolean;
  reason: PresenceReason;
  /** WebSocket close code when offline. */
  code: number | null;
  at: number;
}

export const COMMAND_STATES = [
  'queued',
  'sent',
  'accepted',
  'succeeded',
  'failed',
  'rejected',
  'expired',
  'timed_out',
  'cancelled',
] as const;
export type CommandState = (typeof COMMAND_STATES)[number];
export const FINAL_COMMAND_STATES: ReadonlySet<CommandState> = new Set([
  'succeeded',
  'failed',
  'rejected',
  'expired',
  'timed_out',
  'cancelled',
]);

export interface CommandInfo {
  id: string;
  device: string;
  name: string;
  params: JsonValue;
  state: CommandState;
  /** The caller's idempotency key (HTTP Idempotency-Key, MQTT `id`), if any. */
  key: string | null;
  createdAt: number;
  createdBy: string;
  /** ms the command may wait for delivery. */
  ttl: number;
  /** ms the device has for a result once the command is sent. */
  timeout: number;
  result: JsonValue | null;
  error: string | null;
  history: { state: CommandState; at: number }[];
}

/** A firmware update of one device (docs/firmware.md; SPEC.md §12 names its states and reasons). */
export interface UpdateInfo {
  /** The job id the device sees in UPDATE_OFFER. */
  id: string;
  device: string;
  /** The image's id; null once a finished update's image was deleted. */
  firmware: string | null;
  /** The fleet job it belongs to; null for a single-device update. */
  job: string | null;
  state: UpdateStateName;
  /** Bytes the device holds. */
  progress: number;
  /** The image's size in bytes; null once its image was deleted. */
  size: number | null;
  /** SPEC.md §12.6 reason name and code. */
  reason: string | null;
  reasonCode: number | null;
  detail: string | null;
  fromFw: string | null;
  toFw: string;
  attempts: number;
  createdAt: number;
  createdBy: string;
  updatedAt: number;
  finishedAt: number | null;
}

export interface TwinInfo {
  device: string;
  desired: JsonObject;
  desiredVersion: number;
  reported: JsonObject;
  reportedVersion: number;
  /** Desired keys whose value differs from reported. */
  delta: JsonObject;
  /** Per top-level key, when it last changed (ms). */
  desiredUpdated: Record<string, number>;
  reportedUpdated: Record<string, number>;
}

export interface EventInfo {
  id: number;
  device: string;
  name: string;
  level: number;
  data: JsonValue | null;
  time: number;
  receivedAt: number;
}

export interface TelemetryPoint {
  name: string;
  time: number;
  value?: number;
  stringValue?: string;
  boolValue?: boolean;
  unit?: string;
}

export interface HubStats {
  time: number;
  connectedDevices: number;
  consoles: number;
  mqttClients: number;
  framesInPerSec: number;
  framesOutPerSec: number;
  ackLatencyP50: number;
  ackLatencyP99: number;
  eventLoopLagMs: number;
  dbBytes: number;
  bridges: { url: string; state: string; queued: number; dropped: number }[];
  /** Cluster mode: the node that answered (--node-id). */
  node?: string;
  /** Cluster mode: every node that reported within the last few seconds, this one included, by node id. */
  nodes?: NodeStats[];
}

/** One node of a cluster, as it last reported itself (README.md, Running a cluster). */
export interface NodeStats {
  node: string;
  /** Runs the singleton work (retention, discovery, bridges). */
  leader: boolean;
  /** ms since the epoch of this report. */
  time: number;
  connectedDevices: number;
  consoles: number;
  mqttClients: number;
  framesInPerSec: number;
  framesOutPerSec: number;
  ackLatencyP99: number;
  eventLoopLagMs: number;
  /** Whether the node reaches Redis and PostgreSQL now. */
  redis: boolean;
  postgres: boolean;
}

export interface ApiErrorBody {
  error: { code: string; message: string; field?: string };
}

/** A value type in a model profile: of a command parameter or a desired key. */
export type ProfileValueType = 'number' | 'string' | 'boolean' | 'enum';

/** One command parameter or desired key of a model profile, with what an editor checks. */
export interface ProfileField {
  name: string;
  type: ProfileValueType;
  /** Numbers: the range allowed, inclusive. */
  min?: number;
  max?: number;
  /** Enums: the values allowed. */
  values?: string[];
  /** A SenML unit (`Cel`, `%RH`, `s`), shown next to the field. */
  unit?: string;
  required?: boolean;
}

/** A command a model carries out; `params` describes its parameters as an object. */
export interface ProfileCommand {
  name: string;
  description?: string;
  params: ProfileField[];
}

/** How a model's metric is shown: the unit to label it with and the decimals to print. */
export interface ProfileMetric {
  name: string;
  unit?: string;
  decimals?: number;
  label?: string;
}

/** What operators know of a hardware model (README.md § HTTP API, model profiles). */
export interface ModelProfileDoc {
  commands: ProfileCommand[];
  metrics: ProfileMetric[];
  desired: ProfileField[];
}

export interface ModelProfile extends ModelProfileDoc {
  model: string;
  /** null for a model nobody has described yet (every list empty). */
  updatedAt: number | null;
  updatedBy: string | null;
}

/** A panel of an operator's dashboard (README.md § Web console, dashboards). */
export type DashboardPanel =
  | { kind: 'chart'; title: string; metric: string; devices: string[]; minutes: number }
  | { kind: 'count'; title: string; by: 'status' | 'tag' }
  | { kind: 'events'; title: string; limit: number }
  | { kind: 'value'; title: string; device: string; metric: string; warn?: number; alarm?: number; below?: boolean };

/** An operator's home page: a list of panels, kept on the hub per operator. */
export interface DashboardDoc {
  panels: DashboardPanel[];
}

export interface SavedDashboard extends DashboardDoc {
  /** null while the operator has saved none (panels then empty). */
  updatedAt: number | null;
}
