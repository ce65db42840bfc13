// A console's outgoing queue (SPEC.md §10.4). While the socket keeps up, updates go
// straight out. Once more than `highWaterBytes` wait in the socket, nothing more is
// queued there: the outbox keeps only the latest state per key (device, presence,
// command, twin, stats), the latest point per device and metric, and a bounded tail
// of events; when the socket has drained it sends those plus one `dropped` message per
// stream. A stream's snapshot (what a `sub` answers with) is state too: while backed
// up, one per stream is kept, built only when it is sent. A console that stays backed
// up longer than `maxBackedUpMs` is reported through `onStuck` (the connection closes
// it with 4429).

import type { ConsoleStream, TelemetryPoint } from '@halyard/firmware-protocol';
import { encodeUpdate } from './updates.js';

/** The socket, as far as the outbox cares. */
export interface OutboxSink {
  /** Bytes accepted by send() but not yet handed to the kernel. */
  readonly bufferedAmount: number;
  send(bytes: Uint8Array): void;
}

export interface OutboxOptions {
  /** Bytes waiting in the socket above which updates are coalesced (SPEC.md §10.4: 1 MiB). */
  highWaterBytes: number;
  /** Bytes waiting at or below which the coalesced state is sent. */
  lowWaterBytes: number;
  /** Events kept while backed up; older ones are dropped (and counted). */
  maxEvents: number;
  /** How often a backed-up socket is checked for drain, ms. */
  checkIntervalMs: number;
  /** Longest time a console may stay backed up before onStuck, ms (SPEC.md §10.4: 30 s). */
  maxBackedUpMs: number;
  /** Least time between two snapshots of one stream, ms: a `sub` sooner gets its snapshot then. */
  snapshotIntervalMs: number;
}

export const OUTBOX_DEFAULTS: Readonly<OutboxOptions> = Object.freeze({
  highWaterBytes: 1 << 20,
  lowWaterBytes: 256 << 10,
  maxEvents: 500,
  checkIntervalMs: 50,
  maxBackedUpMs: 30_000,
  snapshotIntervalMs: 1_000,
});

type Pending =
  | { kind: 'bytes'; stream: ConsoleStream; bytes: Uint8Array }
  | { kind: 'snapshot'; stream: ConsoleStream; make: () => Uint8Array[] }
  | { kind: 'telemetry'; device: string; points: Map<string, TelemetryPoint> };

export class Outbox {
  private readonly opts: OutboxOptions;
  /** Coalesced updates in the order of their latest change (Map keeps insertion order). */
  private readonly pending = new Map<string, Pending>();
  /** Keys of pending events, oldest first, to bound them. */
  private readonly eventKeys: string[] = [];
  private readonly dropped = new Map<ConsoleStream, number>();
  private eventSeq = 0;
  private backedUpSince: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** When each stream's last snapshot was made, and the one waiting for its turn. */
  private readonly lastSnapshot = new Map<ConsoleStream, number>();
  private readonly deferred = new Map<ConsoleStream, NodeJS.Timeout>();
  /** Updates coalesced away over this outbox's life (for metrics and tests). */
  droppedTotal = 0;

  constructor(
    private readonly sink: OutboxSink,
    private readonly onStuck: () => void,
    options: Partial<OutboxOptions> = {},
    private readonly now: () => number = Date.now,
  ) {
    this.opts = { ...OUTBOX_DEFAULTS, ...options } satisfies OutboxOptions;
  }

  get backedUp(): boolean {
    return this.backedUpSince !== undefined;
  }

  /** Replies, snapshots, welcome, errors: always sent, never coalesced (they answer the console). */
  control(bytes: Uint8Array): void {
    this.sink.send(bytes);
    // A large snapshot alone can back the socket up; later updates must then coalesce.
    this.checkBackedUp();
  }

  /**
   * A stream's whole current state (the fleet, the stats history), as a `sub` asks for
   * it: built and sent now while the socket keeps up; while it is backed up, kept as the
   * stream's one pending snapshot, built when the socket has drained. It supersedes the
   * stream's pending updates and any earlier snapshot: a console that subscribes again
   * and again without reading holds one snapshot per stream here, not one per request
   * in the socket's buffer.
   */
  snapshot(stream: ConsoleStream, make: () => Uint8Array[]): void {
    this.discard(stream);
    // At most one a second per stream, however often it is asked for: building one costs the hub (the whole fleet).
    const wait = (this.lastSnapshot.get(stream) ?? Number.NEGATIVE_INFINITY) + this.opts.snapshotIntervalMs - this.now();
    if (wait > 0) {
      const timer = setTimeout(() => {
        this.deferred.delete(stream);
        this.snapshot(stream, make);
      }, wait);
      this.deferred.set(stream, timer);
      return;
    }
    this.lastSnapshot.set(stream, this.now());
    if (this.checkBackedUp()) {
      this.pending.set(`snapshot:${stream}`, { kind: 'snapshot', stream, make });
      return;
    }
    for (const bytes of make()) this.sink.send(bytes);
    this.checkBackedUp();
  }

  /**
   * A live update. `key` names the state it replaces (`presence:<id>`); undefined
   * for events, which have no state to coalesce into and are kept as a bounded tail.
   */
  offer(stream: ConsoleStream, key: string | undefined, bytes: Uint8Array): void {
    if (!this.checkBackedUp()) {
      this.sink.send(bytes);
      return;
    }
    if (key === undefined) {
      const k = `event#${this.eventSeq++}`;
      this.pending.set(k, { kind: 'bytes', stream, bytes });
      this.eventKeys.push(k);
      if (this.eventKeys.length > this.opts.maxEvents) {
        this.pending.delete(this.eventKeys.shift() as string);
        this.count(stream, 1);
      }
      return;
    }
    if (this.pending.delete(key)) this.count(stream, 1);
    this.pending.set(key, { kind: 'bytes', stream, bytes });
  }

  /** Live points of one device; `bytes` is the encoded `telemetry` message, used when not backed up. */
  offerTelemetry(device: string, points: readonly TelemetryPoint[], bytes: Uint8Array): void {
    if (!this.checkBackedUp()) {
      this.sink.send(bytes);
      return;
    }
    const key = `telemetry:${device}`;
    let p = this.pending.get(key);
    if (p === undefined || p.kind !== 'telemetry') {
      p = { kind: 'telemetry', device, points: new Map() };
      this.pending.set(key, p);
    }
    let replaced = 0;
    for (const pt of points) {
      const old = p.points.get(pt.name);
      if (old === undefined) p.points.set(pt.name, pt);
      else {
        replaced++;
        // Keep the newest by the device's clock: batches may carry older samples last.
        if (pt.time >= old.time) p.points.set(pt.name, pt);
      }
    }
    if (replaced > 0) this.count('telemetry', replaced);
  }

  /** Forgets what is pending for a stream (unsubscribed, or a snapshot supersedes it). */
  discard(stream: ConsoleStream): void {
    clearTimeout(this.deferred.get(stream));
    this.deferred.delete(stream);
    for (const [k, p] of this.pending) {
      if ((p.kind === 'telemetry' ? 'telemetry' : p.stream) === stream) this.pending.delete(k);
    }
    this.dropped.delete(stream);
  }

  close(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    for (const timer of this.deferred.values()) clearTimeout(timer);
    this.deferred.clear();
    this.pending.clear();
  }

  private count(stream: ConsoleStream, n: number): void {
    this.dropped.set(stream, (this.dropped.get(stream) ?? 0) + n);
    this.droppedTotal += n;
  }

  /** True when updates must be coalesced now; enters that mode when the socket is over the high-water mark. */
  private checkBackedUp(): boolean {
    if (this.backedUpSince !== undefined) return true;
    if (this.sink.bufferedAmount <= this.opts.highWaterBytes) return false;
    this.backedUpSince = this.now();
    // ws has no 'drain' event for the WebSocket itself; a short poll only runs while backed up.
    this.timer = setInterval(() => this.check(), this.opts.checkIntervalMs);
    this.timer.unref();
    return true;
  }

  /** Runs while backed up: flush once drained, give up after maxBackedUpMs. */
  check(): void {
    if (this.backedUpSince === undefined) return;
    if (this.sink.bufferedAmount <= this.opts.lowWaterBytes) {
      this.flush();
      return;
    }
    if (this.now() - this.backedUpSince > this.opts.maxBackedUpMs) {
      this.close();
      this.onStuck();
    }
  }

  private flush(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.backedUpSince = undefined;
    const pending = [...this.pending.values()];
    this.pending.clear();
    this.eventKeys.length = 0;
    for (const p of pending) {
      if (p.kind === 'bytes') this.sink.send(p.bytes);
      else if (p.kind === 'snapshot') for (const bytes of p.make()) this.sink.send(bytes);
      else this.sink.send(encodeUpdate({ t: 'telemetry', device: p.device, points: [...p.points.values()] }));
    }
    for (const [stream, count] of this.dropped) this.sink.send(encodeUpdate({ t: 'dropped', stream, count }));
    this.dropped.clear();
  }
}
