// The QoS 1 messages a persistent session (clean=false) holds for its client:
// queued while it is away, and kept after sending until its PUBACK (aedes's
// outgoing queue: README.md § MQTT). Each session's queue is bounded by count
// and bytes (--mqtt-queue-messages, --mqtt-queue-bytes); when full, the oldest
// message goes first and is counted, so an absent or stuck client costs a fixed
// amount of memory and never holds up anyone else. All sessions' queues together
// are bounded too (--mqtt-queue-total): beyond it the largest queues drop their
// oldest messages, cut to one level, so that the total is back at nine tenths of the
// bound; sessions holding less than that level keep everything.
//
// This is the bound only: where the queue also lives (a SQLite file on a single
// hub, session-db.ts) hears of every change through `QueueJournal`.

/** A queued message as the hub keeps it: what aedes needs to deliver it again. */
export interface QueuedPacket {
  topic: string;
  payload: Buffer;
  qos: 1;
  /** aedes's identity of the publication (broker id, counter): how a delivery finds its queued copy. */
  brokerId: string;
  brokerCounter: number;
  /** The packet id it was sent with, once sent; a message with one is sent again with DUP set ([MQTT-3.3.1-1]). */
  messageId: number | undefined;
}

export interface QueueBounds {
  /** Messages per session, at least 1. */
  messages: number;
  /** Bytes of topic and payload per session. */
  bytes: number;
  /** Memory of all sessions' queues together: topics, payloads and ENTRY_BYTES per message (unbounded when absent). */
  totalBytes?: number;
  /** What one queued message costs beyond its topic and payload, toward `totalBytes` (ENTRY_BYTES; tests set it). */
  entryBytes?: number;
}

/**
 * What a queued message costs beyond its topic and payload: its entry and packet
 * objects, two Map entries (one with a string key) and the journal's bookkeeping.
 * Measured at about 340 bytes (heap after a forced GC, 300,000 messages).
 */
export const ENTRY_BYTES = 350;

/** Why a message was dropped: its session's queue was full, or all sessions' queues together were. */
export type QueueDropReason = 'session' | 'total';

/** What one cut to the total bound dropped. */
export interface QueueShed {
  sessions: number;
  messages: number;
  bytes: number;
}

/** Where a queue's changes are written (a store that survives a restart). */
export interface QueueJournal {
  /** A message was added or its packet id changed. */
  put(clientId: string, seq: number, p: QueuedPacket): void;
  /** A message left the queue (acknowledged, dropped or refused). */
  delete(clientId: string, seq: number): void;
}

interface Entry {
  seq: number;
  packet: QueuedPacket;
  bytes: number;
}

export interface QueueDepth {
  messages: number;
  bytes: number;
  /** Messages dropped from this session's queue because it was full, since the session began. */
  dropped: number;
}

const brokerKey = (brokerId: string, counter: number) => `${brokerId}\u0000${counter}`;

class ClientQueue {
  /** By sequence number, oldest first (a Map keeps insertion order). */
  readonly entries = new Map<number, Entry>();
  readonly byPublication = new Map<string, number>();
  readonly byMessageId = new Map<number, number>();
  bytes = 0;
  dropped = 0;
}

export class OfflineQueues {
  private readonly queues = new Map<string, ClientQueue>();
  private nextSeq = 1;
  private total = 0;
  private totalBytes = 0;

  /** `dropped` hears of every message dropped from a full queue; `shed` of each cut to the total bound. */
  constructor(
    private readonly bounds: Readonly<QueueBounds>,
    private readonly journal: QueueJournal | undefined,
    private readonly dropped: (clientId: string, why: QueueDropReason) => void,
    private readonly shed: (r: QueueShed) => void = () => {},
  ) {}

  /** Messages queued for all sessions. */
  get size(): number {
    return this.total;
  }

  /** Memory of all sessions' queues: topics, payloads and the bookkeeping per message (ENTRY_BYTES). */
  get bytes(): number {
    return this.totalBytes;
  }

  depth(clientId: string): QueueDepth {
    const q = this.queues.get(clientId);
    return { messages: q?.entries.size ?? 0, bytes: q?.bytes ?? 0, dropped: q?.dropped ?? 0 };
  }

  /** Restores a queue read back from the journal (its drop count set first, setDropped): oldest first, bounds applied. */
  restore(clientId: string, seq: number, packet: QueuedPacket): void {
    this.nextSeq = Math.max(this.nextSeq, seq + 1);
    this.add(clientId, this.queue(clientId), seq, packet, false);
  }

  /** Adds a message for a session; drops its oldest ones beyond the bounds. */
  enqueue(clientId: string, packet: QueuedPacket): void {
    const q = this.queue(clientId);
    // A client subscribed with overlapping filters is matched once per filter: one copy is enough.
    if (q.byPublication.has(brokerKey(packet.brokerId, packet.brokerCounter))) return;
    this.add(clientId, q, this.nextSeq++, packet, true);
  }

  /** Records the packet id a queued message is being sent with; false when it is no longer queued. */
  sent(clientId: string, brokerId: string, brokerCounter: number, messageId: number): boolean {
    const q = this.queues.get(clientId);
    const seq = q?.byPublication.get(brokerKey(brokerId, brokerCounter));
    const e = seq === undefined ? undefined : q?.entries.get(seq);
    if (q === undefined || e === undefined) return false;
    if (e.packet.messageId !== undefined && q.byMessageId.get(e.packet.messageId) === e.seq) q.byMessageId.delete(e.packet.messageId);
    e.packet.messageId = messageId;
    q.byMessageId.set(messageId, e.seq);
    this.journal?.put(clientId, e.seq, e.packet);
    return true;
  }

  /** Removes the message sent with `messageId` (its PUBACK arrived); returns it. */
  acknowledge(clientId: string, messageId: number): QueuedPacket | undefined {
    const q = this.queues.get(clientId);
    const seq = q?.byMessageId.get(messageId);
    return q === undefined || seq === undefined ? undefined : this.remove(clientId, q, seq);
  }

  /** Removes a message not sent after all (refused on delivery); returns it. */
  discard(clientId: string, brokerId: string, brokerCounter: number): QueuedPacket | undefined {
    const q = this.queues.get(clientId);
    const seq = q?.byPublication.get(brokerKey(brokerId, brokerCounter));
    return q === undefined || seq === undefined ? undefined : this.remove(clientId, q, seq);
  }

  /** The session's messages, oldest first (a copy: the queue may change while they are sent). */
  list(clientId: string): QueuedPacket[] {
    return this.after(clientId, 0).map((e) => e.packet);
  }

  /** The session's messages queued after sequence number `seq`, oldest first, with their numbers (copies). */
  after(clientId: string, seq: number): { seq: number; packet: QueuedPacket }[] {
    const q = this.queues.get(clientId);
    if (q === undefined) return [];
    const out: { seq: number; packet: QueuedPacket }[] = [];
    for (const e of q.entries.values()) if (e.seq > seq) out.push({ seq: e.seq, packet: { ...e.packet } });
    return out;
  }

  /**
   * The session's messages oldest first, as a live view (a Map's iterator): it
   * reaches messages queued while it is read, and skips ones removed meanwhile.
   */
  walk(clientId: string): Iterator<{ readonly seq: number; readonly packet: QueuedPacket }> {
    return this.queue(clientId).entries.values();
  }

  /** Whether message `seq` is still queued for the session. */
  has(clientId: string, seq: number): boolean {
    return this.queues.get(clientId)?.entries.has(seq) ?? false;
  }

  /** The sequence number of a queued publication, if queued for the session. */
  seqOf(clientId: string, brokerId: string, brokerCounter: number): number | undefined {
    return this.queues.get(clientId)?.byPublication.get(brokerKey(brokerId, brokerCounter));
  }

  /** Sets the drop count of a session moved here from another node. */
  setDropped(clientId: string, dropped: number): void {
    this.queue(clientId).dropped = dropped;
  }

  /** Forgets a session's queue (the session ended); returns how many messages it held. */
  drop(clientId: string): number {
    const q = this.queues.get(clientId);
    if (q === undefined) return 0;
    this.queues.delete(clientId);
    this.total -= q.entries.size;
    this.totalBytes -= this.cost(q);
    return q.entries.size;
  }

  private queue(clientId: string): ClientQueue {
    let q = this.queues.get(clientId);
    if (q === undefined) {
      q = new ClientQueue();
      this.queues.set(clientId, q);
    }
    return q;
  }

  private add(clientId: string, q: ClientQueue, seq: number, packet: QueuedPacket, journal: boolean): void {
    const bytes = Buffer.byteLength(packet.topic) + packet.payload.length;
    q.entries.set(seq, { seq, packet, bytes });
    q.byPublication.set(brokerKey(packet.brokerId, packet.brokerCounter), seq);
    if (packet.messageId !== undefined) q.byMessageId.set(packet.messageId, seq);
    q.bytes += bytes;
    this.total++;
    this.totalBytes += bytes + this.entryBytes;
    if (journal) this.journal?.put(clientId, seq, packet);
    // Oldest first; a message larger than the whole byte bound does not stay either.
    while (q.entries.size > this.bounds.messages || (q.bytes > this.bounds.bytes && q.entries.size > 0)) {
      this.dropOldest(clientId, q, 'session');
    }
    const cap = this.bounds.totalBytes;
    if (cap !== undefined && this.totalBytes > cap) this.cutTo(Math.floor(cap * 0.9));
  }

  private get entryBytes(): number {
    return this.bounds.entryBytes ?? ENTRY_BYTES;
  }

  /** A queue's memory toward the total bound. */
  private cost(q: ClientQueue): number {
    return q.bytes + q.entries.size * this.entryBytes;
  }

  private dropOldest(clientId: string, q: ClientQueue, why: QueueDropReason): void {
    const oldest = q.entries.keys().next().value as number;
    this.remove(clientId, q, oldest);
    q.dropped++;
    this.dropped(clientId, why);
  }

  /**
   * Cuts the largest queues to one level, the highest that brings the total to
   * `target` or below (sessions below it keep everything): one sort per cut, and
   * each cut frees a tenth of the bound, so the cost is spread over many messages.
   */
  private cutTo(target: number): void {
    const largest = [...this.queues].filter(([, q]) => q.entries.size > 0).sort(([, a], [, b]) => this.cost(b) - this.cost(a));
    // The k largest are cut to `level`; the rest keep their bytes.
    let rest = this.totalBytes;
    let level = 0;
    let k = 0;
    while (k < largest.length) {
      rest -= this.cost((largest[k] as [string, ClientQueue])[1]);
      k++;
      level = Math.floor((target - rest) / k);
      const queue = largest[k]?.[1];
      const next = queue === undefined ? 0 : this.cost(queue);
      if (level >= next) break;
    }
    const before = { messages: this.total, bytes: this.totalBytes };
    let sessions = 0;
    for (const [clientId, q] of largest.slice(0, k)) {
      if (this.cost(q) <= level) continue;
      sessions++;
      while (this.cost(q) > Math.max(level, 0) && q.entries.size > 0) this.dropOldest(clientId, q, 'total');
    }
    this.shed({ sessions, messages: before.messages - this.total, bytes: before.bytes - this.totalBytes });
  }

  private remove(clientId: string, q: ClientQueue, seq: number): QueuedPacket | undefined {
    const e = q.entries.get(seq);
    if (e === undefined) return undefined;
    q.entries.delete(seq);
    q.byPublication.delete(brokerKey(e.packet.brokerId, e.packet.brokerCounter));
    if (e.packet.messageId !== undefined && q.byMessageId.get(e.packet.messageId) === seq) q.byMessageId.delete(e.packet.messageId);
    q.bytes -= e.bytes;
    this.total--;
    this.totalBytes -= e.bytes + this.entryBytes;
    this.journal?.delete(clientId, seq);
    // An empty queue keeps its drop count while the session lives (drop() ends both).
    return e.packet;
  }
}
