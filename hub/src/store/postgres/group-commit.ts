// Group commit for device frames (as ../writer-thread.ts does for SQLite): frames collect
// while one batch commits and go together in the next, so batch size follows load;
// with none in flight a batch goes after `commitIntervalMs` or at `maxBatchFrames`.
// One batch in flight at a time keeps outcomes in queue order, which the gateway's
// ACKs rely on.

import type { PgFrame } from './ingest.js';

export interface GroupCommitOptions {
  commitIntervalMs: number;
  maxBatchFrames: number;
}

export interface Pending<M> {
  id: number;
  frames: PgFrame[];
  metas: M[];
  firstAt: number;
}

export class GroupCommit<M> {
  private pending: Pending<M>[] = [];
  private inFlight: Pending<M> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private nextId = 1;
  /** Waiters for "every batch up to id is done". */
  private waiters: { id: number; resolve: () => void }[] = [];
  private doneThrough = 0;
  backlog = 0;

  constructor(
    private readonly options: GroupCommitOptions,
    /** Commits one batch and reports it; must not throw (a failure is an outcome). */
    private readonly run: (b: Pending<M>) => Promise<void>,
  ) {}

  add(frame: PgFrame, meta: M): void {
    let b = this.pending[this.pending.length - 1];
    if (b === undefined || b.metas.length >= this.options.maxBatchFrames) {
      b = { id: this.nextId++, frames: [], metas: [], firstAt: performance.now() };
      this.pending.push(b);
    }
    b.frames.push(frame);
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
    // A batch discard() emptied has nothing to commit or report.
    void (b.frames.length === 0 ? Promise.resolve() : this.run(b)).then(() => this.done(b));
  }

  private done(b: Pending<M>): void {
    this.inFlight = undefined;
    this.backlog -= b.frames.length;
    this.doneThrough = b.id;
    const ready = this.waiters.filter((w) => w.id <= b.id);
    this.waiters = this.waiters.filter((w) => w.id > b.id);
    // Frames that waited during this commit go at once: they have waited long enough.
    if (this.pending.length > 0) this.flush();
    for (const w of ready) w.resolve();
  }

  /** Resolves once every frame queued before this call is committed (or failed). */
  barrier(): Promise<void> {
    const last = this.pending[this.pending.length - 1]?.id ?? this.inFlight?.id;
    if (last === undefined || last <= this.doneThrough) return Promise.resolve();
    if (this.inFlight === undefined) this.flush();
    return new Promise((resolve) => this.waiters.push({ id: last, resolve }));
  }

  /** Drops queued (not yet sent) frames of these devices; their metas. */
  discard(devices: ReadonlySet<number>): M[] {
    const dropped: M[] = [];
    for (const b of this.pending) {
      const frames: PgFrame[] = [];
      const metas: M[] = [];
      b.frames.forEach((f, i) => {
        if (devices.has(f.device)) {
          this.backlog--;
          dropped.push(b.metas[i] as M);
          return;
        }
        frames.push(f);
        metas.push(b.metas[i] as M);
      });
      b.frames = frames;
      b.metas = metas;
    }
    // Emptied batches stay (their ids keep barrier() waiters in order) and are skipped in flush().
    return dropped;
  }

  get idle(): boolean {
    return this.inFlight === undefined && this.pending.length === 0;
  }
}

/**
 * Several group commits side by side, each on its own connection, a device always
 * in the same one (its row id modulo the count). A device's frames are therefore
 * never in two transactions at once: its (device, seq) mark is read and raised by
 * one batch after another, in arrival order, exactly as with one lane, while other
 * devices' batches are on the wire or committing meanwhile. Lanes share no rows
 * (device_seq, series, twins and events are per device), so they never wait on
 * each other's locks.
 */
export class GroupCommitLanes<M> {
  private readonly lanes: GroupCommit<M>[];

  constructor(count: number, options: GroupCommitOptions, run: (b: Pending<M>) => Promise<void>) {
    this.lanes = Array.from({ length: Math.max(1, count) }, () => new GroupCommit<M>(options, run));
  }

  add(frame: PgFrame, meta: M): void {
    (this.lanes[frame.device % this.lanes.length] as GroupCommit<M>).add(frame, meta);
  }

  get backlog(): number {
    let n = 0;
    for (const l of this.lanes) n += l.backlog;
    return n;
  }

  /** Resolves once every frame queued before this call, in every lane, is committed (or failed). */
  async barrier(): Promise<void> {
    await Promise.all(this.lanes.map((l) => l.barrier()));
  }

  discard(devices: ReadonlySet<number>): M[] {
    return this.lanes.flatMap((l) => l.discard(devices));
  }

  get idle(): boolean {
    return this.lanes.every((l) => l.idle);
  }
}
