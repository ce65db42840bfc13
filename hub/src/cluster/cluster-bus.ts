// The event bus of a cluster node (bus.ts; docs/architecture.md § Cluster): events
// published here reach this node's subscribers at once, as on a single hub, and go
// to every other node through one Redis channel, batched per event-loop turn (a
// commit of a thousand frames is one Redis message, not a thousand). Events from
// other nodes are checked (bus-codec.ts) and handed to subscribers in the order they
// were published, after the hooks that bring this node's memory up to date first
// (`before`: an operator's sessions reloaded before `session.ended` is seen, a
// device record before `device`).
//
// Redis pub/sub is at most once: a message published while a node is cut off is
// lost to it. Nothing here is the truth: what a node must not miss (commands,
// desired state, ownership) is read again from PostgreSQL on reconnect and on
// every device connect.

import { type BusEvents, type BusHandler, type BusOrigin, type BusScope, type BusTopic, type EventBus, LocalBus } from '../bus.js';
import type { Logger } from '../log.js';
import { decodeBatch, encodeBatch } from './bus-codec.js';
import type { ClusterLink } from './link.js';

type Hook<K extends BusTopic> = (payload: BusEvents[K], origin: BusOrigin) => Promise<void> | void;

/** Events queued for one Redis message at most; more go in the next. */
const MAX_BATCH = 2_000;
/**
 * Batches from other nodes received but not yet handed out (their hooks read the
 * database). Past this the node is not keeping up; later batches are dropped (and
 * counted) rather than held without bound: what matters is recomputed from the store.
 */
const MAX_PENDING = 1_000;

export interface ClusterBusStats {
  published: number;
  received: number;
  dropped: number;
}

export class ClusterBus implements EventBus {
  private readonly local: LocalBus;
  private readonly channel: string;
  private outbox: { topic: BusTopic; payload: unknown }[] = [];
  private flushScheduled = false;
  private readonly hooks = new Map<BusTopic, Hook<BusTopic>[]>();
  /** Remote batches are handled one after another, hooks included: order is kept per publisher. */
  private chain: Promise<void> = Promise.resolve();
  private lastDropLog = Number.NEGATIVE_INFINITY;
  private pending = 0;
  readonly stats: ClusterBusStats = { published: 0, received: 0, dropped: 0 };

  constructor(
    private readonly link: ClusterLink,
    private readonly log: Logger,
  ) {
    this.local = new LocalBus(log, link.nodeId);
    this.channel = link.key('bus');
  }

  /** Subscribes to the cluster's channel; resolves once Redis confirmed it. */
  async start(): Promise<void> {
    this.link.sub.on('messageBuffer', (channel: Buffer, message: Buffer) => {
      if (channel.toString() === this.channel) this.receive(message);
    });
    await this.link.sub.subscribe(this.channel);
  }

  publish<K extends BusTopic>(topic: K, payload: BusEvents[K]): void {
    this.local.publish(topic, payload);
    this.outbox.push({ topic, payload });
    if (this.outbox.length >= MAX_BATCH) this.flush();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  subscribe<K extends BusTopic>(topic: K, handler: BusHandler<K>, scope: BusScope = 'all'): () => void {
    return this.local.subscribe(topic, handler, scope);
  }

  /** Runs `hook` on every event of `topic` from another node before any subscriber gets it (and waits for it). */
  before<K extends BusTopic>(topic: K, hook: Hook<K>): void {
    const list = this.hooks.get(topic) ?? [];
    list.push(hook as Hook<BusTopic>);
    this.hooks.set(topic, list);
  }

  /** Resolves once every remote event received so far has been handed out. */
  settled(): Promise<void> {
    return this.chain;
  }

  /** Publishes what is queued now (before a takeover answer, so it is ahead of it). */
  flush(): void {
    this.flushScheduled = false;
    if (this.outbox.length === 0) return;
    const events = this.outbox;
    this.outbox = [];
    // Redis unreachable: the events are lost to the other nodes, which recompute what matters from PostgreSQL when it returns.
    if (!this.link.up) {
      this.stats.dropped += events.length;
      return;
    }
    this.stats.published += events.length;
    this.link.cmd.publish(this.channel, encodeBatch(this.link.nodeId, events)).catch((err: unknown) => {
      this.stats.dropped += events.length;
      this.log.debug({ err: (err as Error).message, events: events.length }, 'cluster: bus events not published');
    });
  }

  private receive(message: Buffer): void {
    const d = decodeBatch(message);
    if (!d.ok) {
      this.dropped(d.reason, 1);
      return;
    }
    const { node, events } = d.batch;
    // Redis hands a node its own messages back too: this node delivered those when they were published.
    if (node === this.link.nodeId) return;
    for (const x of d.dropped) this.dropped(`${x.topic}: ${x.reason}`, 1);
    if (this.pending >= MAX_PENDING) {
      this.dropped(`${MAX_PENDING} batches from other nodes are waiting to be handed out`, events.length);
      return;
    }
    this.stats.received += events.length;
    const origin: BusOrigin = { local: false, node };
    this.pending++;
    this.chain = this.chain.then(async () => {
      this.pending--;
      for (const { topic, payload } of events) {
        for (const hook of this.hooks.get(topic) ?? []) {
          try {
            await hook(payload, origin);
          } catch (err) {
            this.log.error({ err, topic, node }, 'cluster: a bus hook failed; delivering the event anyway');
          }
        }
        this.local.deliver(topic, payload, origin);
      }
    });
  }

  /** Messages dropped are counted; one log line a minute at most (a flood of them must not flood the log). */
  private dropped(reason: string, n: number): void {
    this.stats.dropped += n;
    const now = Date.now();
    if (now - this.lastDropLog < 60_000) return;
    this.lastDropLog = now;
    this.log.warn({ reason: reason.slice(0, 300) }, 'cluster: dropped a bus message from Redis');
  }
}
