// A returning client's queue as aedes sends it (SessionStore.outgoingStream):
// oldest first, to its end, including messages queued while it runs. aedes pipes
// the stream through buffers of its own before each message is written, so a
// stream that read ahead would end while the end of the queue still sat in those
// buffers; live deliveries, no longer held back, would then overtake it. This one
// hands on a message only once aedes has taken the one before (`taken`, from
// outgoingUpdate), so when it ends, the last message is already being written.

import { Readable } from 'node:stream';
import type { Client } from 'aedes';
import type { OfflineQueues, QueuedPacket } from './offline-queue.js';

export class QueueReplay extends Readable {
  /** The publication handed on and not yet taken by aedes. */
  private pending: { brokerId: string; brokerCounter: number } | undefined;
  /** aedes asked for more while one was pending. */
  private wanted = false;
  private walk: Iterator<{ readonly seq: number; readonly packet: QueuedPacket }> | undefined;

  /** `toPacket` makes the packet aedes sends; `ended` hears that this replay is over (done, or its client gone; maybe twice). */
  constructor(
    readonly client: Client,
    private readonly queues: OfflineQueues,
    private readonly toPacket: (p: QueuedPacket) => unknown,
    private readonly ended: (r: QueueReplay) => void,
  ) {
    super({ objectMode: true, highWaterMark: 1 });
  }

  /** aedes took a publication to send it (or to drop it): if it is the one handed on, the next may follow. */
  taken(brokerId: string, brokerCounter: number): void {
    const p = this.pending;
    if (p === undefined || p.brokerId !== brokerId || p.brokerCounter !== brokerCounter) return;
    this.pending = undefined;
    if (this.wanted) this.handOn();
  }

  override _read(): void {
    this.wanted = true;
    if (this.pending === undefined) this.handOn();
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.ended(this);
    callback(err);
  }

  private handOn(): void {
    // A Map's iterator is live: it reaches messages queued meanwhile and skips ones removed.
    this.walk ??= this.queues.walk(this.client.id);
    for (;;) {
      const next = this.walk.next();
      if (next.done === true) {
        this.ended(this);
        this.push(null);
        return;
      }
      const { seq, packet } = next.value;
      // The session ended meanwhile (its queue is gone): nothing more is sent.
      if (!this.queues.has(this.client.id, seq)) continue;
      this.pending = { brokerId: packet.brokerId, brokerCounter: packet.brokerCounter };
      this.wanted = false;
      this.push(this.toPacket(packet));
      return;
    }
  }
}
