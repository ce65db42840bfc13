// An outbound bridge (--bridge): the hub connects to another broker with mqtt.js,
// mirrors everything it publishes there under the bridge's prefix, and carries
// command and desired-set requests published there back into the hub. The
// connection is the hub's to keep: reconnects with exponential backoff and full
// jitter, resubscribes and re-publishes the whole retained state after every
// connect (the remote may have restarted empty), and queues what it cannot send
// in a bounded queue that drops, and counts, the oldest stream messages first.

import { backoffDelay } from '@halyard/firmware-protocol';
import mqtt, { type IPublishPacket, type MqttClient } from 'mqtt';
import type { HubContext } from '../context.js';
import type { BridgeConfig } from './bridge-url.js';
import type { RequestHandler } from './broker.js';
import type { MqttMetrics } from './metrics.js';
import type { OutMessage } from './out-message.js';
import type { Publisher, Sink } from './publisher.js';
import { SendQueue } from './send-queue.js';
import type { Topics } from './topics.js';

export const BRIDGE_LIMITS = {
  /** Reconnect delays: full jitter below min(cap, base * 2^attempt), ms. */
  backoff: { baseMs: 500, capMs: 30_000 },
  /**
   * Publishes awaiting their ack (QoS 1/2) or their write (QoS 0). An MQTT 5 broker's
   * Receive Maximum lowers it (exceeding that is a protocol error); 3.1.1 has no flow
   * control, so this alone bounds what a slow broker can leave unacknowledged.
   */
  inFlight: 1_000,
  /** Publishes handed to mqtt.js per event-loop turn. */
  batch: 256,
  /** ms to wait for a CONNACK. */
  connectTimeout: 10_000,
  /** Keepalive, s. */
  keepalive: 30,
  /** ms shutdown waits to deliver what is queued (hub/status offline first). */
  closeFlush: 2_000,
} as const;

/** CONNACK codes saying "not this protocol version": 3.1.1 §3.2.2.3 (1) and MQTT 5 §3.2.2.2 (132). */
const UNSUPPORTED_VERSION = new Set([1, 132]);

export type BridgeState = 'connecting' | 'connected' | 'reconnecting' | 'closed';

export interface BridgeDeps {
  ctx: HubContext;
  topics: Topics;
  publisher: Publisher;
  metrics: MqttMetrics;
  onRequest: RequestHandler;
}

export class Bridge implements Sink {
  state: BridgeState = 'connecting';
  private client: MqttClient | undefined;
  private readonly queue: SendQueue;
  /** Messages handed to the current connection and not yet acknowledged, by sequence number. */
  private readonly inFlight = new Map<number, OutMessage>();
  private seq = 0;
  private maxInFlight: number;
  private attempt = 0;
  private version: 4 | 5;
  private timer: NodeJS.Timeout | undefined;
  private idle: (() => void)[] = [];
  private scheduled = false;

  constructor(
    readonly config: BridgeConfig,
    private readonly deps: BridgeDeps,
  ) {
    const label = { bridge: config.label };
    this.queue = new SendQueue(undefined, () => deps.metrics.bridgeDropped.inc(label));
    this.version = config.version === 'auto' ? 5 : config.version;
    this.maxInFlight = BRIDGE_LIMITS.inFlight;
    deps.metrics.bridgeDropped.inc(label, 0);
  }

  start(): void {
    this.connect();
  }

  enqueue(m: OutMessage): void {
    if (this.state === 'closed') return;
    this.queue.push(m);
    // Off the bus handler: rendering and writing happen on a later turn, in batches.
    if (this.state === 'connected') this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  stats(): { url: string; state: string; queued: number; dropped: number } {
    return { url: this.config.url, state: this.state, queued: this.queued, dropped: this.queue.dropped };
  }

  /** Messages queued or sent and not yet acknowledged. */
  get queued(): number {
    return this.queue.size + this.inFlight.size;
  }

  private get log() {
    return this.deps.ctx.log;
  }

  private connect(): void {
    const { topics } = this.deps;
    const c = this.config;
    const client = mqtt.connect({
      protocol: c.protocol,
      host: c.host,
      port: c.port,
      clientId: c.clientId,
      protocolVersion: this.version,
      clean: true,
      keepalive: BRIDGE_LIMITS.keepalive,
      connectTimeout: BRIDGE_LIMITS.connectTimeout,
      // Reconnects are ours (backoff with jitter, a fresh client each time); mqtt.js's are at a fixed period.
      reconnectPeriod: 0,
      resubscribe: false,
      queueQoSZero: false,
      ...(c.username === undefined ? {} : { username: c.username }),
      ...(c.password === undefined ? {} : { password: c.password }),
      // The remote broker says offline for us if the hub vanishes without a DISCONNECT.
      will: { topic: c.prefix + topics.hubStatus(), payload: Buffer.from('offline'), qos: 1, retain: true },
    });
    this.client = client;
    client.handleMessage = (packet, done) => {
      this.inbound(packet).then(
        () => done(),
        () => done(),
      );
    };
    client.on('connect', (connack) => this.connected(client, connack.properties?.receiveMaximum));
    client.on('error', (err) => this.failed(client, err));
    client.on('close', () => this.lost(client));
  }

  private connected(client: MqttClient, receiveMaximum: number | undefined): void {
    if (this.client !== client) return;
    const label = { bridge: this.config.label };
    this.state = 'connected';
    this.attempt = 0;
    // PUBACKs and small publishes must not wait on Nagle's algorithm (mqtt.js leaves it on).
    (client.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
    // [MQTT-3.3.4-9]: no more unacknowledged QoS 1/2 publishes than the server's Receive Maximum.
    this.maxInFlight =
      this.config.qos > 0 ? Math.min(BRIDGE_LIMITS.inFlight, receiveMaximum ?? BRIDGE_LIMITS.inFlight) : BRIDGE_LIMITS.inFlight;
    this.deps.metrics.bridgeConnects.inc(label);
    this.log.info(
      { bridge: this.config.url, version: this.version === 5 ? '5' : '3.1.1', inFlight: this.maxInFlight },
      'mqtt bridge connected',
    );
    const { topics } = this.deps;
    const p = this.config.prefix;
    const filters = [p + topics.command('+', '+'), p + topics.desiredSet('+')];
    const ha = topics.haStatus();
    if (ha !== undefined) filters.push(ha);
    client.subscribe(filters, { qos: 1 }, (err, granted) => {
      const refused = granted?.filter((g) => g.qos === 128).map((g) => g.topic) ?? [];
      if (err !== null || refused.length > 0)
        this.log.warn({ bridge: this.config.url, err: err?.message, refused }, 'mqtt bridge could not subscribe to requests');
    });
    // Everything retained again, newest values, before anything else queued.
    this.queue.resetRetained(this.deps.publisher.state());
    this.pump();
  }

  private failed(client: MqttClient, err: Error & { code?: number | string }): void {
    if (this.client !== client) return;
    if (this.config.version === 'auto' && this.version === 5 && typeof err.code === 'number' && UNSUPPORTED_VERSION.has(err.code)) {
      this.log.info({ bridge: this.config.url }, 'mqtt bridge: the broker refused MQTT 5; using 3.1.1');
      this.version = 4;
      this.attempt = 0;
    } else {
      this.log.warn({ bridge: this.config.url, err: err.message }, 'mqtt bridge error');
    }
  }

  private lost(client: MqttClient): void {
    if (this.client !== client) return;
    this.client = undefined;
    // What the broker never acknowledged goes out again on the next connection (at least once).
    this.queue.requeue([...this.inFlight.values()]);
    this.inFlight.clear();
    client.removeAllListeners();
    client.on('error', () => {});
    client.end(true);
    if (this.state === 'closed') return;
    if (this.state === 'connected') this.log.warn({ bridge: this.config.url }, 'mqtt bridge disconnected');
    this.state = 'reconnecting';
    const delay = backoffDelay(this.attempt++, BRIDGE_LIMITS.backoff);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  private pump(): void {
    const client = this.client;
    if (client === undefined || this.state !== 'connected') return;
    for (let n = 0; n < BRIDGE_LIMITS.batch && this.inFlight.size < this.maxInFlight; n++) {
      const m = this.queue.shift();
      if (m === undefined) break;
      const { topic, payload } = m.render(this.config.prefix);
      const id = ++this.seq;
      this.inFlight.set(id, m);
      client.publish(topic, payload, { qos: this.config.qos, retain: m.lane === 'state' }, () => {
        // Errors mean the connection is gone; lost() has put the message back in the queue.
        if (this.client !== client) return;
        this.inFlight.delete(id);
        this.schedule();
      });
    }
    if (this.queue.size > 0 && this.inFlight.size < this.maxInFlight) this.schedule();
    if (this.queue.size === 0 && this.inFlight.size === 0) {
      const waiting = this.idle;
      this.idle = [];
      for (const w of waiting) w();
    }
  }

  /** A request published on the remote broker: into the hub like an integrator's. */
  private async inbound(packet: IPublishPacket): Promise<void> {
    const topic = packet.topic;
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    const { topics, onRequest } = this.deps;
    if (topic === topics.haStatus()) {
      await onRequest({ kind: 'ha-birth' }, topic, payload, `bridge:${this.config.label}`);
      return;
    }
    // A retained command would run again on every reconnect: requests must be live.
    if (packet.retain) {
      this.log.warn({ bridge: this.config.url, topic }, 'mqtt bridge: retained request ignored (publish requests without retain)');
      return;
    }
    const p = this.config.prefix;
    const local = topic.startsWith(p) ? topic.slice(p.length) : undefined;
    const req = local === undefined ? undefined : topics.parseRequest(local);
    if (local === undefined || req === undefined || req.kind === 'ha-birth') return;
    await onRequest(req, local, payload, `bridge:${this.config.label}`);
  }

  /** Delivers what is queued (at most `BRIDGE_LIMITS.closeFlush` ms), disconnects cleanly, stops reconnecting. */
  async close(): Promise<void> {
    if (this.state === 'connected' && (this.queue.size > 0 || this.inFlight.size > 0)) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, BRIDGE_LIMITS.closeFlush);
        this.idle.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    this.state = 'closed';
    clearTimeout(this.timer);
    const client = this.client;
    this.client = undefined;
    if (client !== undefined) {
      client.removeAllListeners();
      client.on('error', () => {});
      await Promise.race([client.endAsync(), new Promise((resolve) => setTimeout(resolve, 1_000))]);
      client.end(true);
    }
  }
}
