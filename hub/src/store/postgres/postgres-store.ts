// The Store (../store.ts) on PostgreSQL: a shared database several hubs can use.
// Writes: named operations one at a time, in the order asked (each its own
// transaction, after the frames queued before it have committed), and device frames
// by group commit (group-commit.ts, ingest.ts), reported only once COMMIT has
// returned. Reads go straight to the pool. Upkeep (partitions ahead, retention,
// compaction of closed days into blocks, expired sessions) runs on a timer; every
// step is safe for two hubs at once.

import { EventEmitter } from 'node:events';
import type { ResolvedRecord } from '@halyard/firmware-protocol';
import { HubError, HubErrorCode } from '../../errors.js';
import type { AlarmQuery } from '../alarms.js';
import type { JobDeviceState } from '../jobs.js';
import type {
  AuditQuery,
  BatchOutcome,
  CommandQuery,
  EventQuery,
  SeriesLookup,
  SessionLookup,
  Store,
  StoreConnection,
  StoreEvents,
  StoreOpArgs,
  StoreOpName,
  StoreOpResult,
  StoreStats,
} from '../store.js';
import { ROLLUP_WIDTHS } from '../telemetry/rollups.js';
import type { DeliveryQuery } from '../webhooks.js';
import * as alarms from './alarms.js';
import * as commands from './commands.js';
import { type BackoffOptions, ConnectionState } from './connection-state.js';
import * as dashboards from './dashboards.js';
import * as deviceUpdates from './device-updates.js';
import * as devices from './devices.js';
import * as events from './events.js';
import * as firmware from './firmware.js';
import { GroupCommitLanes, type Pending } from './group-commit.js';
import { applyBatch } from './ingest.js';
import * as jobs from './jobs.js';
import { migrate } from './migrate.js';
import * as modelProfiles from './model-profiles.js';
import * as operators from './operators.js';
import { DAY_MS, dropPartitionsBefore, ensurePartitions } from './partitions.js';
import { pgOps } from './pg-ops.js';
import { createPool, INGEST_TIMEOUT_MS, isConnectionFault, type Pool, probeServer, query, storageError, transaction } from './pool.js';
import { RecentMover } from './recent-mover.js';
import { SeriesCache } from './series-cache.js';
import { PgSessionLookup } from './session-lookup.js';
import { type CompactionResult, compactPartitions, retireDefaultRows } from './telemetry-compaction.js';
import { PgTelemetryReads } from './telemetry-reads.js';
import { type MoveResult, VACUUM_EVERY_MS } from './telemetry-recent.js';
import { applyTelemetryStatement } from './telemetry-statement.js';
import * as twins from './twins.js';
import * as webhooks from './webhooks.js';

export interface PostgresStoreOptions<M = unknown> {
  /** postgres://user:password@host:port/database */
  url: string;
  /** Pool connections (default 10). */
  poolSize?: number;
  /** Longest a frame waits before its batch is sent, ms. */
  commitIntervalMs: number;
  /** A batch is sent at once when it holds this many frames. */
  maxBatchFrames: number;
  maxFrame: number;
  /** Telemetry, events and presence older than this are dropped, ms; 0 keeps everything. */
  retentionMs: number;
  /** Telemetry rollups older than this are dropped, ms; 0 or absent keeps them all. */
  retentionRollupsMs?: number;
  /** How often upkeep runs, ms (default an hour; 0: never, tests call `maintain`). */
  maintenanceIntervalMs?: number;
  /**
   * How often recent telemetry rows are moved into packs, ms (telemetry-recent.ts;
   * default a second; 0: never, tests call `moveRecent`).
   */
  recentMoveMs?: number;
  /**
   * Connections that store device frames at once (default INGEST_CONNECTIONS, one),
   * each with its own group commit; a device always uses the same one
   * (group-commit.ts, GroupCommitLanes).
   */
  ingestConnections?: number;
  /**
   * Named operations waiting or running at most (default 10,000); past it `op`
   * refuses at once with HUB_ERR_UNAVAILABLE until half have gone (see `op`).
   */
  maxQueuedOps?: number;
  /**
   * A TELEMETRY frame's records from its meta, when the caller has already decoded
   * them (the gateway has, to validate the frame): the store then does not decode
   * the frame again on the hub's one thread (telemetry-statement.ts).
   */
  records?: (meta: M) => readonly ResolvedRecord[] | undefined;
  /** Probe delays while the server is unreachable (connection-state.ts). */
  reconnect?: BackoffOptions;
}

/** Figures of this engine beside StoreStats. */
export interface PostgresIngestStats {
  batches: number;
  frames: number;
  duplicates: number;
  dropped: number;
  failures: number;
}

/**
 * Default of `ingestConnections`: one. Frames that arrive while a batch commits go
 * in the next, so with one lane a busy hub's batches are bigger and fewer, and cost
 * less per frame: fewer statements to run and commit, fewer ACKs (one per device
 * per batch), fewer rows of telemetry_recent and marks raised per device. Against
 * four lanes, at 28,000 1-record frames/s from 1,000 devices the hub used 0.61
 * of a core instead of 0.74 and the server 0.22 instead of 0.39; the ACK p99
 * moved within the noise between repeats (README.md, Benchmarks).
 */
export const INGEST_CONNECTIONS = 1;

/**
 * Default of `maxQueuedOps`. Operations run one at a time, a transaction each (about
 * a millisecond when the server answers), so 10,000 is seconds of work, and at most
 * a few MB of arguments held; with the server unreachable each waits for its
 * connection to fail (up to the 10 s connect timeout), and without a bound a flood
 * of API calls or reconnecting devices would grow the queue for as long as that lasts.
 */
export const MAX_QUEUED_OPS = 10_000;

export class PostgresStore<M = unknown> extends EventEmitter<StoreEvents<M>> implements Store<M> {
  readonly telemetry: PgTelemetryReads;
  readonly ingestStats: PostgresIngestStats = { batches: 0, frames: 0, duplicates: 0, dropped: 0, failures: 0 };
  private readonly series = new SeriesCache();
  private readonly sessions = new PgSessionLookup();
  /** Devices known to have their device_seq row: their telemetry can take the one-statement way (telemetry-statement.ts). */
  private readonly marked = new Set<number>();
  private readonly commits: GroupCommitLanes<M>;
  /** The tail of the chain named operations run on, one after another. */
  private opChain: Promise<unknown> = Promise.resolve();
  /** Named operations accepted and not yet settled. */
  private queuedOps = 0;
  /** Refusing operations: the queue reached maxQueuedOps and has not yet drained to half. */
  private refusingOps = false;
  /** Operations refused because the queue was full, since open. */
  opsRefused = 0;
  private maintenanceTimer: NodeJS.Timeout | undefined;
  private recentTimer: NodeJS.Timeout | undefined;
  /** Moves recent rows into packs, in a thread of its own (recent-mover.ts). */
  private readonly mover: RecentMover;
  /** The move of recent rows running, if any (moveRecent). */
  private moving: Promise<unknown> = Promise.resolve();
  /** Whether the last move failed (logged once until one works). */
  private moveFailing = false;
  /** When telemetry_recent was last vacuumed, and whether rows were moved since (telemetry-recent.ts, VACUUM_EVERY_MS). */
  private vacuumedAt = performance.now();
  private movedSinceVacuum = false;
  /** Where the next scheduled slice starts: at this device (telemetry-recent.ts, moveRecent). */
  private moveFrom = 0;
  /** The telemetry compaction running, if any (compactTelemetry). */
  private compaction: Promise<unknown> = Promise.resolve();
  private failingSteps = 0;
  private closed = false;
  private readonly link: ConnectionState;

  private constructor(
    private readonly pool: Pool,
    private readonly options: PostgresStoreOptions<M>,
  ) {
    super();
    this.telemetry = new PgTelemetryReads(pool);
    this.mover = new RecentMover(options.url);
    this.commits = new GroupCommitLanes<M>(options.ingestConnections ?? INGEST_CONNECTIONS, options, (b) => this.commitBatch(b));
    this.link = new ConnectionState(
      options.url,
      () => probeServer(options.url),
      (state) => this.emit('connection', state),
      options.reconnect,
    );
  }

  /** Whether the server answers now, since when, and the last connection error (without credentials). */
  get connection(): StoreConnection {
    return this.link.state;
  }

  /** Notes what a call to the server says about the connection, and passes its outcome on. */
  private watch<T>(p: Promise<T>): Promise<T> {
    const epoch = this.link.epoch;
    return p.then(
      (v) => {
        this.link.answered();
        return v;
      },
      (err: unknown) => {
        if (isConnectionFault(err)) this.link.down(err, epoch);
        throw err;
      },
    );
  }

  /** Connects, applies the migrations (under an advisory lock) and makes the partitions ahead. */
  static async open<M>(options: PostgresStoreOptions<M>): Promise<PostgresStore<M>> {
    const pool = createPool(options.url, { max: options.poolSize ?? 10 });
    let store: PostgresStore<M> | undefined;
    // Every idle connection reports the server going away: the state changes once,
    // and the store reports that (one line, not one per connection).
    pool.on('error', (err) => store?.link.down(err));
    try {
      await migrate(pool);
      await ensurePartitions(pool, Date.now());
      store = new PostgresStore<M>(pool, options);
      await store.series.load(pool);
      await store.sessions.load(pool, Date.now());
    } catch (err) {
      await pool.end().catch(() => {});
      throw storageError(err, 'opening the PostgreSQL database');
    }
    store.scheduleMove(options.recentMoveMs ?? 1000);
    const every = options.maintenanceIntervalMs ?? 3_600_000;
    if (every > 0) {
      store.maintenanceTimer = setInterval(() => void store?.maintain(Date.now()), every);
      store.maintenanceTimer.unref();
    }
    return store;
  }

  // --- writes -------------------------------------------------------------------

  /**
   * Runs a named operation after those asked before it and the frames queued before
   * it. Bounded: with maxQueuedOps waiting or running (a server that answers slowly
   * or not at all), it refuses at once with HUB_ERR_UNAVAILABLE, counts the refusal
   * (`opsRefused`, the 'opRefused' event the hub turns into a metric) and logs only
   * the change of state, until the queue has drained to half (so the state does not
   * flap at the edge).
   */
  op<K extends StoreOpName>(name: K, args: StoreOpArgs<K>): Promise<StoreOpResult<K>> {
    if (this.closed) return Promise.reject(new HubError(HubErrorCode.Unavailable, 'the store is closed'));
    const max = this.options.maxQueuedOps ?? MAX_QUEUED_OPS;
    if (!this.refusingOps && this.queuedOps >= max) {
      this.refusingOps = true;
      this.emit('log', {
        level: 'error',
        msg: `PostgreSQL write queue full (${this.queuedOps} operations waiting): refusing writes with ${HubErrorCode.Unavailable} until ${Math.floor(max / 2)} or fewer wait`,
      });
    }
    if (this.refusingOps) {
      this.opsRefused++;
      this.emit('opRefused', name);
      return Promise.reject(
        new HubError(
          HubErrorCode.Unavailable,
          `the store has ${this.queuedOps} writes waiting for PostgreSQL (at most ${max}); retry later`,
        ),
      );
    }
    this.queuedOps++;
    const barrier = this.commits.barrier();
    const run = async (): Promise<StoreOpResult<K>> => {
      await barrier;
      const out = await this.watch(transaction(this.pool, name, (c) => pgOps[name](c, args)));
      if (name === 'deleteDevice') {
        const rowid = (out as StoreOpResult<'deleteDevice'>).rowid;
        this.series.forgetDevice(rowid);
        this.marked.delete(rowid);
      }
      this.sessions.apply(name, args, out);
      return out;
    };
    const p = this.opChain.then(run, run);
    this.opChain = p.catch(() => {});
    const settled = () => {
      this.queuedOps--;
      if (this.refusingOps && this.queuedOps <= Math.floor(max / 2)) {
        this.refusingOps = false;
        this.emit('log', {
          level: 'info',
          msg: `PostgreSQL write queue down to ${this.queuedOps}: accepting writes again (${this.opsRefused} refused so far)`,
        });
      }
    };
    p.then(settled, settled);
    return p;
  }

  ingest(device: number, seq: number, now: number, type: number, bytes: Uint8Array, meta: M): void {
    this.commits.add({ device, seq, now, type, bytes }, meta);
  }

  get backlog(): number {
    return this.commits.backlog;
  }

  discardPending(devices: ReadonlySet<number>): M[] {
    return this.commits.discard(devices);
  }

  drain(): Promise<void> {
    return this.commits.barrier();
  }

  private async commitBatch(b: Pending<M>): Promise<void> {
    const outcome: BatchOutcome<M> = { metas: b.metas, frames: b.frames.length, latencyMs: 0 };
    const recordsOf = this.options.records;
    try {
      const result = await this.watch(
        applyTelemetryStatement(this.pool, b.id, b.frames, this.series, this.marked, recordsOf && ((i) => recordsOf(b.metas[i] as M))).then(
          (fast) =>
            fast ??
            transaction(this.pool, 'storing device frames', (c) => applyBatch(c, b.id, b.frames, this.options.maxFrame, this.series), {
              queryTimeoutMs: INGEST_TIMEOUT_MS,
            }),
        ),
      );
      for (const [device] of result.seqs) this.marked.add(device);
      for (const s of result.newSeries) this.series.set(s.device, s.name, { id: s.id, unit: s.unit });
      this.ingestStats.batches++;
      this.ingestStats.frames += result.frames;
      this.ingestStats.duplicates += result.duplicates;
      this.ingestStats.dropped += result.dropped;
      const { newSeries: _n, duplicates: _d, dropped: _x, ...plain } = result;
      outcome.result = plain;
    } catch (err) {
      this.ingestStats.failures++;
      outcome.error = err instanceof HubError ? err : (storageError(err, 'storing device frames') as HubError);
    }
    outcome.latencyMs = performance.now() - b.firstAt;
    try {
      this.emit('committed', outcome);
      // Committed points are readable at once: the hub's tail may let go of them.
      if (outcome.result) this.emit('compacted', 0);
    } catch (err) {
      this.emit('log', { level: 'error', msg: `a committed-batch listener threw: ${(err as Error).message}` });
    }
  }

  /**
   * Moves recent telemetry rows into packs now, one slice (upkeep does every
   * recentMoveMs); `wait`: after another hub's move rather than skipping.
   */
  moveRecent(wait = false, from = 0): Promise<MoveResult> {
    const run = this.moving.then(() => this.watch(this.mover.move(wait, from)));
    this.moving = run.catch(() => {});
    return run;
  }

  /**
   * Moves recent rows while the server answers: a round of slices through the
   * devices every `every` ms, each slice after a pause as long as the last one took,
   * so that moving takes at most about half of the time (and of a core, and of the
   * server's WAL) however far behind it is.
   */
  private scheduleMove(every: number, after = every): void {
    if (every <= 0 || this.closed) return;
    this.recentTimer = setTimeout(() => {
      // While the server is unreachable the connection state reports it; nothing to move then.
      if (!this.link.state.up) {
        this.scheduleMove(every);
        return;
      }
      const started = performance.now();
      this.moveRecent(false, this.moveFrom).then(
        (r) => {
          if (this.moveFailing) {
            this.emit('log', { level: 'info', msg: 'moving recent telemetry works again' });
            this.moveFailing = false;
          }
          // One line a move, however many rows: a fault that spoils every row must not flood the log.
          const first = r.corrupt[0];
          if (first !== undefined)
            this.emit('log', {
              level: 'error',
              msg:
                `${r.corrupt.length} telemetry_recent row(s) could not be read and were set aside in telemetry_recent_quarantine ` +
                `(the first of device ${first.device}, ${first.bytes} bytes: ${first.error})`,
            });
          if (r.rows > 0) this.movedSinceVacuum = true;
          if (this.movedSinceVacuum && performance.now() - this.vacuumedAt >= VACUUM_EVERY_MS) {
            this.movedSinceVacuum = false;
            this.vacuumedAt = performance.now();
            this.moving = this.moving.then(() => this.watch(this.mover.vacuum())).catch(() => {});
          }
          // The round goes on from the last device moved (rows of it may be left), or starts again.
          this.moveFrom = r.more ? r.last : 0;
          this.scheduleMove(every, r.more ? performance.now() - started : every);
        },
        (err: unknown) => {
          // One line when moving starts failing and one when it works again, not one a second.
          if (!isConnectionFault(err)) {
            if (!this.moveFailing)
              this.emit('log', { level: 'warn', msg: `moving recent telemetry failed (retried every round): ${(err as Error).message}` });
            this.moveFailing = true;
          }
          this.scheduleMove(every);
        },
      );
    }, after);
    this.recentTimer.unref();
  }

  /**
   * Compacts the day partitions closed long enough at `now` into blocks (maintain()
   * does; tests and the storage check call it with a later `now`).
   */
  compactTelemetry(now: number): Promise<CompactionResult> {
    // One at a time: a large day can outlast the upkeep interval. Recent rows are
    // moved into packs first, so that a day's points are all in its partition.
    const run = this.compaction.then(async () => {
      while ((await this.moveRecent(true)).more);
      return this.watch(compactPartitions(this.pool, now));
    });
    this.compaction = run.catch(() => {});
    return run;
  }

  /** Partitions ahead, retention, compaction of closed days, expired sessions. Safe to run on several hubs at once. */
  async maintain(now: number): Promise<void> {
    try {
      await ensurePartitions(this.pool, now);
      // Compaction first: it adds the points to the rollups, which outlive them. Days
      // retention is about to drop are compacted even when younger than compaction
      // waits for (a --retention under two days).
      const dropBefore = this.options.retentionMs > 0 ? Math.floor((now - this.options.retentionMs) / DAY_MS) * DAY_MS : 0;
      await this.compactTelemetry(Math.max(now, dropBefore + DAY_MS));
      if (this.options.retentionMs > 0) {
        const cutoff = now - this.options.retentionMs;
        // Whole days only: a partition goes once its last point is past the cutoff.
        await retireDefaultRows(this.pool, dropBefore);
        await dropPartitionsBefore(this.pool, dropBefore);
        await query(this.pool, 'pruning telemetry blocks', 'DELETE FROM telemetry_blocks WHERE t1 < $1', [
          Math.floor(cutoff / DAY_MS) * DAY_MS,
        ]);
        await query(this.pool, 'pruning events', 'DELETE FROM events WHERE received_at < $1', [cutoff]);
        await query(this.pool, 'pruning presence', 'DELETE FROM presence WHERE at < $1', [cutoff]);
      }
      const rollupsMs = this.options.retentionRollupsMs ?? 0;
      if (rollupsMs > 0) {
        // Series by series, along the primary key (no index on t alone to keep up).
        await query(
          this.pool,
          'pruning telemetry rollups',
          'DELETE FROM telemetry_rollups r USING series s, unnest($2::int[]) w WHERE r.series = s.id AND r.width = w AND r.t < $1',
          [now - rollupsMs, ROLLUP_WIDTHS],
        );
      }
      await query(this.pool, 'pruning sessions', 'DELETE FROM sessions WHERE expires_at < $1', [now]);
      this.sessions.pruneExpired(now);
      if (this.failingSteps > 0) {
        this.failingSteps = 0;
        this.emit('maintenance', 0);
      }
    } catch (err) {
      this.failingSteps++;
      this.emit('log', {
        level: 'error',
        msg: `storage maintenance failed (${this.failingSteps} time(s) in a row): ${(err as Error).message}`,
      });
      this.emit('maintenance', this.failingSteps);
    }
  }

  // --- synchronous lookups (store.ts: SessionLookup, SeriesLookup), from memory ----

  sessionLookup(): SessionLookup {
    return this.sessions;
  }

  seriesLookup(): SeriesLookup {
    return this.series;
  }

  /**
   * Reloads what another hub sharing the database changed for one operator (its
   * record and sessions); cluster mode calls it from bus events (session-lookup.ts).
   */
  reloadOperator(username: string): Promise<void> {
    return this.read('reloading an operator', () => this.sessions.reload(this.pool, username));
  }

  /** Reloads one device's series another hub created (series-cache.ts). */
  reloadSeries(device: number): Promise<void> {
    return this.read('reloading series', () => this.series.reloadDevice(this.pool, device));
  }

  // --- reads --------------------------------------------------------------------

  private read<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return this.watch(fn()).catch((err: unknown) => {
      throw storageError(err, what);
    });
  }

  listDevices() {
    return this.read('listing devices', () => devices.listDevices(this.pool));
  }
  getDevice(id: string) {
    return this.read('reading a device', () => devices.getDevice(this.pool, id));
  }
  getOperator(username: string) {
    return this.read('reading an operator', () => operators.getOperator(this.pool, username));
  }
  listOperators() {
    return this.read('listing operators', () => operators.listOperators(this.pool));
  }
  countOperators() {
    return this.read('counting operators', () => operators.countOperators(this.pool));
  }
  getSession(tokenHash: Uint8Array) {
    return this.read('reading a session', () => operators.getSession(this.pool, tokenHash));
  }
  listAudit(q: AuditQuery) {
    return this.read('listing the audit log', () => operators.listAudit(this.pool, q));
  }
  getIntegrator(username: string) {
    return this.read('reading an integrator', () => operators.getIntegrator(this.pool, username));
  }
  listIntegrators() {
    return this.read('listing integrators', () => operators.listIntegrators(this.pool));
  }
  getModelProfile(model: string) {
    return this.read('reading a model profile', () => modelProfiles.getModelProfile(this.pool, model));
  }
  listModelProfiles() {
    return this.read('listing model profiles', () => modelProfiles.listModelProfiles(this.pool));
  }
  listAlarmRules() {
    return this.read('listing alarm rules', () => alarms.listAlarmRules(this.pool));
  }
  getAlarmRule(id: string) {
    return this.read('reading an alarm rule', () => alarms.getAlarmRule(this.pool, id));
  }
  getAlarm(id: string) {
    return this.read('reading an alarm', () => alarms.getAlarm(this.pool, id));
  }
  listAlarms(q: AlarmQuery) {
    return this.read('listing alarms', () => alarms.listAlarms(this.pool, q));
  }
  openAlarms() {
    return this.read('listing open alarms', () => alarms.openAlarms(this.pool));
  }
  countOpenAlarms() {
    return this.read('counting alarms', () => alarms.countOpenAlarms(this.pool));
  }
  listWebhooks() {
    return this.read('listing webhooks', () => webhooks.listWebhooks(this.pool));
  }
  getWebhook(id: string) {
    return this.read('reading a webhook', () => webhooks.getWebhook(this.pool, id));
  }
  listDeliveries(q: DeliveryQuery) {
    return this.read('listing webhook deliveries', () => webhooks.listDeliveries(this.pool, q));
  }
  dueDeliveries(q: { webhook: string; now: number; limit: number }) {
    return this.read('reading due webhook deliveries', () => webhooks.dueDeliveries(this.pool, q));
  }
  nextDueDelivery() {
    return this.read('reading the next webhook delivery', () => webhooks.nextDue(this.pool));
  }
  pendingDeliveries() {
    return this.read('counting webhook deliveries', () => webhooks.pendingByWebhook(this.pool));
  }
  getDashboard(username: string) {
    return this.read('reading a dashboard', () => dashboards.getDashboard(this.pool, username));
  }
  listFirmware(model?: string) {
    return this.read('listing firmware', () => firmware.listFirmware(this.pool, model));
  }
  getFirmware(id: string) {
    return this.read('reading firmware', () => firmware.getFirmware(this.pool, id));
  }
  firmwareChunk(image: number, n: number) {
    return this.read('reading a firmware chunk', () => firmware.firmwareChunk(this.pool, image, n));
  }
  getMeta(key: string) {
    return this.read('reading a meta value', () => firmware.getMeta(this.pool, key));
  }
  getDeviceUpdate(id: string) {
    return this.read('reading a device update', () => deviceUpdates.getDeviceUpdate(this.pool, id));
  }
  listDeviceUpdates(device: number, limit: number) {
    return this.read('listing device updates', () => deviceUpdates.listDeviceUpdates(this.pool, device, limit));
  }
  openDeviceUpdates() {
    return this.read('listing open device updates', () => deviceUpdates.openDeviceUpdates(this.pool));
  }
  getJob(id: string) {
    return this.read('reading a job', () => jobs.getJob(this.pool, id));
  }
  listJobs(q: { before?: number; limit: number }) {
    return this.read('listing jobs', () => jobs.listJobs(this.pool, q));
  }
  openJobs() {
    return this.read('listing open jobs', () => jobs.openJobs(this.pool));
  }
  jobCounts(job: number) {
    return this.read('counting a job', () => jobs.jobCounts(this.pool, job));
  }
  jobReasons(job: number) {
    return this.read('reading a job', () => jobs.jobReasons(this.pool, job));
  }
  jobDevices(q: { job: number; state?: JobDeviceState; after?: string; limit: number }) {
    return this.read("listing a job's devices", () => jobs.jobDevices(this.pool, q));
  }
  getCommand(id: string) {
    return this.read('reading a command', () => commands.getCommand(this.pool, id));
  }
  listCommands(q: CommandQuery) {
    return this.read('listing commands', () => commands.listCommands(this.pool, q));
  }
  openCommands() {
    return this.read('listing open commands', () => commands.openCommands(this.pool));
  }
  overdueCommands(now: number) {
    return this.read('listing overdue commands', () => commands.overdueCommands(this.pool, now));
  }
  readTwin(device: number) {
    return this.read('reading a twin', () => twins.readTwin(this.pool, device));
  }
  listEvents(q: EventQuery) {
    return this.read('listing events', () => events.listEvents(this.pool, q));
  }
  listPresence(device: number, deviceId: string, limit: number) {
    return this.read('listing presence', () => events.listPresence(this.pool, device, deviceId, limit));
  }

  // --- figures and lifecycle ----------------------------------------------------

  async stats(): Promise<StoreStats> {
    const s = this.ingestStats;
    return {
      batches: s.batches,
      frames: s.frames,
      logRows: 0,
      compactions: 0,
      compactedRows: 0,
      mergedPoints: 0,
      retainedBlocks: 0,
      lastCompactionMs: 0,
      failures: s.failures,
      quarantined: 0,
    };
  }

  /** Rows the move of recent telemetry set aside (telemetry-recent.ts). */
  async quarantinedCount(): Promise<number> {
    const r = await query<{ n: number }>(
      this.pool,
      'counting quarantined telemetry',
      'SELECT count(*)::int AS n FROM telemetry_recent_quarantine',
    );
    return r[0]?.n ?? 0;
  }

  async sizeBytes(): Promise<number> {
    const r = await query<{ n: number }>(this.pool, 'measuring the database', 'SELECT pg_database_size(current_database()) AS n');
    return r[0]?.n ?? 0;
  }

  /** Every committed point is readable already: only waits for what is queued. */
  compactNow(): Promise<void> {
    return this.drain();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.drain();
    this.closed = true;
    this.link.stop();
    await this.opChain;
    if (this.maintenanceTimer) clearInterval(this.maintenanceTimer);
    if (this.recentTimer) clearTimeout(this.recentTimer);
    await this.moving;
    await this.mover.close();
    await this.pool.end();
  }
}
