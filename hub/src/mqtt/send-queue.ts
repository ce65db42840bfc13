// A destination's queue of messages not yet handed to its broker, bounded so a
// slow or absent destination costs a fixed amount of memory: retained state is
// coalesced per topic (only the newest value matters, and it is never dropped);
// the other lanes drop their oldest message when full and count it.

import type { OutMessage } from './out-message.js';

/** A fixed-capacity FIFO: pushing onto a full ring drops the oldest item. */
class Ring<T> {
  private readonly items: (T | undefined)[];
  private head = 0;
  length = 0;

  constructor(readonly capacity: number) {
    this.items = new Array(capacity);
  }

  /** Appends; returns the oldest item if it had to go to make room. */
  push(item: T): T | undefined {
    const dropped = this.length === this.capacity ? this.shift() : undefined;
    this.items[(this.head + this.length) % this.capacity] = item;
    this.length++;
    return dropped;
  }

  /** Puts an item back at the front; returns it if there is no room (it is the oldest). */
  unshift(item: T): T | undefined {
    if (this.length === this.capacity) return item;
    this.head = (this.head - 1 + this.capacity) % this.capacity;
    this.items[this.head] = item;
    this.length++;
    return undefined;
  }

  shift(): T | undefined {
    if (this.length === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) % this.capacity;
    this.length--;
    return item;
  }

  clear(): void {
    while (this.length > 0) this.shift();
  }
}

export interface SendQueueLimits {
  /** Command statuses waiting, messages. */
  control: number;
  /** Telemetry and events waiting, messages. */
  stream: number;
}

export const DEFAULT_SEND_QUEUE_LIMITS: Readonly<SendQueueLimits> = Object.freeze({ control: 10_000, stream: 20_000 });

export class SendQueue {
  private retained = new Map<string, OutMessage>();
  private readonly control: Ring<OutMessage>;
  private readonly stream: Ring<OutMessage>;
  /** Messages dropped because the queue was full, since start. */
  dropped = 0;

  constructor(
    limits: Readonly<SendQueueLimits> = DEFAULT_SEND_QUEUE_LIMITS,
    private readonly onDrop: (m: OutMessage) => void = () => {},
  ) {
    this.control = new Ring(limits.control);
    this.stream = new Ring(limits.stream);
  }

  get size(): number {
    return this.retained.size + this.control.length + this.stream.length;
  }

  push(m: OutMessage): void {
    if (m.lane === 'state') {
      // Delete first so the topic moves to the back: per-topic order is all MQTT promises.
      this.retained.delete(m.key);
      this.retained.set(m.key, m);
      return;
    }
    this.counted(this.ring(m).push(m));
  }

  /** Puts messages that were in flight when a connection dropped back at the front, in their order. */
  requeue(messages: readonly OutMessage[]): void {
    for (let i = messages.length - 1; i >= 0; i--) {
      const m = messages[i] as OutMessage;
      // A newer value of the same retained topic may be queued already: it wins.
      if (m.lane === 'state') {
        if (!this.retained.has(m.key)) this.retained.set(m.key, m);
      } else this.counted(this.ring(m).unshift(m));
    }
  }

  private ring(m: OutMessage): Ring<OutMessage> {
    return m.lane === 'control' ? this.control : this.stream;
  }

  private counted(dropped: OutMessage | undefined): void {
    if (dropped === undefined) return;
    this.dropped++;
    this.onDrop(dropped);
  }

  /** The next message: retained state first, then command statuses, then the stream. */
  shift(): OutMessage | undefined {
    for (const [key, m] of this.retained) {
      this.retained.delete(key);
      return m;
    }
    return this.control.shift() ?? this.stream.shift();
  }

  /**
   * After a reconnect the destination may have lost everything: it gets `state`
   * (every retained topic the hub holds) plus the clears still pending here.
   */
  resetRetained(state: Iterable<OutMessage>): void {
    const next = new Map<string, OutMessage>();
    for (const m of state) next.set(m.key, m);
    for (const [key, m] of this.retained) if (m.tombstone && !next.has(key)) next.set(key, m);
    this.retained = next;
  }

  clear(): void {
    this.retained.clear();
    this.control.clear();
    this.stream.clear();
  }
}
