// The hub's messages into the embedded broker: queued off the bus handler that
// produced them, handed to aedes a batch per event-loop turn with a cap on how
// many are still being delivered, so the MQTT side never holds up device ingest
// and its memory stays bounded however slow the subscribers are.

import type { Aedes, PublishPacket } from 'aedes';
import type { Logger } from '../log.js';
import type { MqttMetrics } from './metrics.js';
import { classOf, type OutMessage } from './out-message.js';
import type { QosByClass } from './qos.js';
import { SendQueue } from './send-queue.js';

export const SINK_LIMITS = {
  /** Hub publishes aedes is still delivering; beyond it the queue fills (and then drops). */
  maxInFlight: 10_000,
  /**
   * Time handed to aedes per event-loop turn, ms, so sockets get served in between.
   * A budget of time, not of messages: when device ingest makes each turn long, a
   * fixed count per turn (256 once) caps delivery near turns/s x count (~8k/s measured).
   */
  turnMs: 4,
} as const;

export class EmbeddedSink {
  readonly queue: SendQueue;
  private inFlight = 0;
  private scheduled = false;
  private idle: (() => void)[] = [];

  private readonly liveId: string;
  private readonly retainedId: string;

  /**
   * `sessions`: persistent sessions kept (connected or not), which queue QoS 1
   * messages; `clustered`: other nodes' clients may want every message.
   */
  constructor(
    private readonly aedes: Aedes,
    private readonly metrics: MqttMetrics,
    private readonly log: Logger,
    private readonly qos: QosByClass,
    private readonly sessions: () => number,
    private readonly clustered = false,
  ) {
    this.queue = new SendQueue(undefined, () => metrics.countDrop('queue_full'));
    // Queued messages are found again by (broker id, counter), and they outlive the process (session-db.ts)
    // while the counter starts again at 0: each run gets ids of its own.
    this.liveId = `halyard/live/${aedes.id}`;
    this.retainedId = `halyard/retained/${aedes.id}`;
  }

  enqueue(m: OutMessage): void {
    if (m.remote === true) return; // published by its own node, carried here by the brokers' Redis link
    // Nobody to deliver to, now or later: only retained state is worth keeping (aedes replays it to later subscribers).
    if (m.lane !== 'state' && !this.clustered && (this.aedes.connectedClients ?? 0) === 0 && this.sessions() === 0) return;
    this.queue.push(m);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    const until = performance.now() + SINK_LIMITS.turnMs;
    for (let n = 0; this.inFlight < SINK_LIMITS.maxInFlight; n++) {
      if ((n & 63) === 63 && performance.now() > until) break;
      const m = this.queue.shift();
      if (m === undefined) break;
      const { topic, payload } = m.render('');
      this.inFlight++;
      this.metrics.published.inc({ lane: m.lane });
      const retain = m.lane === 'state';
      // At QoS 1 aedes queues the message for every persistent session subscribed at QoS 1 (bounded
      // per session: offline-queue.ts); retained topics give late and reconnecting subscribers the current state.
      const packet: PublishPacket & { brokerId: string } = {
        cmd: 'publish',
        topic,
        payload,
        qos: this.qos[classOf(m)],
        retain,
        dup: false,
        // aedes skips a delivery whose (brokerId, counter) is older than one the client already got
        // (cluster dedupe). A retained publish takes an extra async hop through the retained store, so
        // a live message published after it can overtake it, and the retained one was lost as a
        // "duplicate". Each lane keeps its own order, so each gets its own id.
        brokerId: retain ? this.retainedId : this.liveId,
      };
      this.aedes.publish(packet, (err) => {
        this.inFlight--;
        if (err) this.log.warn({ err: err.message, topic }, 'mqtt publish failed');
        if (this.queue.size > 0) this.schedule();
        else if (this.inFlight === 0) this.wake();
      });
    }
    this.metrics.queued.set(this.queue.size);
    if (this.queue.size > 0 && this.inFlight < SINK_LIMITS.maxInFlight) this.schedule();
    else if (this.queue.size === 0 && this.inFlight === 0) this.wake();
  }

  private wake(): void {
    const waiting = this.idle;
    this.idle = [];
    for (const w of waiting) w();
  }

  /** Resolves when everything queued has been delivered, or after `timeoutMs`. */
  flush(timeoutMs: number): Promise<void> {
    if (this.queue.size === 0 && this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.idle.push(() => {
        clearTimeout(timer);
        resolve();
      });
      this.schedule();
    });
  }
}
