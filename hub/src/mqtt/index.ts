// MQTT for integrators (README.md § MQTT): the embedded aedes broker on
// --mqtt-port, at /mqtt over WebSocket and on --mqtts-port with TLS; integrator
// accounts and ACLs; the hub's topics; outbound bridges; Home Assistant discovery.
//
//   bus ──> mirror ──> publisher ──> embedded sink ──> aedes ──> integrators
//                          │  └────> bridge ──────────> external broker
//   requests <── broker (authorizePublish) <── integrators
//           <── bridge (subscriptions)    <── external broker

import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { HubStats } from '@halyard/firmware-protocol';
import type { HubContext } from '../context.js';
import type { Routes } from '../http/route.js';
import { integratorRoutes } from '../http/routes/integrators.js';
import type { LiveView } from '../integrators/service.js';
import type { JobNotice } from '../jobs/scheduler.js';
import { parseBridgeUrl } from './bridge-url.js';
import { Broker, type RequestHandler } from './broker.js';
import { EmbeddedSink } from './embedded-sink.js';
import { jobMessage } from './jobs.js';
import { LeaderWork } from './leader-work.js';
import { startListeners } from './listeners.js';
import { createMqttMetrics } from './metrics.js';
import { Mirror } from './mirror.js';
import { Publisher } from './publisher.js';
import { handleRequest, type RequestDeps, requestLogBudget } from './requests.js';
import { Topics } from './topics.js';

export interface MqttService {
  /** Bound MQTT TCP port. */
  port: number;
  /** Bound MQTT-over-TLS port, when TLS is configured. */
  mqttsPort: number | undefined;
  /** WebSocket upgrade on /mqtt. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  clients(): number;
  bridges(): HubStats['bridges'];
  /** Disconnects every client of an integrator account; returns how many there were. */
  disconnectUser(username: string): number;
  /** The accounts' connected clients and persistent sessions, on every node of a cluster. */
  live(usernames: readonly string[]): Promise<LiveView>;
  /** Ends an account's persistent session wherever it is held (client id as the client sent it); false when there is none. */
  dropSession(username: string, clientId: string): Promise<boolean>;
  /** A fleet job's progress or a device's state in it (mqtt/jobs.ts). */
  jobNotice(n: JobNotice): void;
  close(): Promise<void>;
}

/** ms shutdown waits for queued messages to reach the embedded broker's clients. */
const FLUSH_ON_CLOSE_MS = 2_000;

/** HTTP routes this feature adds (integrator accounts), for the running service. */
export function mqttRoutes(
  mqtt: Pick<MqttService, 'disconnectUser' | 'port' | 'mqttsPort' | 'live' | 'dropSession'>,
): (routes: Routes, ctx: HubContext) => void {
  return (routes, ctx) =>
    integratorRoutes(routes, ctx, {
      disconnect: (username) => mqtt.disconnectUser(username),
      live: (usernames) => mqtt.live(usernames),
      dropSession: (username, clientId) => mqtt.dropSession(username, clientId),
      endpoint: () => ({ port: mqtt.port, tlsPort: mqtt.mqttsPort }),
    });
}

export async function startMqtt(ctx: HubContext): Promise<MqttService> {
  const { config, log } = ctx;
  const topics = new Topics(config.mqttPrefix, config.haDiscovery);
  let broker: Broker | undefined;
  let work: LeaderWork | undefined;
  const metrics = createMqttMetrics(ctx.metrics.registry, {
    clients: () => broker?.clients ?? 0,
    pending: () => broker?.pendingLogins ?? 0,
    inflight: () => broker?.store.pending ?? 0,
    sessions: () => broker?.expiry.waiting ?? 0,
    sessionQueueBytes: () => broker?.store.queues.bytes ?? 0,
    bridges: () => (work?.bridges ?? []).map((b) => ({ label: b.config.label, connected: b.state === 'connected', queued: b.queued })),
  });
  const publisher = new Publisher();

  const deps: RequestDeps = {
    ctx,
    topics,
    metrics,
    refusals: requestLogBudget(ctx.log),
    publish: (m) => publisher.publish(m),
    haBirth: () => work?.haBirth(),
  };
  const onRequest: RequestHandler = (req, topic, payload, actor) => handleRequest(deps, req, topic, payload, actor);
  // Bridges and discovery run on the leader only (leader-work.ts). Bad --bridge URLs stop the start, before anything listens.
  const bridgeConfigs = config.bridge.map((url) => parseBridgeUrl(url, config.hubName));
  const leaderWork = new LeaderWork(ctx, topics, publisher, bridgeConfigs, { metrics, onRequest });
  work = leaderWork;

  broker = await Broker.start(ctx, topics, metrics, onRequest);
  const started = broker;
  const sink = new EmbeddedSink(broker.aedes, metrics, log, config.mqttQos, () => started.store.sessionCount, config.cluster !== undefined);
  publisher.addSink(sink);
  publisher.addSink(leaderWork);

  const observer = config.haDiscovery === undefined ? undefined : leaderWork;
  const mirror = new Mirror(ctx, topics, publisher, observer);
  mirror.start();
  // In a cluster the leader's bridges and discovery need every node's events: the other nodes' go
  // through the publisher marked remote, so the embedded broker (which has them already) skips them.
  const remoteMirror =
    config.cluster === undefined
      ? undefined
      : new Mirror(ctx, topics, { publish: (m) => publisher.publish({ ...m, remote: true }) }, observer, 'remote');
  remoteMirror?.start();
  mirror.hubStatus(true);
  const listeners = await startListeners(
    ctx,
    (stream, ip, req, extraBacklog) => started.accept(stream, ip, req, extraBacklog),
    (ip) => started.holdPending(ip),
  ).catch(async (err: unknown) => {
    mirror.stop();
    remoteMirror?.stop();
    await started.close();
    throw err;
  });
  // The fleet's retained state goes out in the background, in chunks; clients may connect meanwhile
  // (version checks keep a late snapshot from overwriting newer state).
  const fleetPublished = mirror.publishFleet();
  fleetPublished.catch((err: unknown) => log.error({ err }, 'could not publish the fleet state on MQTT'));
  leaderWork.follow(ctx.leadership, fleetPublished);
  // In a cluster: Redis came back; what this node published meanwhile reached no other node.
  started.onReconnected(() => {
    mirror.hubStatus(true);
    mirror.publishFleet(true).catch((err: unknown) => log.error({ err }, 'could not publish the fleet state on MQTT again'));
  });

  let closing: Promise<void> | undefined;
  return {
    port: listeners.port,
    mqttsPort: listeners.mqttsPort,
    handleUpgrade: (req, socket, head) => listeners.handleUpgrade(req, socket, head),
    clients: () => started.clients,
    bridges: () => leaderWork.bridgeStats(),
    disconnectUser: (username) => started.disconnectUser(username),
    live: (usernames) => started.live(usernames),
    dropSession: (username, clientId) => started.dropSession(username, clientId),
    jobNotice: (n) => publisher.publish(jobMessage(topics, n)),
    close() {
      closing ??= (async () => {
        mirror.stop();
        remoteMirror?.stop();
        // In a cluster the other nodes still serve: the hub is not offline.
        if (config.cluster === undefined) mirror.hubStatus(false);
        await Promise.all([sink.flush(FLUSH_ON_CLOSE_MS), leaderWork.close()]);
        await started.close();
        await listeners.close();
      })();
      return closing;
    },
  };
}
