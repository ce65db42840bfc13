// The embedded broker's session state: aedes's in-memory persistence, with the
// outgoing QoS 1 queues of persistent sessions bounded (offline-queue.ts) and,
// with a journal (session-journal.ts: a SQLite file on a single hub, PostgreSQL in
// a cluster), kept together with their subscriptions so that they survive a
// restart, or in a cluster the node that held them; and with the receive side of QoS 2 bounded. aedes keeps every QoS 2 PUBLISH until its PUBREL
// arrives, payload included, per client id and past the connection for clean=false
// sessions; a client that never sends PUBREL could make the hub hold gigabytes.
// Here a request is carried out when it arrives (authorizePublish), so what stays
// behind only has to answer a retransmission ([MQTT-4.3.3-2]): the packet id, no
// payload, a bounded number per client id and in total, forgotten when the session
// ends or expires.

import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';
import type { Client, Subscription } from 'aedes';
import type MemoryPersistenceType from 'aedes-persistence/types/asyncPersistence.js';
import {
  OfflineQueues,
  type QueueBounds,
  type QueueDepth,
  type QueueDropReason,
  type QueuedPacket,
  type QueueShed,
} from './offline-queue.js';
import { QueueReplay } from './queue-replay.js';
import type { LoadedSession, SessionJournal, StoredSession } from './session-journal.js';

// aedes-persistence is CommonJS and ships its types apart from the code.
const MemoryPersistence = createRequire(import.meta.url)('aedes-persistence/asyncPersistence.js') as typeof MemoryPersistenceType;
type AedesPacket = Parameters<MemoryPersistenceType['incomingStorePacket']>[1];

export interface InflightLimits {
  /** QoS 2 publishes awaiting PUBREL per client id. */
  perClient: number;
  /** QoS 2 publishes awaiting PUBREL across all client ids. */
  total: number;
}

/**
 * What to do with an incoming QoS 2 PUBLISH: carry it out (`new`), answer it
 * without carrying it out again (`duplicate`, a retransmission), or refuse it.
 */
export type Admission = 'new' | 'duplicate' | 'client_full' | 'total_full';

/**
 * Estimated bytes one remembered packet costs (the stored packet without payload
 * and the map entries); the total count bounds the memory at about this much each.
 */
export const INFLIGHT_ENTRY_BYTES = 300;

const EMPTY = Buffer.alloc(0);

export interface SessionStoreOptions {
  inflight: InflightLimits;
  queue: QueueBounds;
  /** Where sessions are kept across restarts; undefined keeps them in memory only. */
  db?: SessionJournal | undefined;
  /** Hears of every message dropped from a full session queue, or because all queues together were full. */
  onQueueDrop?: (clientId: string, why: QueueDropReason) => void;
  /** Hears of each cut of the largest queues to the bound of all queues together. */
  onQueueShed?: (r: QueueShed) => void;
  /**
   * Whether a session may be sent messages on `topic` (its account's ACL): one it may
   * not read is not queued, where it would only push out what it may. Absent: all.
   */
  mayRead?: (clientId: string, topic: string) => boolean;
}

/** A session as the hub knows it, for the API and the console. */
export interface SessionInfo extends QueueDepth {
  clientId: string;
  connected: boolean;
  /** ms since the epoch the client went away (undefined while connected). */
  leftAt: number | undefined;
}

/** What the outgoing queue sees of a packet: always a PUBLISH. */
type PublishLike = AedesPacket & { topic: string; payload: Buffer | string; qos: number };

type AedesSub = Awaited<ReturnType<MemoryPersistenceType['subscriptionsByTopic']>>[number];

/** A returning client whose queue will be sent once aedes has restored its subscriptions. */
const SOON = 'soon';

export class SessionStore extends MemoryPersistence {
  /** Client id -> packet ids admitted and not yet released. */
  private readonly inflight = new Map<string, Set<number>>();
  private inflightCount = 0;
  private readonly limits: InflightLimits;
  readonly queues: OfflineQueues;
  private readonly db: SessionJournal | undefined;
  /** Persistent sessions: client id -> when its client went away (undefined while connected). */
  private readonly sessions = new Map<string, { leftAt: number | undefined }>();
  /** Clients whose queue is being sent (outgoingStream), or is about to be (SOON). */
  private readonly replaying = new Map<string, QueueReplay | typeof SOON>();
  /** The replay of each connection sending its queue, told when aedes takes a message. */
  private readonly replays = new WeakMap<Client, QueueReplay>();
  /** Sessions read back at start, for the broker to expire (its clients are away). */
  restored: (StoredSession & { leftAt: number })[] = [];
  /** Sessions being let go (letGo): their end is not written. */
  private readonly quiet = new Set<string>();
  private readonly mayRead: (clientId: string, topic: string) => boolean;

  constructor(opts: SessionStoreOptions) {
    super();
    this.limits = opts.inflight;
    this.mayRead = opts.mayRead ?? (() => true);
    this.db = opts.db;
    const onDrop = opts.onQueueDrop ?? (() => {});
    this.queues = new OfflineQueues(
      opts.queue,
      this.db,
      (clientId, why) => {
        onDrop(clientId, why);
        this.db?.dropCount(clientId, this.queues.depth(clientId).dropped);
      },
      opts.onQueueShed,
    );
  }

  override async setup(broker: Parameters<MemoryPersistenceType['setup']>[0]): Promise<void> {
    await super.setup(broker);
    if (this.db === undefined) return;
    for (const s of await this.db.load()) this.restored.push(await this.adopt(s));
  }

  /**
   * Takes in a session read from the journal (at start, or in a cluster one this
   * node adopted or was handed): its subscriptions and queue, without writing them
   * again. Returns it with the time its client went away (now, for one whose client
   * was connected when its node stopped).
   */
  async adopt(s: LoadedSession): Promise<StoredSession & { leftAt: number }> {
    const leftAt = s.leftAt ?? Date.now();
    this.sessions.set(s.clientId, { leftAt });
    if (s.subscriptions.length > 0) {
      await super.addSubscriptions({ id: s.clientId } as Client, s.subscriptions as Subscription[]);
    }
    this.queues.setDropped(s.clientId, s.dropped);
    for (const q of s.queue) this.queues.restore(s.clientId, q.seq, q.packet);
    return { clientId: s.clientId, leftAt, dropped: s.dropped, subscriptions: s.subscriptions };
  }

  /**
   * Forgets a session here without touching the journal: in a cluster another node
   * holds it now (handed over, or adopted while this one was cut off).
   */
  async letGo(clientId: string): Promise<void> {
    this.quiet.add(clientId);
    try {
      await this.endSession(clientId);
    } finally {
      this.quiet.delete(clientId);
    }
  }

  /** A clean=false client connected: its session begins or is in use again. */
  sessionOpened(clientId: string): void {
    this.sessions.set(clientId, { leftAt: undefined });
    this.db?.opened(clientId);
  }

  /** A clean=false client went away; its session waits for it. */
  sessionLeft(clientId: string): void {
    const s = this.sessions.get(clientId);
    if (s === undefined) return;
    s.leftAt = Date.now();
    this.db?.left(clientId, s.leftAt);
  }

  /** Persistent sessions, optionally of one account (client ids scoped `account:id`). */
  sessionList(account?: string): SessionInfo[] {
    const out: SessionInfo[] = [];
    for (const [clientId, s] of this.sessions) {
      if (account !== undefined && !clientId.startsWith(`${account}:`)) continue;
      out.push({ clientId, connected: s.leftAt === undefined, leftAt: s.leftAt, ...this.queues.depth(clientId) });
    }
    return out;
  }

  hasSession(clientId: string): boolean {
    return this.sessions.has(clientId);
  }

  /** Persistent sessions kept, connected or not. */
  get sessionCount(): number {
    return this.sessions.size;
  }

  override async addSubscriptions(client: Client, subs: Subscription[]): Promise<void> {
    await super.addSubscriptions(client, subs);
    await this.db?.subscribed(client.id, subs);
  }

  override async removeSubscriptions(client: Client, topics: string[]): Promise<void> {
    await super.removeSubscriptions(client, topics);
    this.db?.unsubscribed(client.id, topics);
  }

  /** aedes calls this when a client connects with clean=true: any session of its id ends ([MQTT-3.1.2-6]). */
  override async cleanSubscriptions(client: Client): Promise<void> {
    await super.cleanSubscriptions(client);
    this.forget(client.id);
  }

  // The outgoing queue. aedes queues a QoS 1 publication for every persistent
  // subscription it matches, online or not (outgoingEnqueueCombi), records the packet
  // id when it sends one (outgoingUpdate), and removes it on PUBACK or when it is not
  // forwarded after all (outgoingClearMessageId); on reconnect it sends the queue
  // again (outgoingStream).

  override async outgoingEnqueue(sub: { clientId: string }, packet: AedesPacket): Promise<void> {
    this.enqueue(sub.clientId, packet);
  }

  override async outgoingEnqueueCombi(subs: AedesSub[], packet: AedesPacket): Promise<void> {
    // `$` topics reach nobody's subscription here (requests the hub consumed): never queue them.
    if ((packet as PublishLike).topic.startsWith('$')) return;
    // A client is listed once per filter that matches: it is queued the message once, and asked once.
    const seen = new Set<string>();
    for (const sub of subs) {
      if (seen.has(sub.clientId)) continue;
      seen.add(sub.clientId);
      this.enqueue(sub.clientId, packet);
    }
  }

  override async outgoingUpdate(client: Client, packet: AedesPacket): Promise<void> {
    // A message dropped from a full queue while on its way is still sent once: there is nothing to update.
    if (packet.messageId !== undefined) this.queues.sent(client.id, packet.brokerId, packet.brokerCounter, packet.messageId);
    this.replays.get(client)?.taken(packet.brokerId, packet.brokerCounter);
  }

  override async outgoingClearMessageId(client: Client, packet: AedesPacket): Promise<AedesPacket> {
    this.replays.get(client)?.taken(packet.brokerId, packet.brokerCounter);
    // aedes also calls this for a publication it chose not to forward, before it had a packet id.
    // A delivery held back while the queue is sent stays queued: the queue sends it.
    if (packet.messageId === undefined && this.holdsBack(client.id, packet.brokerId, packet.brokerCounter)) {
      return undefined as unknown as AedesPacket;
    }
    const gone =
      packet.messageId === undefined
        ? this.queues.discard(client.id, packet.brokerId, packet.brokerCounter)
        : this.queues.acknowledge(client.id, packet.messageId);
    return (gone === undefined ? undefined : toAedes(gone)) as AedesPacket;
  }

  /**
   * The queue as a returning client is sent it ([MQTT-4.4.0-1]), to its end,
   * including messages queued meanwhile (queue-replay.ts): while it runs, live
   * deliveries of queued messages to this client are held back (holdsBack), so the
   * client gets them in the order they were published rather than new ones first.
   */
  override outgoingStream(client: Client): Readable {
    const replay = new QueueReplay(client, this.queues, toAedes, (r) => {
      if (this.replaying.get(client.id) === r) this.replaying.delete(client.id);
    });
    this.replaying.set(client.id, replay);
    this.replays.set(client, replay);
    return replay;
  }

  /**
   * Whether a live delivery to `clientId` must wait because its queue is being sent
   * (outgoingStream): the message is queued, so the queue sends it in its turn.
   */
  holdsBack(clientId: string, brokerId: string, brokerCounter: number): boolean {
    return this.replaying.has(clientId) && this.queues.seqOf(clientId, brokerId, brokerCounter) !== undefined;
  }

  /**
   * aedes reads a returning client's subscriptions (and restores them) before it
   * sends the queue: live deliveries are held back from here on, not only once the
   * queue starts, or one could slip in ahead of it.
   */
  override async subscriptionsByClient(client: Client): Promise<Awaited<ReturnType<MemoryPersistenceType['subscriptionsByClient']>>> {
    if (this.sessions.has(client.id)) this.replaying.set(client.id, SOON);
    return super.subscriptionsByClient(client);
  }

  /** A session's subscriptions, for the hub's own use (no side effect). */
  subscriptionsOf(clientId: string): Promise<Awaited<ReturnType<MemoryPersistenceType['subscriptionsByClient']>>> {
    return super.subscriptionsByClient({ id: clientId } as Client);
  }

  /**
   * Decides on a QoS 2 PUBLISH before the hub carries it out, and reserves its slot
   * at once: a socket read's packets are authorized concurrently, so a check that
   * waited for the store would let them all through.
   */
  admit(clientId: string, messageId: number): Admission {
    let mine = this.inflight.get(clientId);
    if (mine?.has(messageId)) return 'duplicate';
    if ((mine?.size ?? 0) >= this.limits.perClient) return 'client_full';
    if (this.inflightCount >= this.limits.total) return 'total_full';
    if (mine === undefined) {
      mine = new Set();
      this.inflight.set(clientId, mine);
    }
    mine.add(messageId);
    this.inflightCount++;
    return 'new';
  }

  /** QoS 2 publishes awaiting PUBREL, in total. */
  get pending(): number {
    return this.inflightCount;
  }

  /** QoS 2 publishes awaiting PUBREL from one client id. */
  pendingOf(clientId: string): number {
    return this.inflight.get(clientId)?.size ?? 0;
  }

  override async incomingStorePacket(client: Client, packet: AedesPacket): Promise<void> {
    // The hub has already carried the request out; only the packet id matters now.
    await super.incomingStorePacket(client, { ...packet, payload: EMPTY } as AedesPacket);
  }

  override async incomingDelPacket(client: Client, packet: AedesPacket): Promise<void> {
    try {
      await super.incomingDelPacket(client, packet);
    } finally {
      this.release(client.id, packet.messageId);
    }
  }

  override async cleanIncoming(client: Client): Promise<void> {
    await super.cleanIncoming(client);
    this.releaseAll(client.id);
  }

  /**
   * Forgets everything about a client id whose session ended without it: its
   * subscriptions, its unreleased QoS 2 packets and its will. Returns how many
   * unreleased packets were forgotten.
   */
  async endSession(clientId: string): Promise<{ unreleased: number; queued: number }> {
    const unreleased = this.pendingOf(clientId);
    const queued = this.queues.depth(clientId).messages;
    const client = { id: clientId } as Client;
    await this.cleanSubscriptions(client);
    await this.cleanIncoming(client);
    await this.delWill(client);
    return { unreleased, queued };
  }

  /** Queues a message for a persistent session (one another node of a cluster published). */
  enqueueFor(clientId: string, packet: AedesPacket): void {
    if (this.sessions.has(clientId)) this.enqueue(clientId, packet);
  }

  /** Writes pending changes now (an admin's drop answers once its session is gone from the journal too). */
  async flushJournal(): Promise<void> {
    await this.db?.flush();
  }

  /** Writes pending changes and closes the journal. */
  async close(): Promise<void> {
    await this.db?.close();
  }

  private enqueue(clientId: string, aedesPacket: AedesPacket): void {
    const packet = aedesPacket as PublishLike;
    if (packet.qos === 0 || !this.mayRead(clientId, packet.topic)) return;
    this.queues.enqueue(clientId, {
      topic: packet.topic,
      payload: typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload,
      qos: 1,
      brokerId: packet.brokerId,
      brokerCounter: packet.brokerCounter,
      messageId: undefined,
    });
  }

  private forget(clientId: string): void {
    this.replaying.delete(clientId);
    this.queues.drop(clientId);
    if (this.sessions.delete(clientId) && !this.quiet.has(clientId)) this.db?.ended(clientId);
  }

  private release(clientId: string, messageId: number | undefined): void {
    const mine = this.inflight.get(clientId);
    if (mine === undefined || messageId === undefined || !mine.delete(messageId)) return;
    this.inflightCount--;
    if (mine.size === 0) this.inflight.delete(clientId);
  }

  private releaseAll(clientId: string): void {
    const mine = this.inflight.get(clientId);
    if (mine === undefined) return;
    this.inflightCount -= mine.size;
    this.inflight.delete(clientId);
  }
}

/** A queued message as aedes delivers it again: one sent before goes out with DUP set ([MQTT-3.3.1-1]). */
function toAedes(p: QueuedPacket): AedesPacket {
  return {
    cmd: 'publish',
    topic: p.topic,
    payload: p.payload,
    qos: 1,
    retain: false,
    dup: p.messageId !== undefined,
    messageId: p.messageId,
    brokerId: p.brokerId,
    brokerCounter: p.brokerCounter,
  } as AedesPacket;
}
