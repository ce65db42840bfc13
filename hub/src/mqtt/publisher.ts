// Where the hub's messages fan out: the embedded broker and every bridge. It
// also keeps the hub's retained state (one message per retained topic), which a
// bridge re-publishes after each reconnect and Home Assistant's birth replays.

import type { OutMessage } from './out-message.js';

export interface Sink {
  enqueue(m: OutMessage): void;
}

export class Publisher {
  /** Retained state by embedded topic: bounded by the fleet (a few topics per device and metric). */
  private readonly retained = new Map<string, OutMessage>();
  private readonly sinks: Sink[] = [];

  addSink(sink: Sink): void {
    this.sinks.push(sink);
  }

  publish(m: OutMessage): void {
    if (m.lane === 'state') {
      if (m.tombstone) this.retained.delete(m.key);
      else this.retained.set(m.key, m);
    }
    for (const s of this.sinks) s.enqueue(m);
  }

  /** The current retained state, oldest topic first. */
  state(): IterableIterator<OutMessage> {
    return this.retained.values();
  }

  retainedCount(): number {
    return this.retained.size;
  }
}
