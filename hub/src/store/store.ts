// The contract between the hub and its storage engine: everything the hub asks of
// storage, and nothing about how an engine keeps it. Two engines implement it:
// SQLite (sqlite-store.ts: the writer thread plus a read-only connection) and
// PostgreSQL (postgres/postgres-store.ts); docs/architecture.md, Storage engines,
// says what each adds. Both keep these promises (store-conformance.test.ts):
//
// - Ordered writes: named operations take effect in the order they were asked for,
//   and a device frame queued before an operation is stored (or its batch has failed)
//   before the operation runs, so e.g. updateDevice right after `ingest` returns the
//   new lastSeq. Frames queued after an operation may be stored before it or after.
// - ACK only after commit: `committed` reports a batch only once it is durable; the
//   device gateway acknowledges nothing before (SPEC.md §2.4, §5).
// - Exactly once by device sequence: a batch raises each device's durable sequence
//   number in the same transaction as its data, so a resend at or below it is
//   acknowledged, never stored again; frames of a device deleted meanwhile are
//   dropped, not stored.
//
// Every read and write returns a promise (an engine may only have asynchronous I/O).
// Engine specifics (pragmas, the telemetry frame log and its compaction, pools) stay
// inside the implementation; the hub sees them only as events and figures.

import type { AlarmCounts, AlarmRule, EventInfo, JsonObject, PresenceInfo } from '@halyard/firmware-protocol';
import type { AlarmStep } from '../alarms/lifecycle.js';
import type { HubError } from '../errors.js';
import type { BucketAccumulator } from '../telemetry/buckets.js';
import type { AlarmQuery, AlarmRecord, NewAlarm } from './alarms.js';
import type { CommandQuery, CommandRecord, NewCommand, Transition } from './commands.js';
import type { DashboardRecord } from './dashboards.js';
import type { DeviceUpdateRecord, NewDeviceUpdate, UpdateStatusOutcome, UpdateTransition } from './device-updates.js';
import type { DevicePatch, DeviceRecord, NewDevice, Touch } from './devices.js';
import type { EventQuery, NewEvent, NewPresence } from './events.js';
import type { FirmwareRecord, NewFirmware } from './firmware.js';
import type { IngestResult } from './ingest.js';
import type { IntegratorAcl, IntegratorRecord } from './integrators.js';
import type { JobChange, JobCount, JobDeviceChange, JobDeviceRecord, JobDeviceState, JobRecord, NewJob } from './jobs.js';
import type { ModelProfileRecord } from './model-profiles.js';
import type { AuditEntry, AuditQuery, AuditRecord, OperatorPatch, OperatorRecord, SessionRecord } from './operators.js';
import type { Points, PointValue } from './telemetry/blocks.js';
import type { Quarantined } from './telemetry/quarantine.js';
import type { LatestPoint, SeriesRef } from './telemetry/query.js';
import type { ReportedOutcome, TwinState } from './twins.js';
import type { DeliveryAttempt, DeliveryQuery, DeliveryRecord, DueDelivery, NewDelivery, WebhookRecord } from './webhooks.js';

export type {
  AlarmQuery,
  AlarmRecord,
  AlarmStep,
  AuditEntry,
  AuditQuery,
  AuditRecord,
  CommandQuery,
  CommandRecord,
  DeliveryAttempt,
  DeliveryQuery,
  DeliveryRecord,
  DevicePatch,
  DeviceRecord,
  DeviceUpdateRecord,
  DueDelivery,
  EventQuery,
  FirmwareRecord,
  IngestResult,
  IntegratorAcl,
  IntegratorRecord,
  JobChange,
  JobCount,
  JobDeviceChange,
  JobDeviceRecord,
  JobDeviceState,
  JobRecord,
  LatestPoint,
  ModelProfileRecord,
  NewAlarm,
  NewCommand,
  NewDelivery,
  NewDevice,
  NewDeviceUpdate,
  NewEvent,
  NewFirmware,
  NewJob,
  NewPresence,
  OperatorPatch,
  OperatorRecord,
  Points,
  PointValue,
  Quarantined,
  ReportedOutcome,
  SeriesRef,
  SessionRecord,
  Touch,
  Transition,
  TwinState,
  UpdateStatusOutcome,
  UpdateTransition,
  WebhookRecord,
};

/**
 * The named write operations, each one transaction, as the arguments it takes and
 * the result `Store.op` resolves to. Errors reject as HubError with the codes of
 * hub/src/errors.ts (DeviceUnknown, IdempotencyConflict, ...), whatever the engine.
 */
export interface StoreOps {
  createDevice: (args: NewDevice) => DeviceRecord;
  updateDevice: (args: { id: string; patch: DevicePatch }) => DeviceRecord;
  /** Deletes the device with its commands, twin, series and history; its frames still queued are dropped. */
  deleteDevice: (args: { id: string }) => DeviceRecord;
  setSecret: (args: { id: string; secretHash: Uint8Array; unrevoke: boolean }) => DeviceRecord;
  revokeDevice: (args: { id: string; at: number }) => DeviceRecord;
  /** `caps` as declared in HELLO; absent means none ([]). */
  recordHello: (args: { rowid: number; firmware: string; model: string; boot: number | null; caps?: string[] }) => void;
  touchDevices: (args: Touch[]) => void;
  /** Rows of devices deleted meanwhile are dropped. */
  recordPresence: (args: NewPresence[]) => void;
  insertEvent: (args: NewEvent) => number;

  createOperator: (args: {
    username: string;
    passwordHash: string;
    role: 'admin' | 'operator' | 'viewer';
    createdAt: number;
  }) => OperatorRecord;
  /** Disabling or demoting ends the operator's sessions in the same transaction. */
  updateOperator: (args: { username: string; patch: OperatorPatch }) => OperatorRecord;
  deleteOperator: (args: { username: string }) => void;
  createSession: (args: { tokenHash: Uint8Array; username: string; createdAt: number; expiresAt: number }) => void;
  deleteSession: (args: { tokenHash: Uint8Array }) => void;
  audit: (args: AuditEntry) => void;

  /**
   * Creates a queued command, or returns the one the same caller (`createdBy`)
   * created with the same idempotency key less than `keyTtl` ms before (`created`
   * false); the same key for a different request is IdempotencyConflict. Refuses with
   * QueueFull at `maxOpen` open commands, DeviceUnknown for a deleted device.
   */
  createCommand: (args: { command: NewCommand; maxOpen: number; keyTtl: number }) => { command: CommandRecord; created: boolean };
  /** Moves the state machine does not allow are skipped; the result holds the commands that moved. */
  transitionCommands: (args: Transition[]) => CommandRecord[];
  /** Merge-patches desired (RFC 7396) if `ifMatch` is the current version; VersionMismatch otherwise; TooLarge for a result over the twin limits. */
  patchDesired: (args: { device: number; patch: JsonObject; ifMatch: number | undefined; now: number; maxFrame: number }) => TwinState;

  createIntegrator: (args: IntegratorRecord) => IntegratorRecord;
  deleteIntegrator: (args: { username: string }) => void;

  /** Creates or replaces a model's profile. */
  putModelProfile: (args: ModelProfileRecord & { max: number }) => ModelProfileRecord;
  /** Removes a model's profile; false when it had none. */
  deleteModelProfile: (args: { model: string }) => boolean;

  /** Creates or replaces an operator's dashboard. */
  putDashboard: (args: DashboardRecord) => DashboardRecord;

  /**
   * Starts a firmware image's upload (docs/firmware.md). FirmwareExists when the model
   * and version exist, finished or being uploaded; an upload that wrote nothing since
   * `staleBefore` is dropped and replaced.
   */
  beginFirmware: (args: { image: NewFirmware; staleBefore: number }) => FirmwareRecord;
  /**
   * Chunk `n` of an image being uploaded; FirmwareUnknown when the image was deleted
   * meanwhile, FirmwareLibraryFull when all images would hold more than `maxTotal`
   * bytes (the library passes --firmware-max-total; absent, no total is checked).
   */
  putFirmwareChunk: (args: { image: number; n: number; data: Uint8Array; at: number; maxTotal?: number }) => void;
  /** Marks an upload complete with its size, digest and signature (null: unsigned). */
  finishFirmware: (args: { image: number; size: number; sha256: Uint8Array; signature: Uint8Array | null }) => FirmwareRecord;
  /** FirmwareUnknown; FirmwareInUse while a device update that is not over uses the image. */
  deleteFirmware: (args: { id: string }) => FirmwareRecord;
  /** Stores `value` under `key` in the hub's meta table unless one is there; resolves to the stored value. */
  initMeta: (args: { key: string; value: string }) => string;

  /** Starts a device's update (state offered, attempt 1); UpdateInProgress, DeviceUnknown, FirmwareUnknown. */
  createDeviceUpdate: (args: NewDeviceUpdate) => DeviceUpdateRecord;
  /** A hub decision on an update (SPEC.md §12.5); null when it is over or not in a `from` state. */
  transitionUpdate: (args: UpdateTransition) => DeviceUpdateRecord | null;

  /** Creates or replaces an alarm rule (README.md § Alarms and notifications). */
  putAlarmRule: (args: AlarmRule) => AlarmRule;
  /** A new alarm rule unless `max` exist (QueueFull), counted in the same transaction so that no two hubs or requests pass the cap together. */
  createAlarmRule: (args: { rule: AlarmRule; max: number }) => AlarmRule;
  /** Rewrites an existing rule; AlarmRuleUnknown when it is gone (a deletion on another hub is not undone). */
  replaceAlarmRule: (args: AlarmRule) => AlarmRule;
  /** AlarmRuleUnknown. The rule's alarms stay (the evaluator clears those still open). */
  deleteAlarmRule: (args: { id: string }) => AlarmRule;
  /** Raises an alarm unless its (rule, device) has one not cleared: then that one (`created` false). DeviceUnknown. */
  raiseAlarm: (args: NewAlarm) => { alarm: AlarmRecord; created: boolean };
  /** Acknowledges, clears or notes a flap (alarms/lifecycle.ts); AlarmUnknown, AlarmState (cleared already, acknowledged twice). */
  stepAlarm: (args: AlarmStep) => AlarmRecord;

  /** Creates or replaces a webhook (README.md § Alarms and notifications). */
  putWebhook: (args: WebhookRecord) => WebhookRecord;
  /** A new webhook unless `max` exist (QueueFull), counted in the same transaction as createAlarmRule. */
  createWebhook: (args: { webhook: WebhookRecord; max: number }) => WebhookRecord;
  /** Rewrites an existing webhook; WebhookUnknown when it is gone. */
  replaceWebhook: (args: WebhookRecord) => WebhookRecord;
  /** WebhookUnknown. Its deliveries go with it. */
  deleteWebhook: (args: { id: string }) => WebhookRecord;
  /** Queues deliveries due now; those of a webhook holding `maxPending` pending (or deleted) are dropped, counted by webhook. */
  enqueueDeliveries: (args: { deliveries: NewDelivery[]; maxPending: number }) => { queued: number; dropped: Record<string, number> };
  /** One attempt's outcome; a delivery no longer pending is left as it is. */
  recordAttempt: (args: DeliveryAttempt) => void;
  /** Removes finished deliveries that finished before `before`; how many. */
  pruneDeliveries: (args: { before: number }) => number;

  /** Creates a fleet job, running, in stage 0 (docs/jobs.md). */
  createJob: (args: NewJob) => JobRecord;
  /** JobUnknown; null when the job is over or not in a `from` state. */
  changeJob: (args: JobChange) => JobRecord | null;
  /** Takes devices into a job as pending (deleted devices and devices it holds already are left out); resolves to how many were new. */
  enrollJobDevices: (args: { job: number; devices: { device: number; deviceId: string; stage: number }[]; now: number }) => number;
  /** Moves a job's devices (each only from its `from` states, or from any open state); resolves to the rows that moved. */
  changeJobDevices: (args: { job: number; changes: JobDeviceChange[]; now: number }) => JobDeviceRecord[];
}

export type StoreOpName = keyof StoreOps;
export type StoreOpArgs<K extends StoreOpName> = Parameters<StoreOps[K]>[0];
export type StoreOpResult<K extends StoreOpName> = ReturnType<StoreOps[K]>;

/** A committed (or failed) ingest batch, with the caller's per-frame metadata in frame order. */
export interface BatchOutcome<M> {
  result?: IngestResult;
  /** The batch failed as a whole: nothing of it is stored, no sequence number moved. */
  error?: HubError;
  metas: M[];
  frames: number;
  /** ms from the batch's first frame to the commit. */
  latencyMs: number;
}

/** What a store tells the hub without being asked. */
export interface StoreEvents<M> {
  /**
   * An ingest batch committed or failed. A device's batches report in the order its
   * frames were queued; batches of different devices may report out of that order
   * (PostgreSQL commits several side by side, postgres/group-commit.ts).
   */
  committed: [BatchOutcome<M>];
  /** A telemetry generation is now entirely readable through `blockPoints`/`latest` (the tail may drop it). */
  compacted: [number];
  /** The store cannot go on; the hub stops. */
  fatal: [Error];
  log: [{ level: 'error' | 'warn' | 'info'; msg: string; err?: { code: string; message: string; field?: string } }];
  /** Telemetry set aside that the store cannot keep in its normal form. */
  quarantined: [Quarantined[]];
  /** Background maintenance steps failed in a row (0: it works again). */
  maintenance: [number];
  /** The database server stopped or started answering (engines with a server; SQLite never emits it). */
  connection: [StoreConnection];
  /** A named operation (its name) refused at once because the engine's queue of writes is full (PostgreSQL; SQLite never emits it). */
  opRefused: [string];
}

/** Whether a store's database server answers, for /healthz, metrics and logs. */
export interface StoreConnection {
  engine: string;
  up: boolean;
  /** When `up` last changed (or the store opened), ms since the epoch. */
  since: number;
  /** The last connection error, credentials removed (kept after recovery, for the log line). */
  error: string | null;
  /** Probes made while down (on the change to up: how many it took). */
  attempts: number;
}

/** Figures for /healthz and metrics; an engine reports 0 for what it does not have. */
export interface StoreStats {
  batches: number;
  /** TELEMETRY frames stored. */
  frames: number;
  logRows: number;
  compactions: number;
  compactedRows: number;
  mergedPoints: number;
  retainedBlocks: number;
  lastCompactionMs: number;
  failures: number;
  quarantined: number;
}

/**
 * Telemetry reads. Points are kept by generation: the store reports generations up
 * to `compacted()` through these reads; newer points the hub keeps in its in-memory
 * tail (telemetry/tail.ts), filled at start from `uncompacted`.
 */
export interface TelemetryStore {
  compacted(): Promise<number>;
  seriesCount(device: number): Promise<number>;
  hasSeries(device: number, name: string): Promise<boolean>;
  /** The device's series, all (at most `limit`, in no order) or the named ones (unknown names skipped). */
  series(device: number, names?: readonly string[], limit?: number): Promise<SeriesRef[]>;
  /** Points of one series in [from, to] of generations up to `gen`, unordered. */
  blockPoints(series: number, from: number, to: number, gen: number): Promise<Points>;
  /** Adds points of generations up to `gen` in the accumulator's range to it (using summaries where it can). */
  blockBuckets(series: number, acc: BucketAccumulator, gen: number): Promise<void>;
  /** Rollups (store/telemetry/rollups.ts) hold every stored point at or after this time, ms. */
  rollupsSince(): Promise<number>;
  /**
   * Adds the series' points in the rollup buckets of `width` (a ROLLUP_WIDTHS entry)
   * that start in [acc.from, acc.to] (whole buckets, at or after rollupsSince()), from
   * its rollups and what the store holds beside them, to the accumulator; returns the
   * generation after which the hub's tail holds the rest (at least `gen`).
   */
  rollupBuckets(series: number, width: number, acc: BucketAccumulator, gen: number): Promise<number>;
  /** The newest stored point of each of the device's series, at most `limit` series. */
  latest(device: number, limit?: number): Promise<Map<string, LatestPoint>>;
  /** The same for many devices, at most `limit` rows in all; `rows` says how many were read. */
  latestMany(devices: readonly number[], limit: number): Promise<{ latest: Map<number, Map<string, LatestPoint>>; rows: number }>;
  /** Every point of generations after `compacted()`, for the tail at start. */
  uncompacted(each: (gen: number, device: number, name: string, unit: string | null, ts: number, value: PointValue) => void): Promise<void>;
}

/** Reads: each sees every write whose promise has resolved (and every committed batch). */
export interface StoreReads {
  listDevices(): Promise<DeviceRecord[]>;
  /** One device as stored now (cluster mode: another node changed it, or took its sequence further). */
  getDevice(id: string): Promise<DeviceRecord | undefined>;
  getOperator(username: string): Promise<OperatorRecord | undefined>;
  listOperators(): Promise<OperatorRecord[]>;
  countOperators(): Promise<number>;
  getSession(tokenHash: Uint8Array): Promise<SessionRecord | undefined>;
  listAudit(q: AuditQuery): Promise<AuditRecord[]>;
  getIntegrator(username: string): Promise<IntegratorRecord | undefined>;
  listIntegrators(): Promise<IntegratorRecord[]>;
  getModelProfile(model: string): Promise<ModelProfileRecord | undefined>;
  /** By model, in byte order. */
  listModelProfiles(): Promise<ModelProfileRecord[]>;
  getDashboard(username: string): Promise<DashboardRecord | undefined>;
  /** Newest first; one model's only when `model` is given. Uploads in progress included (`complete` false). */
  listFirmware(model?: string): Promise<FirmwareRecord[]>;
  getFirmware(id: string): Promise<FirmwareRecord | undefined>;
  /** Stored chunk `n` of image `image` (its rowid), or undefined. */
  firmwareChunk(image: number, n: number): Promise<Uint8Array | undefined>;
  getMeta(key: string): Promise<string | undefined>;
  getDeviceUpdate(id: string): Promise<DeviceUpdateRecord | undefined>;
  /** A device's updates, newest first. */
  listDeviceUpdates(device: number, limit: number): Promise<DeviceUpdateRecord[]>;
  /** Every update not over, oldest first. */
  openDeviceUpdates(): Promise<DeviceUpdateRecord[]>;
  getJob(id: string): Promise<JobRecord | undefined>;
  /** Newest first; `before` a job rowid, for paging. */
  listJobs(q: { before?: number; limit: number }): Promise<JobRecord[]>;
  /** Jobs not over, oldest first (what the scheduler resumes). */
  openJobs(): Promise<JobRecord[]>;
  /** Devices per stage and state. */
  jobCounts(job: number): Promise<JobCount[]>;
  /** Reasons of failed, cancelled and skipped devices, most frequent first. */
  jobReasons(job: number): Promise<{ reason: string; n: number }[]>;
  /** A job's devices in device-id byte order after `after`. */
  jobDevices(q: { job: number; state?: JobDeviceState; after?: string; limit: number }): Promise<JobDeviceRecord[]>;
  getCommand(id: string): Promise<CommandRecord | undefined>;
  /** A device's commands, newest first. */
  listCommands(q: CommandQuery): Promise<CommandRecord[]>;
  /** Every command not in a final state, oldest first (what a restarted hub resumes). */
  openCommands(): Promise<CommandRecord[]>;
  /** Open commands whose ttl (queued) or timeout (sent, accepted) ended by `now`, oldest first; at most the 1,000 longest overdue (an index, not a pass over every open command). */
  overdueCommands(now: number): Promise<CommandRecord[]>;
  readTwin(device: number): Promise<TwinState>;
  /** By id, in byte order. */
  listAlarmRules(): Promise<AlarmRule[]>;
  getAlarmRule(id: string): Promise<AlarmRule | undefined>;
  getAlarm(id: string): Promise<AlarmRecord | undefined>;
  /** Newest first. */
  listAlarms(q: AlarmQuery): Promise<AlarmRecord[]>;
  /** Every alarm not cleared, oldest first (what a restarted evaluator resumes). */
  openAlarms(): Promise<AlarmRecord[]>;
  /** Alarms not cleared, by severity. */
  countOpenAlarms(): Promise<AlarmCounts>;
  /** By id, in byte order. */
  listWebhooks(): Promise<WebhookRecord[]>;
  getWebhook(id: string): Promise<WebhookRecord | undefined>;
  /** A webhook's deliveries, newest first. */
  listDeliveries(q: DeliveryQuery): Promise<DeliveryRecord[]>;
  /** A webhook's pending deliveries due at `now`, oldest due first. */
  dueDeliveries(q: { webhook: string; now: number; limit: number }): Promise<DueDelivery[]>;
  /** When the next pending delivery is due; undefined when none is pending. */
  nextDueDelivery(): Promise<number | undefined>;
  /** Pending deliveries by webhook id. */
  pendingDeliveries(): Promise<Record<string, number>>;
  /** Newest first. */
  listEvents(q: EventQuery): Promise<EventInfo[]>;
  /** Newest first. */
  listPresence(device: number, deviceId: string, limit: number): Promise<PresenceInfo[]>;
  readonly telemetry: TelemetryStore;
}

/**
 * Storage for one hub. Opened (and migrated) by the implementation's own factory;
 * `M` is the metadata the device gateway attaches to each frame and gets back in
 * `committed`.
 */
export interface Store<M = unknown> extends StoreReads {
  /** Runs a named write operation; see StoreOps. */
  op<K extends StoreOpName>(name: K, args: StoreOpArgs<K>): Promise<StoreOpResult<K>>;

  /**
   * Queues one validated uplink frame (raw bytes as received) for the next group
   * commit; `meta` comes back, in order, in `committed`.
   */
  ingest(device: number, seq: number, now: number, type: number, bytes: Uint8Array, meta: M): void;
  /** Frames queued but not yet committed; the gateway stops reading sockets above BACKLOG_HIGH. */
  readonly backlog: number;
  /** Drops queued (not yet sent) frames of these devices, after a failed commit left a gap; their metas. */
  discardPending(devices: ReadonlySet<number>): M[];
  /** Resolves once every queued frame is committed (or failed). */
  drain(): Promise<void>;

  on<K extends keyof StoreEvents<M>>(event: K, listener: (...args: StoreEvents<M>[K]) => void): this;

  stats(): Promise<StoreStats>;
  /** Rows of telemetry set aside (quarantined), at open. */
  quarantinedCount(): Promise<number>;
  /** Bytes the database takes. */
  sizeBytes(): Promise<number>;
  /** Makes every stored telemetry point readable from compacted storage now (tests, benchmarks). */
  compactNow(): Promise<void>;
  /** Commits what is queued, then closes. */
  close(): Promise<void>;
}

/**
 * Synchronous session and operator lookups for the check every API request and
 * console message makes (http/auth.ts SessionCache, console/connection.ts). Not part
 * of Store: SQLite answers them from its read connection; an engine with only
 * asynchronous reads answers them from memory it keeps current (the bus's
 * `session.ended` says when to drop it).
 */
export interface SessionLookup {
  getSession(tokenHash: Uint8Array): SessionRecord | undefined;
  getOperator(username: string): OperatorRecord | undefined;
}

/**
 * Synchronous series reads for the series limit (telemetry/series-limit.ts), which
 * decides on the ingest path, before a frame is queued. Not part of Store: SQLite
 * answers from its read connection; an engine with only asynchronous reads answers
 * from memory it fills per device.
 */
export interface SeriesLookup {
  seriesCount(device: number): number;
  hasSeries(device: number, name: string): boolean;
}
