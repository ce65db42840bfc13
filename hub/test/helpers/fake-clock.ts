// A clock that moves only when a test says so: `advance` runs, in time order, every
// timer falling due, each with `now()` at its due time, so code under test sees the
// same sequence a real clock would give without any real waiting.

import type { Clock, ClockTimer } from '../../src/clock.js';

interface Pending {
  at: number;
  seq: number;
  fn: () => void;
}

export class FakeClock implements Clock {
  private t: number;
  private seq = 0;
  private readonly pending = new Map<number, Pending>();

  constructor(start = 1_700_000_000_000) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): ClockTimer {
    const id = ++this.seq;
    this.pending.set(id, { at: this.t + Math.max(0, ms), seq: id, fn });
    return id;
  }

  clearTimeout(timer: ClockTimer): void {
    this.pending.delete(timer as number);
  }

  /** Timers not yet run or cleared. */
  get timers(): number {
    return this.pending.size;
  }

  /** Moves time forward by `ms`, running each timer due on the way (timers set by those too). */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let next: [number, Pending] | undefined;
      for (const e of this.pending) {
        if (e[1].at > end) continue;
        if (next === undefined || e[1].at < next[1].at || (e[1].at === next[1].at && e[1].seq < next[1].seq)) next = e;
      }
      if (next === undefined) break;
      this.pending.delete(next[0]);
      this.t = Math.max(this.t, next[1].at);
      next[1].fn();
    }
    this.t = end;
  }
}
