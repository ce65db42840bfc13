// The main thread's handle on the writer thread: named write operations as
// promises, and group commit for device frames: frames collect while a batch is
// being committed and go together in the next one, so batch size follows load.

import { EventEmitter } from 'node:events';
import type { Worker } from 'node:worker_threads';
import { HubError, HubErrorCode, type HubErrorCodeString } from '../errors.js';
import { INDEX_STRIDE, type IngestBatch, type IngestResult } from './ingest.js';
import { spawnWorker } from './spawn-worker.js';
import type { BatchOutcome, StoreEvents, StoreOpArgs, StoreOpName, StoreOpResult } from './store.js';
import type { FromWorker, SerializedError, ToWorker, WorkerSettings, WorkerStats } from './writer-protocol.js';

export interface WriterThreadOptions extends WorkerSettings {
  /** Longest a frame waits before its batch is sent, ms. */
  commitIntervalMs: number;
  /** A batch is sent at once when it holds this many frames. */
  maxBatchFrames: number;
  maxFrame: number;
}

interface PendingBatch<M> {
  id: number;
  chunks: Uint8Array[];
  index: number[];
  bytes: number;
  metas: M[];
  firstAt: number;
}

function toHubError(e: SerializedError): HubError {
  return new HubError(e.code as HubErrorCodeString, e.message, e.field === undefined ? {} : { field: e.field });
}

export class WriterThread<M = unknown> extends EventEmitter<StoreEvents<M>> {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly calls = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  /** Batches waiting their turn, oldest first; only the last takes new frames. */
  private pending: PendingBatch<M>[] = [];
  private inFlight: PendingBatch<M> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private drainWaiters: (() => void)[] = [];
  /** Named operations asked for this turn; they go to the thread together. */
  private queuedOps: { id: number; op: string; args: unknown }[] = [];
  /**
   * Operations asked for while frames were queued, each held until the batch holding
   * those frames (`after`, a pending batch id) has been posted: the thread runs its
   * messages in order, so the operation then sees them stored (store.ts, Ordered writes).
   */
  private heldOps: { after: number; id: number; op: string; args: unknown }[] = [];
  /** Frames accepted but not yet committed (pending + in flight). */
  backlog = 0;

  private constructor(private readonly options: WriterThreadOptions) {
    super();
    const settings: WorkerSettings = {
      path: options.path,
      cacheMiB: options.cacheMiB,
      retentionMs: options.retentionMs,
      retentionRollupsMs: options.retentionRollupsMs ?? 0,
      compactIntervalMs: options.compactIntervalMs,
      compactRows: options.compactRows,
    };
    this.worker = spawnWorker(import.meta.url, 'writer-worker', settings, 'halyard-writer');
    this.worker.on('message', (msg: FromWorker) => this.onMessage(msg));
    this.worker.on('error', (err) => this.fail(err));
    this.worker.on('exit', (code) => {
      if (!this.closed) this.fail(new Error(`writer thread exited with code ${code}`));
    });
  }

  /** Starts the writer thread, which opens and migrates the database. */
  static async start<M>(options: WriterThreadOptions): Promise<WriterThread<M>> {
    const w = new WriterThread<M>(options);
    await new Promise<void>((resolve, reject) => {
      const onMsg = (msg: FromWorker) => {
        if (msg.t === 'ready') {
          w.worker.off('message', onMsg);
          w.worker.off('error', reject);
          resolve();
        }
      };
      w.worker.on('message', onMsg);
      w.worker.once('error', reject);
    });
    return w;
  }

  private fail(err: Error): void {
    for (const c of this.calls.values()) c.reject(err);
    this.calls.clear();
    this.emit('fatal', err);
  }

  private onMessage(msg: FromWorker): void {
    switch (msg.t) {
      case 'done':
        for (const o of msg.ops) this.settle(o.id, o.error, o.result);
        return;
      case 'stats':
        this.settle(msg.id, undefined, msg.stats);
        return;
      case 'closed':
      case 'retained':
        this.settle(msg.id, msg.error, null);
        return;
      case 'compacted-all':
        this.settle(msg.id, undefined, null);
        return;
      case 'batch':
        if ('error' in msg) this.onBatchDone(undefined, msg.error);
        else this.onBatchDone(msg.result, undefined);
        return;
      case 'compacted':
        this.emit('compacted', msg.gen);
        return;
      case 'quarantined':
        this.emit('quarantined', msg.items);
        return;
      case 'maintenance':
        this.emit('maintenance', msg.failing);
        return;
      case 'log':
        this.emit('log', { level: msg.level, msg: msg.msg, ...(msg.err ? { err: msg.err } : {}) });
        return;
      case 'ready':
        return;
    }
  }

  private settle(id: number, error: SerializedError | undefined, result: unknown): void {
    const call = this.calls.get(id);
    if (call === undefined) return;
    this.calls.delete(id);
    if (error) call.reject(toHubError(error));
    else call.resolve(result);
  }

  /** Every message to the thread goes here, after the operations asked for before it: order is kept. */
  private post(msg: ToWorker, transfer?: ArrayBuffer[]): void {
    this.postOps();
    this.worker.postMessage(msg, transfer);
  }

  private postOps(): void {
    if (this.queuedOps.length === 0) return;
    const ops = this.queuedOps;
    this.queuedOps = [];
    this.worker.postMessage({ t: 'ops', ops } satisfies ToWorker);
  }

  /** Moves held operations whose frames are no longer pending (posted or discarded) to the queue. */
  private releaseHeld(): void {
    const first = this.pending[0]?.id ?? Number.POSITIVE_INFINITY;
    let n = 0;
    while (n < this.heldOps.length && (this.heldOps[n] as { after: number }).after < first) n++;
    if (n === 0) return;
    for (const { id, op, args } of this.heldOps.splice(0, n)) this.queuedOps.push({ id, op, args });
  }

  /** A promise for the answer to request `id`, which `send` hands to the thread. */
  private expect<T>(id: number, send: () => void): Promise<T> {
    if (this.closed) return Promise.reject(new HubError(HubErrorCode.Unavailable, 'the store is closed'));
    return new Promise<T>((resolve, reject) => {
      this.calls.set(id, { resolve: resolve as (v: unknown) => void, reject });
      send();
    });
  }

  private call<T>(msg: ToWorker & { id: number }): Promise<T> {
    return this.expect<T>(msg.id, () => this.post(msg));
  }

  /** Runs a named write operation in the writer thread. */
  op<K extends StoreOpName>(op: K, args: StoreOpArgs<K>): Promise<StoreOpResult<K>> {
    const id = this.nextId++;
    return this.expect<StoreOpResult<K>>(id, () => {
      const last = this.pending[this.pending.length - 1];
      if (last !== undefined) {
        // Frames are queued: the operation goes right behind their batch. With no batch
        // in flight that batch goes now (this turn's frames and operations together)
        // rather than on its timer; with one in flight it goes when that one is done.
        if (this.heldOps.push({ after: last.id, id, op, args }) === 1 && this.inFlight === undefined) setImmediate(() => this.flush());
        return;
      }
      // Operations asked for in one turn of the event loop cross to the thread in one message.
      if (this.queuedOps.push({ id, op, args }) === 1) setImmediate(() => this.postOps());
    });
  }

  stats(): Promise<WorkerStats> {
    return this.call<WorkerStats>({ t: 'stats', id: this.nextId++ });
  }

  /** Compacts and merges all telemetry now (tests, benchmarks). */
  async compactNow(): Promise<void> {
    await this.drain();
    await this.call<null>({ t: 'compact', id: this.nextId++ });
  }

  /** Applies the retention of raw telemetry and rollups as at `now`, all of it now (tests). */
  async retainNow(now: number): Promise<void> {
    await this.drain();
    await this.call<null>({ t: 'retain', id: this.nextId++, now });
  }

  /**
   * Queues one validated uplink frame for the next group commit. `meta` comes back,
   * in order, in the `committed` event.
   */
  ingest(device: number, seq: number, now: number, type: number, bytes: Uint8Array, meta: M): void {
    let b = this.pending[this.pending.length - 1];
    // Batches stay bounded even when the store falls behind: each commit, and the
    // main thread's handling of its outcome, stays short.
    if (b === undefined || b.metas.length >= this.options.maxBatchFrames) {
      b = { id: this.nextId++, chunks: [], index: [], bytes: 0, metas: [], firstAt: performance.now() };
      this.pending.push(b);
    }
    b.index.push(device, seq, now, b.bytes, bytes.length, type);
    b.chunks.push(bytes);
    b.bytes += bytes.length;
    b.metas.push(meta);
    this.backlog++;
    if (this.inFlight !== undefined) return;
    if (b.metas.length >= this.options.maxBatchFrames || this.options.commitIntervalMs === 0) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.options.commitIntervalMs);
  }

  private flush(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.inFlight !== undefined) return;
    const b = this.pending.shift();
    if (b === undefined) return;
    this.inFlight = b;
    const frames = new Uint8Array(b.bytes);
    let off = 0;
    for (const c of b.chunks) {
      frames.set(c, off);
      off += c.length;
    }
    b.chunks = [];
    const batch: IngestBatch = { id: b.id, frames, index: Float64Array.from(b.index), maxFrame: this.options.maxFrame };
    this.post({ t: 'batch', batch }, [frames.buffer as ArrayBuffer, batch.index.buffer as ArrayBuffer]);
    // Operations asked for after this batch's frames follow it at once (not before:
    // post() has already sent the ones asked for earlier).
    this.releaseHeld();
    this.postOps();
  }

  private onBatchDone(result: IngestResult | undefined, error: SerializedError | undefined): void {
    const b = this.inFlight;
    if (b === undefined) return;
    this.inFlight = undefined;
    const frames = b.index.length / INDEX_STRIDE;
    this.backlog -= frames;
    const outcome: BatchOutcome<M> = { metas: b.metas, frames, latencyMs: performance.now() - b.firstAt };
    if (result) outcome.result = result;
    if (error) outcome.error = toHubError(error);
    // Frames that waited during this commit go at once: they have waited long enough.
    // After a success they go before the listeners run, so the thread commits them
    // while this one sends the ACKs; after a failure the listeners run first, as
    // they may discard frames queued behind it.
    if (error === undefined && this.pending.length > 0) this.flush();
    this.emit('committed', outcome);
    if (this.pending.length > 0) this.flush();
    if (this.inFlight === undefined && this.pending.length === 0) {
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      for (const w of waiters) w();
    }
  }

  /**
   * Drops queued (not yet sent) frames of these devices: after a failed commit their
   * later frames must not be stored past the gap, or an ACK would cover lost data.
   */
  discardPending(devices: ReadonlySet<number>): M[] {
    const dropped: M[] = [];
    const kept: PendingBatch<M>[] = [];
    for (const b of this.pending) {
      const k: PendingBatch<M> = { id: b.id, chunks: [], index: [], bytes: 0, metas: [], firstAt: b.firstAt };
      for (let i = 0; i < b.metas.length; i++) {
        const at = i * INDEX_STRIDE;
        const chunk = b.chunks[i] as Uint8Array;
        if (devices.has(b.index[at] as number)) {
          this.backlog--;
          dropped.push(b.metas[i] as M);
          continue;
        }
        k.index.push(
          b.index[at] as number,
          b.index[at + 1] as number,
          b.index[at + 2] as number,
          k.bytes,
          chunk.length,
          b.index[at + 5] as number,
        );
        k.chunks.push(chunk);
        k.bytes += chunk.length;
        k.metas.push(b.metas[i] as M);
      }
      if (k.metas.length > 0) kept.push(k);
    }
    this.pending = kept;
    // An operation held behind a batch now emptied waits for nothing any more.
    if (this.heldOps.length > 0)
      setImmediate(() => {
        this.releaseHeld();
        this.postOps();
      });
    return dropped;
  }

  /** Resolves once every queued frame is committed (or failed). */
  drain(): Promise<void> {
    if (this.inFlight === undefined && this.pending.length === 0) return Promise.resolve();
    if (this.inFlight === undefined) this.flush();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Commits what is queued, checkpoints and closes the database, stops the thread. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.drain();
    const done = this.call<null>({ t: 'close', id: this.nextId++ });
    this.closed = true;
    try {
      await done;
    } finally {
      await this.worker.terminate();
    }
  }
}
