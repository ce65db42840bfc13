// Aggregating points into epoch-aligned buckets (avg, min, max, count, last). Block
// summaries can be added whole where a block falls inside one bucket, so a coarse
// query need not unpack them.

import type { PointValue } from '../store/store.js';

export type Aggregate = 'avg' | 'min' | 'max' | 'count' | 'last';
export const AGGREGATES: readonly Aggregate[] = ['avg', 'min', 'max', 'count', 'last'];

export interface Bucket {
  t: number;
  count: number;
  avg: number | null;
  min: number | null;
  max: number | null;
  last: PointValue | null;
}

interface Acc {
  count: number;
  nnum: number;
  sum: number;
  min: number;
  max: number;
  lastT: number;
  last: PointValue | null;
}

/** Accumulates points and block summaries into epoch-aligned buckets of `width` ms over [from, to]. */
export class BucketAccumulator {
  constructor(
    readonly from: number,
    readonly to: number,
    readonly width: number,
    private readonly accs = new Map<number, Acc>(),
  ) {}

  /** An accumulator into the same buckets that takes points in [from, to] (part of a query answered another way). */
  window(from: number, to: number): BucketAccumulator {
    return new BucketAccumulator(from, to, this.width, this.accs);
  }

  private acc(t: number): Acc {
    const key = Math.floor(t / this.width) * this.width;
    let a = this.accs.get(key);
    if (a === undefined) {
      a = {
        count: 0,
        nnum: 0,
        sum: 0,
        min: Number.POSITIVE_INFINITY,
        max: Number.NEGATIVE_INFINITY,
        lastT: Number.NEGATIVE_INFINITY,
        last: null,
      };
      this.accs.set(key, a);
    }
    return a;
  }

  add(t: number, v: PointValue): void {
    if (t < this.from || t > this.to) return;
    const a = this.acc(t);
    a.count++;
    if (typeof v === 'number') {
      a.nnum++;
      a.sum += v;
      if (v < a.min) a.min = v;
      if (v > a.max) a.max = v;
    }
    if (t >= a.lastT) {
      a.lastT = t;
      a.last = v;
    }
  }

  /** A whole block inside one bucket: its summary instead of its points (its last point is passed in). */
  addSummary(t0: number, t1: number, n: number, nnum: number, sum: number, min: number, max: number, last: () => PointValue): void {
    const a = this.acc(t0);
    a.count += n;
    a.nnum += nnum;
    if (nnum > 0) {
      a.sum += sum;
      if (min < a.min) a.min = min;
      if (max > a.max) a.max = max;
    }
    if (t1 >= a.lastT) {
      a.lastT = t1;
      a.last = last();
    }
  }

  /** True when a block spanning [t0, t1] lies in the range and in one bucket. */
  wholeBlock(t0: number, t1: number): boolean {
    return t0 >= this.from && t1 <= this.to && Math.floor(t0 / this.width) === Math.floor(t1 / this.width);
  }

  result(): Bucket[] {
    return [...this.accs.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([t, a]) => ({
        t,
        count: a.count,
        avg: a.nnum ? a.sum / a.nnum : null,
        min: a.nnum ? a.min : null,
        max: a.nnum ? a.max : null,
        last: a.last,
      }));
  }
}
