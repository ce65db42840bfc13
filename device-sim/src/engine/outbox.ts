// A device's uplink outbox: the sequence counter and the bounded buffer of messages
// not yet acknowledged (SPEC.md §5.5). Messages wait here while the device is offline
// and are resent after each WELCOME, oldest first; a full buffer drops its oldest entry.

/** One encoded TELEMETRY, EVENT or REPORTED waiting for its ACK. */
export interface OutboxEntry {
  seq: number;
  bytes: Uint8Array;
  /** performance.now() when sent on the current connection; 0 when not sent on it yet. */
  sentAt: number;
  /** Put on the wire on some connection: the hub may hold it already. */
  everSent: boolean;
}

export interface WelcomeOutcome {
  /** Entries the hub already holds (seq <= acked), now dropped. */
  dropped: number;
  /** Entries renumbered after acked because the counter was behind the hub's. */
  renumbered: number;
}

/** SPEC.md §5.5: no more than 1,000 messages unacknowledged in flight. */
export const MAX_IN_FLIGHT = 1_000;

export class Outbox {
  private entries: OutboxEntry[] = [];
  private head = 0;
  /** Index (relative to head) of the next entry to send on this connection. */
  private cursor = 0;
  private next = 1;

  constructor(
    /** Most entries kept; the oldest is dropped past it. */
    readonly capacity: number,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('outbox capacity must be a positive integer');
  }

  get size(): number {
    return this.entries.length - this.head;
  }

  /** Entries sent on the current connection and not acknowledged yet. */
  get inFlight(): number {
    return this.cursor;
  }

  /** The sequence number the next message will take. */
  get nextSeq(): number {
    return this.next;
  }

  /** Takes a sequence number for a message about to be encoded. */
  allocate(): number {
    return this.next++;
  }

  /** Adds an encoded message; returns 1 if the oldest entry had to be dropped, else 0. */
  push(seq: number, bytes: Uint8Array): number {
    let dropped = 0;
    if (this.size >= this.capacity) {
      this.head++;
      if (this.cursor > 0) this.cursor--;
      dropped = 1;
      this.compact();
    }
    this.entries.push({ seq, bytes, sentAt: 0, everSent: false });
    return dropped;
  }

  /** The next entry to put on the wire, if the in-flight window allows one. */
  peekUnsent(window = MAX_IN_FLIGHT): OutboxEntry | undefined {
    if (this.cursor >= window) return undefined;
    return this.entries[this.head + this.cursor];
  }

  /** Marks the entry peekUnsent() returned as sent; returns true when it is a resend. */
  markSent(now: number): boolean {
    const entry = this.entries[this.head + this.cursor];
    if (entry === undefined) throw new RangeError('markSent() without an unsent entry');
    const resend = entry.everSent;
    entry.sentAt = now;
    entry.everSent = true;
    this.cursor++;
    return resend;
  }

  /**
   * Applies a cumulative ACK: drops every entry with seq <= `seq`. `onLatency` gets the
   * time from send to now for each entry sent on this connection. Returns how many went.
   */
  ack(seq: number, now: number, onLatency?: (ms: number) => void): number {
    let removed = 0;
    while (this.head < this.entries.length) {
      const entry = this.entries[this.head] as OutboxEntry;
      if (entry.seq > seq) break;
      if (entry.sentAt > 0 && onLatency !== undefined) onLatency(now - entry.sentAt);
      this.head++;
      removed++;
    }
    this.cursor = Math.max(0, this.cursor - removed);
    this.compact();
    return removed;
  }

  /** A connection ended: everything left is to be resent on the next one. */
  resetConnection(): void {
    for (let i = this.head; i < this.entries.length; i++) (this.entries[i] as OutboxEntry).sentAt = 0;
    this.cursor = 0;
  }

  /**
   * SPEC.md §5.5 after WELCOME: drop what the hub holds; if the counter is behind the
   * hub's (`acked` >= nextSeq), continue from acked + 1. Entries numbered behind the hub
   * that were never sent cannot be in the store, so they are renumbered after `acked`
   * rather than dropped as duplicates (the spec's literal rule would lose them).
   */
  welcome(acked: number): WelcomeOutcome {
    this.resetConnection();
    let dropped = 0;
    let renumbered = 0;
    if (this.next <= acked) {
      let next = acked + 1;
      const kept: OutboxEntry[] = [];
      for (let i = this.head; i < this.entries.length; i++) {
        const entry = this.entries[i] as OutboxEntry;
        if (entry.everSent) {
          dropped++;
          continue;
        }
        entry.seq = next++;
        entry.bytes = replaceSeq(entry.bytes, entry.seq);
        kept.push(entry);
        renumbered++;
      }
      this.entries = kept;
      this.head = 0;
      this.next = next;
    } else {
      while (this.head < this.entries.length && (this.entries[this.head] as OutboxEntry).seq <= acked) {
        this.head++;
        dropped++;
      }
      this.compact();
    }
    return { dropped, renumbered };
  }

  /**
   * Drops the message the hub refused before a 4400/4413 close, which would fail
   * again if resent: the entry with the seq the ERROR named (SPEC.md §8.3), if it
   * was sent before.
   */
  dropRefused(seq: number): OutboxEntry | undefined {
    const at = this.entries.findIndex((e, i) => i >= this.head && e.seq === seq);
    const entry = this.entries[at];
    if (at < this.head || entry === undefined || !entry.everSent) return undefined;
    if (this.cursor > at - this.head) this.cursor--;
    if (at === this.head) {
      this.head++;
      this.compact();
    } else {
      this.entries.splice(at, 1);
    }
    return entry;
  }

  /**
   * The device lost its memory (a power cut on firmware without flash): the counter
   * restarts at 1 and the buffer is gone. Returns how many entries were lost.
   */
  forget(): number {
    const lost = this.size;
    this.entries = [];
    this.head = 0;
    this.cursor = 0;
    this.next = 1;
    return lost;
  }

  /** Sequence numbers currently buffered, oldest first (for tests and diagnostics). */
  seqs(): number[] {
    return this.entries.slice(this.head).map((e) => e.seq);
  }

  private compact(): void {
    // Amortised O(1) removal from the front without a ring's fixed allocation, so an
    // idle device's outbox costs a few bytes, not `capacity` slots.
    if (this.head === this.entries.length) {
      this.entries = [];
      this.head = 0;
    } else if (this.head >= 64 && this.head * 2 >= this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }
}

/** Length in bytes of the CBOR head at `offset` (RFC 8949 §3). */
function headLength(bytes: Uint8Array, offset: number): number {
  const ai = (bytes[offset] ?? 0) & 0x1f;
  return ai < 24 ? 1 : ai === 24 ? 2 : ai === 25 ? 3 : ai === 26 ? 5 : 9;
}

function uintHead(n: number): Uint8Array {
  if (n < 24) return Uint8Array.of(n);
  if (n < 0x100) return Uint8Array.of(24, n);
  if (n < 0x10000) return Uint8Array.of(25, n >>> 8, n & 0xff);
  if (n < 0x1_0000_0000) return Uint8Array.of(26, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
  const hi = Math.floor(n / 0x1_0000_0000);
  const lo = n >>> 0;
  return Uint8Array.of(
    27,
    hi >>> 24,
    (hi >>> 16) & 0xff,
    (hi >>> 8) & 0xff,
    hi & 0xff,
    lo >>> 24,
    (lo >>> 16) & 0xff,
    (lo >>> 8) & 0xff,
    lo & 0xff,
  );
}

/**
 * Rewrites the seq of an encoded `[type, seq, ...]` message without decoding it:
 * the array head and the type number take one byte each (types are below 24).
 */
export function replaceSeq(bytes: Uint8Array, seq: number): Uint8Array {
  const start = 2;
  const oldLen = headLength(bytes, start);
  const head = uintHead(seq);
  const out = new Uint8Array(bytes.length - oldLen + head.length);
  out.set(bytes.subarray(0, start), 0);
  out.set(head, start);
  out.set(bytes.subarray(start + oldLen), start + head.length);
  return out;
}
