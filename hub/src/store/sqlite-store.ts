// The Store (store.ts) on SQLite: the writer thread (writer-thread.ts) for every
// write and ingest batch, the main thread's read-only connection (reader.ts) for
// reads. SQLite reads are synchronous and cheap on this connection; they are
// offered as promises because the contract is asynchronous for every engine.

import type { AlarmCounts, AlarmRule, EventInfo, PresenceInfo } from '@halyard/firmware-protocol';
import type { BucketAccumulator } from '../telemetry/buckets.js';
import * as alarms from './alarms.js';
import { getCommand, listCommands, openCommands, overdueCommands } from './commands.js';
import { type DashboardRecord, getDashboard } from './dashboards.js';
import { type DeviceUpdateRecord, getDeviceUpdate, listDeviceUpdates, openDeviceUpdates } from './device-updates.js';
import { getDevice, listDevices } from './devices.js';
import { listEvents, listPresence } from './events.js';
import { type FirmwareRecord, firmwareChunk, getFirmware, getMeta, listFirmware } from './firmware.js';
import { getIntegrator, listIntegrators } from './integrators.js';
import * as jobs from './jobs.js';
import { getModelProfile, listModelProfiles, type ModelProfileRecord } from './model-profiles.js';
import { countOperators, getOperator, getSession, listAudit, listOperators } from './operators.js';
import { Reader } from './reader.js';
import type {
  AuditQuery,
  AuditRecord,
  CommandQuery,
  CommandRecord,
  DeviceRecord,
  EventQuery,
  IntegratorRecord,
  OperatorRecord,
  SeriesLookup,
  SessionLookup,
  SessionRecord,
  Store,
  StoreEvents,
  StoreOpArgs,
  StoreOpName,
  StoreOpResult,
  StoreStats,
  TelemetryStore,
  TwinState,
} from './store.js';
import type { TelemetryReader } from './telemetry/query.js';
import { readTwin } from './twins.js';
import * as webhooks from './webhooks.js';
import { WriterThread, type WriterThreadOptions } from './writer-thread.js';

/** The telemetry reads of one SQLite read connection, as the Store's TelemetryStore. */
export function sqliteTelemetry(r: TelemetryReader): TelemetryStore {
  return {
    compacted: async () => r.compacted(),
    seriesCount: async (device) => r.seriesCount(device),
    hasSeries: async (device, name) => r.hasSeries(device, name),
    series: async (device, names, limit) => r.series(device, names, limit),
    blockPoints: async (series, from, to, gen) => {
      const into = { ts: [], values: [] };
      r.blockPoints(series, from, to, gen, into);
      return into;
    },
    blockBuckets: async (series: number, acc: BucketAccumulator, gen: number) => r.blockBuckets(series, acc, gen),
    rollupsSince: async () => r.rollupsSince(),
    rollupBuckets: async (series, width, acc, gen) => r.rollupBuckets(series, width, acc, gen),
    latest: async (device, limit) => r.latest(device, limit),
    latestMany: async (devices, limit) => r.latestMany(devices, limit),
    uncompacted: async (each) => r.uncompacted(each),
  };
}

export class SqliteStore<M = unknown> implements Store<M> {
  readonly telemetry: TelemetryStore;

  /** `thread`: the SQLite writer thread itself, for what only SQLite has (tests reach it). */
  private constructor(
    readonly thread: WriterThread<M>,
    private readonly reader: Reader,
  ) {
    this.telemetry = sqliteTelemetry(reader.telemetry);
  }

  /** Starts the writer thread (which opens and migrates the database), then opens the read connection. */
  static async open<M>(options: WriterThreadOptions): Promise<SqliteStore<M>> {
    const thread = await WriterThread.start<M>(options);
    return new SqliteStore<M>(thread, new Reader(options.path));
  }

  op<K extends StoreOpName>(name: K, args: StoreOpArgs<K>): Promise<StoreOpResult<K>> {
    return this.thread.op(name, args);
  }

  ingest(device: number, seq: number, now: number, type: number, bytes: Uint8Array, meta: M): void {
    this.thread.ingest(device, seq, now, type, bytes, meta);
  }

  get backlog(): number {
    return this.thread.backlog;
  }

  discardPending(devices: ReadonlySet<number>): M[] {
    return this.thread.discardPending(devices);
  }

  drain(): Promise<void> {
    return this.thread.drain();
  }

  on<K extends keyof StoreEvents<M>>(event: K, listener: (...args: StoreEvents<M>[K]) => void): this {
    this.thread.on(event, listener as never);
    return this;
  }

  stats(): Promise<StoreStats> {
    return this.thread.stats();
  }

  async quarantinedCount(): Promise<number> {
    return this.reader.db.prepare('SELECT count(*) FROM telemetry_quarantine').pluck().get() as number;
  }

  async sizeBytes(): Promise<number> {
    return this.reader.sizeBytes();
  }

  compactNow(): Promise<void> {
    return this.thread.compactNow();
  }

  /** Applies retention as at `now`, all of it now (tests). */
  retainNow(now: number): Promise<void> {
    return this.thread.retainNow(now);
  }

  async close(): Promise<void> {
    try {
      await this.thread.close();
    } finally {
      this.reader.close();
    }
  }

  seriesLookup(): SeriesLookup {
    const t = this.reader.telemetry;
    return { seriesCount: (device) => t.seriesCount(device), hasSeries: (device, name) => t.hasSeries(device, name) };
  }

  sessionLookup(): SessionLookup {
    const db = this.reader.db;
    return { getSession: (tokenHash) => getSession(db, tokenHash), getOperator: (username) => getOperator(db, username) };
  }

  async listDevices(): Promise<DeviceRecord[]> {
    return listDevices(this.reader.db);
  }
  async getDevice(id: string): Promise<DeviceRecord | undefined> {
    return getDevice(this.reader.db, id);
  }
  async getOperator(username: string): Promise<OperatorRecord | undefined> {
    return getOperator(this.reader.db, username);
  }
  async listOperators(): Promise<OperatorRecord[]> {
    return listOperators(this.reader.db);
  }
  async countOperators(): Promise<number> {
    return countOperators(this.reader.db);
  }
  async getSession(tokenHash: Uint8Array): Promise<SessionRecord | undefined> {
    return getSession(this.reader.db, tokenHash);
  }
  async listAudit(q: AuditQuery): Promise<AuditRecord[]> {
    return listAudit(this.reader.db, q);
  }
  async getIntegrator(username: string): Promise<IntegratorRecord | undefined> {
    return getIntegrator(this.reader.db, username);
  }
  async listIntegrators(): Promise<IntegratorRecord[]> {
    return listIntegrators(this.reader.db);
  }
  async getModelProfile(model: string): Promise<ModelProfileRecord | undefined> {
    return getModelProfile(this.reader.db, model);
  }
  async listModelProfiles(): Promise<ModelProfileRecord[]> {
    return listModelProfiles(this.reader.db);
  }
  async listAlarmRules(): Promise<AlarmRule[]> {
    return alarms.listAlarmRules(this.reader.db);
  }
  async getAlarmRule(id: string): Promise<AlarmRule | undefined> {
    return alarms.getAlarmRule(this.reader.db, id);
  }
  async getAlarm(id: string): Promise<alarms.AlarmRecord | undefined> {
    return alarms.getAlarm(this.reader.db, id);
  }
  async listAlarms(q: alarms.AlarmQuery): Promise<alarms.AlarmRecord[]> {
    return alarms.listAlarms(this.reader.db, q);
  }
  async openAlarms(): Promise<alarms.AlarmRecord[]> {
    return alarms.openAlarms(this.reader.db);
  }
  async countOpenAlarms(): Promise<AlarmCounts> {
    return alarms.countOpenAlarms(this.reader.db);
  }
  async listWebhooks(): Promise<webhooks.WebhookRecord[]> {
    return webhooks.listWebhooks(this.reader.db);
  }
  async getWebhook(id: string): Promise<webhooks.WebhookRecord | undefined> {
    return webhooks.getWebhook(this.reader.db, id);
  }
  async listDeliveries(q: webhooks.DeliveryQuery): Promise<webhooks.DeliveryRecord[]> {
    return webhooks.listDeliveries(this.reader.db, q);
  }
  async dueDeliveries(q: { webhook: string; now: number; limit: number }): Promise<webhooks.DueDelivery[]> {
    return webhooks.dueDeliveries(this.reader.db, q);
  }
  async nextDueDelivery(): Promise<number | undefined> {
    return webhooks.nextDue(this.reader.db);
  }
  async pendingDeliveries(): Promise<Record<string, number>> {
    return webhooks.pendingByWebhook(this.reader.db);
  }
  async getDashboard(username: string): Promise<DashboardRecord | undefined> {
    return getDashboard(this.reader.db, username);
  }
  async listFirmware(model?: string): Promise<FirmwareRecord[]> {
    return listFirmware(this.reader.db, model);
  }
  async getFirmware(id: string): Promise<FirmwareRecord | undefined> {
    return getFirmware(this.reader.db, id);
  }
  async firmwareChunk(image: number, n: number): Promise<Uint8Array | undefined> {
    return firmwareChunk(this.reader.db, image, n);
  }
  async getMeta(key: string): Promise<string | undefined> {
    return getMeta(this.reader.db, key);
  }
  async getDeviceUpdate(id: string): Promise<DeviceUpdateRecord | undefined> {
    return getDeviceUpdate(this.reader.db, id);
  }
  async listDeviceUpdates(device: number, limit: number): Promise<DeviceUpdateRecord[]> {
    return listDeviceUpdates(this.reader.db, device, limit);
  }
  async openDeviceUpdates(): Promise<DeviceUpdateRecord[]> {
    return openDeviceUpdates(this.reader.db);
  }
  async getJob(id: string): Promise<jobs.JobRecord | undefined> {
    return jobs.getJob(this.reader.db, id);
  }
  async listJobs(q: { before?: number; limit: number }): Promise<jobs.JobRecord[]> {
    return jobs.listJobs(this.reader.db, q);
  }
  async openJobs(): Promise<jobs.JobRecord[]> {
    return jobs.openJobs(this.reader.db);
  }
  async jobCounts(job: number): Promise<jobs.JobCount[]> {
    return jobs.jobCounts(this.reader.db, job);
  }
  async jobReasons(job: number): Promise<{ reason: string; n: number }[]> {
    return jobs.jobReasons(this.reader.db, job);
  }
  async jobDevices(q: { job: number; state?: jobs.JobDeviceState; after?: string; limit: number }): Promise<jobs.JobDeviceRecord[]> {
    return jobs.jobDevices(this.reader.db, q);
  }
  async getCommand(id: string): Promise<CommandRecord | undefined> {
    return getCommand(this.reader.db, id);
  }
  async listCommands(q: CommandQuery): Promise<CommandRecord[]> {
    return listCommands(this.reader.db, q);
  }
  async openCommands(): Promise<CommandRecord[]> {
    return openCommands(this.reader.db);
  }

  async overdueCommands(now: number): Promise<CommandRecord[]> {
    return overdueCommands(this.reader.db, now);
  }
  async readTwin(device: number): Promise<TwinState> {
    return readTwin(this.reader.db, device);
  }
  async listEvents(q: EventQuery): Promise<EventInfo[]> {
    return listEvents(this.reader.db, q);
  }
  async listPresence(device: number, deviceId: string, limit: number): Promise<PresenceInfo[]> {
    return listPresence(this.reader.db, device, deviceId, limit);
  }
}
