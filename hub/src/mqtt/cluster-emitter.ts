// The embedded broker in a cluster (README.md § Running a cluster, MQTT): aedes
// carries publishes between nodes through Redis (mqemitter-redis), so an
// integrator on any node gets what the hub publishes on every node. Each node
// publishes only its own events (the mirror takes the bus's local scope) and
// carries out only the requests its own clients publish (authorizePublish runs on
// the node a PUBLISH arrives at; other nodes see it only as a packet on
// `$halyard/consumed`, which nobody can subscribe to). Retained messages other
// nodes publish are kept here too, so a subscriber on any node gets the whole
// fleet's retained state; Redis holds none of it, so its restart loses nothing
// but what was published while it was away, which each node publishes again
// (the mirror, on `reconnected`).

import { createRequire } from 'node:module';
import type { AedesPublishPacket } from 'aedes';
import { DEFAULT_PREFIX } from '../cluster/link.js';

/** What the broker needs of mqemitter-redis (an mqemitter whose messages go through Redis). */
export interface ClusterEmitter {
  on(topic: string, listener: (message: AedesPublishPacket, done: () => void) => void, callback?: () => void): void;
  emit(message: AedesPublishPacket, callback?: (error?: Error) => void): void;
  removeListener(topic: string, listener: (message: AedesPublishPacket, done: () => void) => void, callback?: () => void): void;
  close(callback: () => void): void;
  state: NodeJS.EventEmitter;
}

type PrefixedEmitter = new (
  prefix: string,
  options: { connectionString: string; concurrency: number; matchEmptyLevels: boolean },
) => ClusterEmitter;

// mqemitter-redis is CommonJS, and its types leave out the prefixed variant.
const { MQEmitterRedisPrefix } = createRequire(import.meta.url)('mqemitter-redis') as { MQEmitterRedisPrefix: PrefixedEmitter };

/**
 * The emitter for `--cluster` (`redis://...[?prefix=...]`): its channels are the
 * cluster's prefix + `mqtt:` + the MQTT topic, apart from the cluster's own keys
 * and from other clusters sharing the Redis.
 */
export function clusterEmitter(clusterUrl: string, concurrency: number): ClusterEmitter {
  const url = new URL(clusterUrl);
  const prefix = url.searchParams.get('prefix') ?? DEFAULT_PREFIX;
  url.searchParams.delete('prefix');
  const mq = new MQEmitterRedisPrefix(`${prefix}mqtt:`, {
    connectionString: url.toString(),
    concurrency,
    // [MQTT-4.7.1-3], as aedes's own emitter.
    matchEmptyLevels: true,
  });
  return mq;
}

/**
 * Keeps the retained messages other nodes publish on `topics` in `store` (each
 * node's broker stores only what it publishes itself). `own` tells this node's
 * packets apart (already stored).
 */
export function replicateRetained(
  mq: ClusterEmitter,
  topics: readonly string[],
  own: (packet: AedesPublishPacket) => boolean,
  store: (packet: AedesPublishPacket) => Promise<void>,
  failed: (err: unknown) => void,
): void {
  for (const topic of topics) {
    mq.on(topic, (packet, done) => {
      if (!packet.retain || own(packet)) {
        done();
        return;
      }
      // A cleared topic comes as an empty payload (storeRetained deletes it).
      store({ ...packet, payload: Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload) }).then(
        done,
        (err: unknown) => {
          failed(err);
          done();
        },
      );
    });
  }
}

/**
 * Queues what other nodes publish for the persistent sessions waiting on this
 * node. aedes queues a publication for waiting sessions on the node that publishes
 * it, from that node's own sessions, so without this a session waiting here would
 * get only this node's messages. Sessions live on the node their client used (its
 * mqtt-sessions file); a client returns to it to resume (README.md § Running a
 * cluster).
 */
export class RemoteFeed {
  private readonly feeds = new Map<string, { topic: string; listener: (p: AedesPublishPacket, done: () => void) => void }[]>();

  constructor(
    private readonly mq: ClusterEmitter,
    /** Whether a packet was published by this node (queued already by aedes). */
    private readonly own: (packet: AedesPublishPacket) => boolean,
    private readonly enqueue: (clientId: string, packet: AedesPublishPacket) => void,
  ) {}

  /** The session's client went away: queue other nodes' messages matching its QoS 1+ subscriptions. */
  start(clientId: string, subscriptions: readonly { topic: string; qos: number }[]): void {
    this.stop(clientId);
    const feeds = subscriptions
      .filter((s) => s.qos > 0)
      .map((s) => ({
        topic: s.topic,
        listener: (packet: AedesPublishPacket, done: () => void) => {
          // `$` topics match no wildcard filter ([MQTT-4.7.2-1]); QoS 0 is never queued.
          if (packet.qos > 0 && !packet.topic.startsWith('$') && !this.own(packet)) this.enqueue(clientId, packet);
          done();
        },
      }));
    for (const f of feeds) this.mq.on(f.topic, f.listener);
    if (feeds.length > 0) this.feeds.set(clientId, feeds);
  }

  /** The client is back (its own subscriptions deliver again) or the session ended. */
  stop(clientId: string): void {
    const feeds = this.feeds.get(clientId);
    if (feeds === undefined) return;
    this.feeds.delete(clientId);
    for (const f of feeds) this.mq.removeListener(f.topic, f.listener);
  }
}
