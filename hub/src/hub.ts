// Assembling a hub: store, fleet, gateways, services,
// HTTP server; and taking it apart again in the right order.

import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { CONSOLE_PATH, DEVICE_PATH, type Hello, type HubStats, type NodeStats } from '@halyard/firmware-protocol';
import { getRequestListener } from '@hono/node-server';
import type { Hono } from 'hono';
import { AlarmEvaluator, type EvaluatorOptions } from './alarms/evaluator.js';
import { AlarmService } from './alarms/service.js';
import { type Audit, createAudit } from './audit.js';
import { LoginLimiter } from './auth/login-limiter.js';
import { hashPassword, randomToken } from './auth/secrets.js';
import { SessionCache } from './auth/sessions.js';
import { type EventBus, LocalBus } from './bus.js';
import { type Cluster, joinCluster } from './cluster/cluster.js';
import { leaderGauge, startLeadership } from './cluster/leader-start.js';
import { type Leadership, whileLeader } from './cluster/leadership.js';
import { NodeStatsBoard } from './cluster/node-stats.js';
import { PgLeadership } from './cluster/pg-leadership.js';
import { CommandService } from './commands/service.js';
import { type HubConfig, redact } from './config.js';
import { ConsoleGateway } from './console/gateway.js';
import type { HubContext } from './context.js';
import { DashboardService } from './dashboards/service.js';
import { DeviceGateway } from './device/gateway.js';
import type { OwnershipHost } from './device/ownership.js';
import { type DeviceSession, type FrameMeta, frameRecords } from './device/session.js';
import { DeviceService } from './devices/service.js';
import { HubError, HubErrorCode } from './errors.js';
import type { FirmwareLibrary } from './firmware/library.js';
import { firmwareLibrary } from './firmware/setup.js';
import { type DeviceEntry, Fleet } from './fleet.js';
import { createApp } from './http/app.js';
import type { AppEnv } from './http/env.js';
import { DEFAULT_SCHEDULER, JobScheduler } from './jobs/scheduler.js';
import { JobService } from './jobs/service.js';
import type { Logger } from './log.js';
import { createMetrics, type Metrics } from './metrics.js';
import { ModelProfileService } from './models/service.js';
import { type MqttService, mqttRoutes, startMqtt } from './mqtt/index.js';
import { requestClient, setRequestClient, trustedProxies } from './net/client-address.js';
import { rejectUpgrade } from './net/reject-upgrade.js';
import { OperatorService } from './operators/service.js';
import { HubStatsTracker } from './stats.js';
import { StatsFeed } from './stats-feed.js';
import { MAINTENANCE_FAILING_AFTER, type StorageHealth, watchStorage } from './storage-health.js';
import { prepareDataDir } from './store/data-dir.js';
import { PostgresStore } from './store/postgres/postgres-store.js';
import { SqliteStore } from './store/sqlite-store.js';
import type { SeriesLookup, SessionLookup, Store } from './store/store.js';
import { TelemetryService } from './telemetry/service.js';
import { TwinService } from './twins/service.js';
import { UpdateService } from './updates/service.js';
import { type WebhookOptions, WebhookService } from './webhooks/service.js';

export interface Hub {
  ctx: HubContext;
  /** The bound HTTP port. */
  port: number;
  /** The bound MQTT port. */
  mqttPort: number;
  /** The bound MQTT-over-TLS port, when TLS is configured. */
  mqttsPort: number | undefined;
  /** The first admin's password when this start created it (undefined otherwise). */
  createdAdminPassword: string | undefined;
  /** Stops accepting, closes sessions with 1001, commits what is pending, closes the database. */
  close(): Promise<void>;
}

export interface StartOptions {
  /** Called if the store's thread dies: the hub cannot go on. */
  onFatal?: (err: Error) => void;
  /** Alarm evaluation (tests shorten its deadline checks). */
  alarms?: Partial<EvaluatorOptions>;
  /** Webhook retry and polling pace (tests shorten them). */
  webhooks?: Pick<WebhookOptions, 'retryBaseMs' | 'pollMs' | 'random'>;
}

export async function startHub(config: Readonly<HubConfig>, log: Logger, options: StartOptions = {}): Promise<Hub> {
  const store = await openStore(config, log, options);
  const cluster = await startCluster(config, store, log);
  const createdAdminPassword = await ensureFirstAdmin(config, store, log);
  const devices = await startDevices(config, store, log, cluster);
  const ctx = createContext(config, log, store, devices, cluster, options);
  await ctx.alarmEvaluator.start();
  await ctx.webhooks.start();
  const singletons = runSingletons(ctx, store, devices.scheduler);
  const front = await startFrontEnds(ctx, cluster);
  devices.scheduler.onNotice((n) => {
    front.mqtt.jobNotice(n);
    if (n.kind !== 'progress') return;
    ctx.webhooks.jobProgress(n.progress);
    // To every node's consoles (the scheduler runs on the leader only).
    ctx.bus.publish('job', { progress: n.progress });
  });
  const server = createServer(config, front.app);
  routeUpgrades(config, server, devices.gateway, front, log);
  const port = await listen(server, config);
  return {
    ctx,
    port,
    mqttPort: front.mqtt.port,
    mqttsPort: front.mqtt.mqttsPort,
    createdAdminPassword,
    close: closer(log, server, store, devices, front, cluster, async () => {
      singletons();
      ctx.alarmEvaluator.stop();
      await ctx.webhooks.stop();
    }),
  };
}

/** The store as startHub opened it, with its synchronous lookups, and the metrics and storage watch that start with it. */
interface OpenedStore {
  store: Store<FrameMeta>;
  /** The same store when it is PostgreSQL (cluster mode reloads what other nodes changed through it). */
  postgres?: PostgresStore<FrameMeta>;
  sessionLookup: SessionLookup;
  seriesLookup: SeriesLookup;
  metrics: Metrics;
  storage: StorageHealth;
  /** Who runs the singleton work: this hub alone, or the elected node of a cluster. */
  leadership: Leadership;
}

/** How often PostgreSQL upkeep runs (partitions a few days ahead, retention, expired sessions): often enough that a missed run or two never matters. */
const PG_MAINTENANCE_MS = 15 * 60_000;

/** The store --store names (PostgreSQL), or SQLite in the data directory; watched from the start. */
async function openStore(config: Readonly<HubConfig>, log: Logger, options: StartOptions): Promise<OpenedStore> {
  const engine = config.store === undefined ? await openSqlite(config, log) : await openPostgres(config.store, config, log);
  const { store } = engine;
  store.on('fatal', (err) => {
    log.fatal({ err }, 'the store failed');
    options.onFatal?.(err);
  });
  store.on('log', (l) => log[l.level]({ err: l.err }, l.msg));
  const metrics = createMetrics();
  // Listened to before anything else awaits: compaction may set rows aside as soon as it runs.
  const storage = await watchStorage(store, metrics, log, config.store === undefined ? 'sqlite' : 'postgres');
  const leadership = await startLeadership({ store: config.store, cluster: config.cluster, nodeId: config.nodeId }, log);
  leaderGauge(metrics.registry, leadership);
  // Every series says which node it came from, so one Prometheus can scrape them all.
  if (config.cluster !== undefined) metrics.registry.setDefaultLabels({ node: config.nodeId });
  return { ...engine, metrics, storage, leadership };
}

type Engine = Pick<OpenedStore, 'store' | 'postgres' | 'sessionLookup' | 'seriesLookup'>;

async function openSqlite(config: Readonly<HubConfig>, log: Logger): Promise<Engine> {
  const dbPath = prepareDataDir(config.dataDir, log);
  const store = await SqliteStore.open<FrameMeta>({
    path: dbPath,
    cacheMiB: 256,
    retentionMs: config.retention,
    retentionRollupsMs: config.retentionRollups,
    compactIntervalMs: 5_000,
    compactRows: 25_000,
    commitIntervalMs: config.commitInterval,
    maxBatchFrames: 2_000,
    maxFrame: config.maxFrame,
  });
  return { store, sessionLookup: store.sessionLookup(), seriesLookup: store.seriesLookup() };
}

/** PostgreSQL at `url`: schema created or migrated on open (README, Choosing a store); the password never reaches a log line. */
async function openPostgres(url: string, config: Readonly<HubConfig>, log: Logger): Promise<Engine> {
  const shown = redact(url);
  let store: PostgresStore<FrameMeta>;
  try {
    store = await PostgresStore.open<FrameMeta>({
      url,
      commitIntervalMs: config.commitInterval,
      maxBatchFrames: 2_000,
      maxFrame: config.maxFrame,
      retentionMs: config.retention,
      retentionRollupsMs: config.retentionRollups,
      // Run by the leader instead (runSingletons): one node of a cluster at a time.
      maintenanceIntervalMs: 0,
      // The gateway decoded every frame to validate it: the store uses those records.
      records: frameRecords,
    });
  } catch (err) {
    const password = passwordOf(url);
    const scrub = (m: string) => (password ? m.replaceAll(password, '***') : m);
    const message = scrub(err instanceof Error ? err.message : String(err));
    throw new HubError(HubErrorCode.Storage, `--store ${shown}: ${message}`);
  }
  log.info({ store: shown }, 'storing in PostgreSQL');
  return { store, postgres: store, sessionLookup: store.sessionLookup(), seriesLookup: store.seriesLookup() };
}

function passwordOf(url: string): string | undefined {
  try {
    const p = new URL(url).password;
    return p === '' ? undefined : decodeURIComponent(p);
  } catch {
    return undefined;
  }
}

/** With --cluster, this node's link to the cluster's Redis; the store is closed again if it cannot be reached. */
async function startCluster(config: Readonly<HubConfig>, { store, metrics }: OpenedStore, log: Logger): Promise<Cluster | undefined> {
  if (config.cluster === undefined) return undefined;
  try {
    return await joinCluster(config, log, metrics.registry);
  } catch (err) {
    await store.close().catch((closeErr: unknown) => log.error({ err: closeErr }, 'could not close the store'));
    throw err;
  }
}

/** An empty database gets its first operator, admin; returns the password when this start chose it. */
async function ensureFirstAdmin(config: Readonly<HubConfig>, { store }: OpenedStore, log: Logger): Promise<string | undefined> {
  if ((await store.countOperators()) !== 0) return undefined;
  const password = config.adminPassword ?? randomToken().slice(0, 24);
  try {
    await store.op('createOperator', {
      username: 'admin',
      passwordHash: await hashPassword(password),
      role: 'admin',
      createdAt: Date.now(),
    });
  } catch (err) {
    // Cluster nodes starting together on an empty database: another one created it first.
    if (err instanceof HubError && err.code === HubErrorCode.OperatorExists) return undefined;
    throw err;
  }
  log.info({ username: 'admin' }, 'empty database: created the first operator, admin');
  return config.adminPassword === undefined ? password : undefined;
}

interface Devices {
  bus: EventBus;
  fleet: Fleet;
  audit: Audit;
  deviceService: DeviceService;
  commands: CommandService;
  twins: TwinService;
  telemetry: TelemetryService;
  gateway: DeviceGateway;
  firmware: FirmwareLibrary;
  updates: UpdateService;
  scheduler: JobScheduler;
  jobs: JobService;
}

/** The fleet, the services devices feed, and the device gateway wired to them; open commands resumed. */
async function startDevices(
  config: Readonly<HubConfig>,
  { store, postgres, seriesLookup, metrics, storage }: OpenedStore,
  log: Logger,
  cluster: Cluster | undefined,
): Promise<Devices> {
  const bus = cluster?.bus ?? new LocalBus(log);
  // The fleet is a memory cache of the devices table, filled here and kept current by
  // DeviceService (and the gateway's sequence numbers): device authentication and
  // every device read stay synchronous. In a cluster the other nodes' changes
  // reach it through the bus (`device`, `device.removed`; cluster/fleet-sync.ts).
  // It shows each device's open commands, which the command service (built on the
  // fleet) keeps: asked only once a device is shown, after both exist.
  const fleet = new Fleet(await store.listDevices(), { pendingCommands: (id) => commands.pendingCommands(id) });
  storage.deviceId = (rowid) => fleet.getByRowid(rowid)?.record.id;
  metrics.devicesKnown.set(fleet.size);
  const audit = createAudit(store, log);
  const commands = new CommandService(config, fleet, store, bus, log, audit);
  const twins = new TwinService(config, fleet, store, bus, log, audit);
  const telemetry = await TelemetryService.start(store.telemetry, seriesLookup, config.maxSeriesPerDevice);
  // Before the gateway's listener (it resumes device reads once the tail is small again).
  store.on('compacted', (gen) => telemetry.compacted(gen));
  const firmware = firmwareLibrary(config, store, audit, log);
  const updates = await UpdateService.start(store, fleet, firmware, audit, log, metrics, bus, config.cluster !== undefined);
  // Desired first, then queued commands (SPEC.md §7.1, §6.4), then a firmware update (§12.2).
  const online = (e: DeviceEntry, s: DeviceSession, hello?: Hello) => {
    twins
      .online(e, s)
      .catch((err: unknown) => log.error({ err, device: e.record.id }, 'could not send the desired document'))
      .finally(() => {
        if (!s.isOpen) return;
        commands.online(e, s);
        if (hello !== undefined)
          updates.online(e, s, hello).catch((err: unknown) => log.error({ err, device: e.record.id }, 'could not offer a firmware update'));
      });
  };
  // The gateway is the ownership's host; the host's methods are called only once the cluster starts, below.
  const host: OwnershipHost = {
    letGo: (device, session) => gateway.letGo(device, session),
    held: () => gateway.held(),
    leaseLost: (device, session) => gateway.leaseLost(device, session),
  };
  const gateway: DeviceGateway = new DeviceGateway(
    config,
    fleet,
    store,
    bus,
    metrics,
    log,
    {
      online,
      chunkRequest: (e, s, m) => updates.chunkRequest(e, s, m),
      updateStatusApplied: (o) => updates.statusApplied(o),
      offline: () => {},
      commandAccepted: (e, id) => commands.commandAccepted(e, id),
      commandResult: (e, m) => commands.commandResult(e, m),
      reportedApplied: (o) => twins.reportedApplied(o),
      telemetryStored: (gen, e, records) => telemetry.committed(gen, e.record.rowid, records),
      uncompactedPoints: () => telemetry.tail.size,
      admitTelemetry: (e, records) => {
        const refused = telemetry.admit(e.record.rowid, records);
        if (refused === undefined) return undefined;
        metrics.seriesRefused.inc();
        return `series limit: the device has ${refused.count} metrics, at most ${config.maxSeriesPerDevice} (--max-series-per-device); "${refused.name}" would be one more`;
      },
    },
    cluster?.ownership(host, async (id) => {
      const e = fleet.get(id);
      if (e === undefined) return;
      // Series the device made on another node count toward its limit here too, on
      // every claim: the limit's count this node kept from an earlier visit is stale.
      await postgres?.reloadSeries(e.record.rowid);
      telemetry.seriesLimit.forget(e.record.rowid);
    }),
  );
  const deviceService = new DeviceService(store, fleet, gateway, { telemetry, commands }, metrics, bus, audit);
  if (cluster !== undefined && postgres !== undefined) {
    await cluster.start({
      fleet,
      devices: deviceService,
      store: postgres,
      // Events lost while Redis was away: what each device here may have missed is read again from the store.
      resync: () => {
        for (const e of fleet.entries()) if (e.session?.isOpen) online(e, e.session);
      },
    });
  }
  const resumed = await commands.resume();
  if (resumed > 0) log.info({ commands: resumed }, 'resumed open commands');
  // Fleet jobs: the scheduler runs on the leader (runSingletons); any node takes operators' requests.
  const scheduler = new JobScheduler(store, fleet, { updates, commands, twins }, bus, audit, log, metrics.registry, {
    ...DEFAULT_SCHEDULER,
    defaultDeadlineMs: config.jobDeadline,
  });
  const jobs = new JobService(store, fleet, firmware, audit, log, { defaultMs: config.jobDeadline, maxMs: config.jobDeadlineMax }, () =>
    scheduler.wake(),
  );
  return { bus, fleet, audit, deviceService, commands, twins, telemetry, gateway, firmware, updates, scheduler, jobs };
}

/** ms between the leader's sweeps for commands no timer watches (a dead node's), in a cluster. */
const COMMAND_SWEEP_MS = 10_000;

/**
 * The singleton work, started and stopped with the leadership: PostgreSQL upkeep and,
 * in a cluster, the sweep for overdue commands (MQTT's discovery and bridges follow
 * the leadership in mqtt/index.ts). Returns the stop function.
 */
function runSingletons(ctx: HubContext, { leadership, postgres }: OpenedStore, scheduler: JobScheduler): () => void {
  const { log } = ctx;
  const stops: (() => void)[] = [];
  scheduler.follow(leadership);
  // PostgreSQL upkeep (partitions, retention); SQLite compacts by itself. maintain logs its own failures (storage-health.ts counts them).
  if (postgres !== undefined)
    stops.push(
      whileLeader(
        leadership,
        PG_MAINTENANCE_MS,
        () => postgres.maintain(Date.now()),
        (err) => log.error({ err }, 'maintenance failed'),
      ),
    );
  if (leadership instanceof PgLeadership) {
    const sweep = async () => {
      const ended = await ctx.commands.expireOverdue();
      if (ended > 0) log.info({ commands: ended }, 'ended overdue commands no node was watching');
    };
    stops.push(whileLeader(leadership, COMMAND_SWEEP_MS, sweep, (err) => log.error({ err }, 'could not sweep overdue commands')));
  }
  return () => {
    for (const stop of stops) stop();
  };
}

/** What every handler and gateway gets, with the audit log and the health checks. */
function createContext(
  config: Readonly<HubConfig>,
  log: Logger,
  opened: OpenedStore,
  devices: Devices,
  cluster: Cluster | undefined,
  options: StartOptions,
): HubContext {
  const { store, sessionLookup, metrics, storage, leadership } = opened;
  const { bus, fleet, audit, deviceService, commands, twins, telemetry, gateway, firmware, updates, jobs } = devices;
  let storeFailing = false;
  store.on('committed', (o) => {
    storeFailing = o.error !== undefined;
  });
  const alarmEvaluator = createAlarmEvaluator(opened, devices, log, options);
  // Back up: the failures were the outage's, already over; the next commit says more.
  store.on('connection', (c) => {
    if (c.up) storeFailing = false;
  });
  // What stops this node serving clients (the load balancer's /readyz); Redis is not among it.
  const unready = (): string[] => {
    const c = storage.connection;
    if (c !== undefined && !c.up)
      return [
        `storage is unreachable since ${new Date(c.since).toISOString()} (${c.engine}: ${c.error ?? 'no answer'}): telemetry is not being acknowledged`,
      ];
    return storeFailing ? ['storage is failing: telemetry is not being acknowledged'] : [];
  };
  return {
    config,
    log,
    bus,
    metrics,
    store,
    fleet,
    devices: gateway,
    deviceService,
    operators: new OperatorService(store, bus, audit),
    models: new ModelProfileService(store, audit),
    dashboards: new DashboardService(store, audit),
    commands,
    twins,
    telemetry,
    firmware,
    updates,
    alarms: new AlarmService(store, fleet, bus, alarmEvaluator, audit, log),
    alarmEvaluator,
    webhooks: new WebhookService(store, bus, leadership, metrics, audit, log, {
      retryFor: config.webhookRetryFor,
      maxPending: config.webhookQueue,
      allow: config.webhookAllow,
      ...options.webhooks,
    }),
    jobs,
    loginLimiter: new LoginLimiter(),
    sessions: new SessionCache(sessionLookup, bus, undefined, cluster === undefined ? undefined : sessionReloader(opened)),
    startedAt: Date.now(),
    audit,
    leadership,
    cluster,
    unready,
    problems() {
      const p: string[] = [];
      const redis = cluster?.redis();
      if (redis !== undefined && !redis.up)
        p.push(
          `cluster: Redis is unreachable since ${new Date(redis.since).toISOString()} (${redis.error ?? 'no answer'}): live updates from other nodes are paused`,
        );
      p.push(...unready());
      if (gateway.storeBehind) p.push('storage is behind: device reads have been paused for 5 s or more');
      if (storage.maintenanceFailing >= MAINTENANCE_FAILING_AFTER)
        p.push(`storage maintenance is failing: ${storage.maintenanceFailing} steps in a row (compaction and retention are stalled)`);
      return p;
    },
    // `reachable` only for PostgreSQL (a server that can go away); SQLite is a file.
    storageHealth: () => ({
      quarantined: storage.quarantined,
      ...(storage.connection === undefined && config.store === undefined ? {} : { reachable: storage.connection?.up ?? true }),
    }),
  };
}

/** The alarm evaluator, counting into the metrics; started by startHub once the context exists. */
function createAlarmEvaluator({ store, metrics, leadership }: OpenedStore, devices: Devices, log: Logger, options: StartOptions) {
  const { bus, fleet, telemetry } = devices;
  const evaluator: AlarmEvaluator = new AlarmEvaluator(
    store,
    fleet,
    bus,
    leadership,
    log,
    {
      changed: (a, action) => {
        if (action === 'raised') metrics.alarmsRaised.inc({ severity: a.severity });
        if (action === 'flap') metrics.alarmFlaps.inc();
        for (const [severity, n] of Object.entries(evaluator.counts())) metrics.alarmsActive.set({ severity }, n);
      },
      latest: async (e) => new Map((await telemetry.latest(e.record.rowid)).map((p) => [p.name, p.time])),
    },
    { tickMs: options.alarms?.tickMs ?? 1_000 },
  );
  return evaluator;
}

/** Cluster mode: a session another node created, loaded here from PostgreSQL with its operator (auth/sessions.ts). */
function sessionReloader({ postgres }: OpenedStore): ((tokenHash: Uint8Array) => Promise<void>) | undefined {
  if (postgres === undefined) return undefined;
  return async (tokenHash) => {
    const s = await postgres.getSession(tokenHash);
    if (s !== undefined) await postgres.reloadOperator(s.username);
  };
}

interface FrontEnds {
  mqtt: MqttService;
  consoles: ConsoleGateway;
  tracker: HubStatsTracker;
  app: Hono<AppEnv>;
}

/** MQTT, the console gateway, hub statistics and the HTTP API. */
async function startFrontEnds(ctx: HubContext, cluster: Cluster | undefined): Promise<FrontEnds> {
  const mqtt = await startMqtt(ctx);
  const feed = new StatsFeed();
  const consoles = new ConsoleGateway(ctx, feed);
  // In a cluster every node's figures go through Redis, so any node's Hub page shows them all.
  const board = cluster === undefined ? undefined : new NodeStatsBoard(cluster.link);
  const tracker = new HubStatsTracker(ctx, feed, {
    mqttClients: () => mqtt.clients(),
    consoles: () => consoles.connections,
    bridges: () => mqtt.bridges(),
    ...(board === undefined || cluster === undefined
      ? {}
      : { exchange: (own: NodeStats) => board.exchange(own), redisUp: () => cluster.redis().up }),
  });
  const stats = (): HubStats => tracker.snapshot();
  const { app } = createApp(ctx, { stats, routes: [mqttRoutes(mqtt)] });
  return { mqtt, consoles, tracker, app };
}

/** The HTTP (or HTTPS) server for the API, bounded against slow clients. */
function createServer(config: Readonly<HubConfig>, app: Hono<AppEnv>): Server {
  const listener = getRequestListener(app.fetch);
  const server: Server =
    config.tlsCert !== undefined && config.tlsKey !== undefined
      ? createHttpsServer(
          { cert: readFileSync(config.tlsCert), key: readFileSync(config.tlsKey), connectionsCheckingInterval: 1_000 },
          listener,
        )
      : // Check for expired header and request timeouts every second, not every 30 s.
        createHttpServer({ connectionsCheckingInterval: 1_000 }, listener);
  // Slow clients must not hold connections open forever (slowloris).
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 5_000;
  server.maxHeadersCount = 100;
  return server;
}

/** Node's request errors that are not a malformed request (400), by code. */
const CLIENT_ERROR_STATUS: Record<string, string> = {
  ERR_HTTP_REQUEST_TIMEOUT: '408 Request Timeout',
  HPE_HEADER_OVERFLOW: '431 Request Header Fields Too Large',
};

/** WebSocket upgrades to their endpoints (devices, consoles, MQTT); malformed requests answered 400. */
function routeUpgrades(
  config: Readonly<HubConfig>,
  server: Server,
  gateway: DeviceGateway,
  { consoles, mqtt }: FrontEnds,
  log: Logger,
): void {
  const proxies = trustedProxies(config);
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => {});
    // Behind --trusted-proxies, the client the proxy forwarded, for every endpoint's limits and logs.
    setRequestClient(req, proxies.ofRequest(req));
    const path = (req.url ?? '/').split('?')[0];
    // Each handler answers every refusal itself; this only keeps a bug in one of
    // them (reached before authentication) from taking the whole process down.
    try {
      if (path === DEVICE_PATH) return gateway.handleUpgrade(req, socket, head);
      if (path === CONSOLE_PATH) return consoles.handleUpgrade(req, socket, head);
      if (path === '/mqtt') return mqtt.handleUpgrade(req, socket, head);
      const refusal = new HubError(HubErrorCode.NotFound, `no WebSocket endpoint at ${path}`);
      log.info(
        { status: refusal.status, code: refusal.code, path, remote: requestClient(req) },
        'upgrade refused: no WebSocket endpoint there',
      );
      rejectUpgrade(socket, refusal);
    } catch (err) {
      log.error({ err, path, remote: requestClient(req) }, 'upgrade handler failed');
      rejectUpgrade(socket, new HubError(HubErrorCode.Internal, 'internal error; see the hub log'));
    }
  });
  // A request Node refused before any handler saw it: answered with its own status and
  // one line, so a refusal (a slow client's timeout, headers too large) is not a bare
  // 400 nobody can explain. A connection the client reset is just closed.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const status = CLIENT_ERROR_STATUS[err.code ?? ''] ?? '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    log.info(
      { code: err.code, status: Number.parseInt(status, 10), remote: (socket as Socket).remoteAddress },
      'HTTP request refused before routing',
    );
  });
}

/** Listens on --port; returns the bound port. */
async function listen(server: Server, config: Readonly<HubConfig>): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // A deep accept queue: a fleet reconnecting at once should not hit SYN retries.
    server.listen({ port: config.port, host: config.host, backlog: 4096 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

/** Takes the hub apart in order, once however often it is called. */
function closer(
  log: Logger,
  server: Server,
  { store, leadership }: OpenedStore,
  { gateway, commands, updates, scheduler }: Devices,
  front: FrontEnds,
  cluster: Cluster | undefined,
  singletons: () => Promise<void>,
): () => Promise<void> {
  const { consoles, mqtt, tracker } = front;
  let closing: Promise<void> | undefined;
  return () => {
    closing ??= (async () => {
      log.info('shutting down');
      server.close();
      await Promise.all([gateway.shutdown(), consoles.close()]);
      await mqtt.close();
      server.closeAllConnections();
      tracker.stop();
      await singletons();
      await scheduler.close();
      await leadership.close();
      commands.stop();
      updates.close();
      await commands.flush().catch((err) => log.error({ err }, 'could not record final command transitions'));
      // Before the store: events from other nodes would read a closed store; this node's last ones go out first.
      await cluster?.close();
      await store.close();
      log.info('stopped');
    })();
    return closing;
  };
}
