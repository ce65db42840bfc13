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
import { Redis } from 'ioredis';
import { z } from 'zod';
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
  options: { subConn: Redis; pubConn: Redis; concurrency: number; matchEmptyLevels: boolean },
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
    // The broker subscribes whenever a client does, so a PSUBSCRIBE can come while
    // this connection is still in its handshake, and ioredis writes it at once. Its
    // ready check (INFO) would then be refused in subscriber mode: the connection
    // dropped, and the patterns subscribed meanwhile were lost for good. Nothing but
    // (P)SUBSCRIBE goes on this connection, so it needs neither the check nor the
    // client-info commands.
    subConn: new Redis(url.toString(), { enableReadyCheck: false, disableClientInfo: true }),
    pubConn: new Redis(url.toString()),
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
 * get only this node's messages. Each session is held by one node at a time
 * (session-pg.ts): the one its client last used, or the one that adopted it.
 *
 * While a session is being brought here for its returning client (handed over by
 * its holder, or taken from a dead one), nobody queues for it: its holder let it go
 * and this node has not read it yet. `catchFor` keeps what is published for it
 * meanwhile, by every node, and `arrived` queues that once the session is here (the
 * queue drops copies of what it already holds).
 */
export class RemoteFeed {
  private readonly feeds = new Map<string, { topic: string; listener: (p: AedesPublishPacket, done: () => void) => void }[]>();
  /** Sessions being brought here: what was published for them meanwhile, oldest first, and its bytes. */
  private readonly caught = new Map<string, { packets: AedesPublishPacket[]; bytes: number }>();

  constructor(
    private readonly mq: ClusterEmitter,
    /** Whether a packet was published by this node (queued already by aedes). */
    private readonly own: (packet: AedesPublishPacket) => boolean,
    private readonly enqueue: (clientId: string, packet: AedesPublishPacket) => void,
    /** What a session's catch keeps at most (a session's queue bounds): the oldest goes beyond. */
    private readonly bounds: { messages: number; bytes: number },
  ) {}

  /** The session's client went away: queue other nodes' messages matching its QoS 1+ subscriptions. */
  start(clientId: string, subscriptions: readonly { topic: string; qos: number }[]): void {
    // Adopted here while its client was bringing it here (catchFor): what was caught stays for `arrived`.
    const caught = this.caught.get(clientId);
    this.stop(clientId);
    if (caught !== undefined) this.caught.set(clientId, caught);
    const feeds = subscriptions
      .filter((s) => s.qos > 0)
      .map((s) => ({
        topic: s.topic,
        listener: (packet: AedesPublishPacket, done: () => void) => {
          // `$` topics match no wildcard filter ([MQTT-4.7.2-1]); QoS 0 is never queued.
          if (packet.qos > 0 && !packet.topic.startsWith('$')) this.take(clientId, packet);
          done();
        },
      }));
    for (const f of feeds) this.mq.on(f.topic, f.listener);
    if (feeds.length > 0) this.feeds.set(clientId, feeds);
  }

  /** The session is being brought here: keep every message for it (this node's too) until it `arrived`. */
  catchFor(clientId: string, subscriptions: readonly { topic: string; qos: number }[]): void {
    this.caught.set(clientId, { packets: [], bytes: 0 });
    this.start(clientId, subscriptions);
  }

  /** The session is here: what was caught is queued, and from now on other nodes' messages are, as for a waiting session. */
  arrived(clientId: string): void {
    const c = this.caught.get(clientId);
    this.caught.delete(clientId);
    for (const p of c?.packets ?? []) this.enqueue(clientId, p);
  }

  /** The client is back (its own subscriptions deliver again), the session ended, or it did not come here after all. */
  stop(clientId: string): void {
    this.caught.delete(clientId);
    const feeds = this.feeds.get(clientId);
    if (feeds === undefined) return;
    this.feeds.delete(clientId);
    for (const f of feeds) this.mq.removeListener(f.topic, f.listener);
  }

  private take(clientId: string, packet: AedesPublishPacket): void {
    const c = this.caught.get(clientId);
    if (c === undefined) {
      if (!this.own(packet)) this.enqueue(clientId, packet);
      return;
    }
    c.packets.push(packet);
    c.bytes += packetBytes(packet);
    while (c.packets.length > this.bounds.messages || c.bytes > this.bounds.bytes) {
      const oldest = c.packets.shift();
      if (oldest === undefined) break;
      c.bytes -= packetBytes(oldest);
    }
  }
}

const packetBytes = (p: AedesPublishPacket) =>
  Buffer.byteLength(p.topic) + (typeof p.payload === 'string' ? Buffer.byteLength(p.payload) : p.payload.length);

/**
 * How long a node waits for the node holding a persistent session to hand it over,
 * ms: that node writes the session's pending changes and passes it on in
 * PostgreSQL first (two commits), so this is far above what that takes.
 */
export const HANDOVER_WAIT_MS = 2_000;

const WANT_TOPIC = '$halyard/session/want';
const giveTopic = (node: string) => `$halyard/session/give/${node}`;

/** What the handover needs of this node's sessions. */
export interface SessionHolder {
  /** Passes the session `clientId` this node holds to node `to` (in the shared storage); false when it held none. */
  give(clientId: string, to: string): Promise<boolean>;
}

const wantShape = z.object({ clientId: z.string().max(256), node: z.string().max(256), holder: z.string().max(256) });
/** A handover answer as it must look (Redis is shared infrastructure, not the truth: checked like the bus). */
const giveShape = z.object({ clientId: z.string().max(256), given: z.boolean() });

/**
 * Moves a persistent session held by a live node to the node its client comes
 * back to (README.md § Running a cluster): the session lives in PostgreSQL
 * (session-pg.ts), but one node at a time holds it and delivers to it. The node
 * the client reached asks the holder (`$halyard/session/want`, a topic no client
 * can subscribe to); the holder closes the client's old connection if any, writes
 * the session's pending changes, makes the asker its holder, forgets it and
 * answers; the asker then reads it. Messages published during the move
 * (milliseconds) can miss it.
 */
export class SessionHandover {
  private readonly waiting = new Map<string, (given: boolean) => void>();

  constructor(
    private readonly mq: ClusterEmitter,
    /** This node's id, where answers come. */
    private readonly node: string,
    private readonly holder: SessionHolder,
    private readonly failed: (err: unknown) => void,
  ) {
    mq.on(WANT_TOPIC, (packet, done) => {
      done();
      this.asked(packet).catch(failed);
    });
    mq.on(giveTopic(node), (packet, done) => {
      done();
      try {
        const parsed = giveShape.safeParse(JSON.parse(payloadText(packet)));
        if (!parsed.success) throw new Error(`a session handover answer failed its checks: ${parsed.error.issues[0]?.message}`);
        this.waiting.get(parsed.data.clientId)?.(parsed.data.given);
      } catch (err) {
        failed(err);
      }
    });
  }

  /** Asks node `holder` for the session `clientId`: true once handed over, false if it had none, undefined after `waitMs`. */
  want(clientId: string, holder: string, waitMs = HANDOVER_WAIT_MS): Promise<boolean | undefined> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(undefined), waitMs);
      const done = (given: boolean | undefined) => {
        clearTimeout(timer);
        if (this.waiting.get(clientId) === done) this.waiting.delete(clientId);
        resolve(given);
      };
      this.waiting.set(clientId, done);
      this.mq.emit(publish(WANT_TOPIC, { clientId, node: this.node, holder }), (err) => {
        if (err) {
          this.failed(err);
          done(undefined);
        }
      });
    });
  }

  private async asked(packet: AedesPublishPacket): Promise<void> {
    const parsed = wantShape.safeParse(JSON.parse(payloadText(packet)));
    if (!parsed.success) throw new Error(`a session handover request failed its checks: ${parsed.error.issues[0]?.message}`);
    const { clientId, node, holder } = parsed.data;
    if (holder !== this.node || node === this.node) return;
    const given = await this.holder.give(clientId, node);
    this.mq.emit(publish(giveTopic(node), { clientId, given }), (err) => {
      if (err) this.failed(err);
    });
  }
}

function payloadText(packet: AedesPublishPacket): string {
  return Buffer.isBuffer(packet.payload) ? packet.payload.toString('utf8') : String(packet.payload);
}

function publish(topic: string, body: unknown): AedesPublishPacket {
  return { cmd: 'publish', topic, payload: Buffer.from(JSON.stringify(body)), qos: 0, retain: false, dup: false } as AedesPublishPacket;
}
