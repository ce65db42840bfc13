// The newest telemetry in memory, per log generation, until compaction has put it
// in blocks. Fed by committed batches (so it holds only durable points); queries
// merge it with the blocks, so no query has to scan the unindexed log.
//
// A generation can hold millions of points: times and numeric values live in plain
// arrays of doubles (V8 stores them unboxed: no object per point for the garbage
// collector to trace), and the rare text, boolean and byte values beside them by
// index. Not Float64Arrays: every generation starts a series per device and metric,
// and allocating 20,000 off-heap buffers at once (10-record frames from 1,000
// devices) stalled the event loop for 60 ms at each rollover.

import type { ResolvedRecord } from '@halyard/firmware-protocol';
import type { Points, PointValue } from '../store/store.js';
import { recordPoints } from './points.js';

class TailSeries {
  unit: string | null;
  readonly ts: number[] = [];
  readonly num: number[] = [];
  /** Values that are not numbers, by index (their `num` slot is NaN). */
  other: Map<number, PointValue> | undefined;
  /** Index of the newest point (the last of equal times), kept as points arrive so latest() costs one look per series. */
  newest = -1;

  constructor(unit: string | null) {
    this.unit = unit;
  }

  get length(): number {
    return this.ts.length;
  }

  push(t: number, v: PointValue): void {
    if (typeof v !== 'number') {
      this.other ??= new Map();
      this.other.set(this.ts.length, v);
    }
    if (this.newest === -1 || t >= (this.ts[this.newest] as number)) this.newest = this.ts.length;
    this.ts.push(t);
    this.num.push(typeof v === 'number' ? v : Number.NaN);
  }

  value(i: number): PointValue {
    const n = this.num[i] as number;
    return Number.isNaN(n) && this.other?.has(i) ? (this.other.get(i) as PointValue) : n;
  }
}

type Generation = Map<number, Map<string, TailSeries>>;

export class TelemetryTail {
  private readonly gens = new Map<number, Generation>();
  private count = 0;

  /** Points held. */
  get size(): number {
    return this.count;
  }

  add(gen: number, device: number, name: string, unit: string | null, ts: number, value: PointValue): void {
    this.addTo(this.deviceSeries(gen, device), name, unit, ts, value);
  }

  /** A committed frame's records (points.ts) for one device: the generation and device looked up once, not per point. */
  addRecords(gen: number, device: number, records: readonly ResolvedRecord[]): void {
    const d = this.deviceSeries(gen, device);
    const add = (name: string, value: PointValue, rec: ResolvedRecord) => this.addTo(d, name, rec.unit ?? null, rec.time, value);
    for (const rec of records) recordPoints(rec, add);
  }

  private deviceSeries(gen: number, device: number): Map<string, TailSeries> {
    let g = this.gens.get(gen);
    if (g === undefined) {
      g = new Map();
      this.gens.set(gen, g);
    }
    let d = g.get(device);
    if (d === undefined) {
      d = new Map();
      g.set(device, d);
    }
    return d;
  }

  private addTo(d: Map<string, TailSeries>, name: string, unit: string | null, ts: number, value: PointValue): void {
    let s = d.get(name);
    if (s === undefined) {
      s = new TailSeries(unit);
      d.set(name, s);
    } else if (unit !== null) s.unit = unit;
    s.push(ts, value);
    this.count++;
  }

  /** Forgets every generation up to `gen`: compaction has put them in blocks. */
  dropThrough(gen: number): void {
    for (const [g, m] of this.gens) {
      if (g > gen) continue;
      for (const d of m.values()) for (const s of d.values()) this.count -= s.length;
      this.gens.delete(g);
    }
  }

  forgetDevice(device: number): void {
    for (const g of this.gens.values()) {
      const d = g.get(device);
      if (d === undefined) continue;
      for (const s of d.values()) this.count -= s.length;
      g.delete(device);
    }
  }

  /** Points of (device, name) in [from, to] from generations above `gen`, unordered, appended to `into`. */
  points(device: number, name: string, aboveGen: number, from: number, to: number, into: Points): void {
    for (const [g, m] of this.gens) {
      if (g <= aboveGen) continue;
      const s = m.get(device)?.get(name);
      if (s === undefined) continue;
      for (let i = 0; i < s.length; i++) {
        const t = s.ts[i] as number;
        if (t >= from && t <= to) {
          into.ts.push(t);
          into.values.push(s.value(i));
        }
      }
    }
  }

  /** Whether the tail holds points of (device, name). */
  has(device: number, name: string): boolean {
    for (const g of this.gens.values()) if (g.get(device)?.has(name)) return true;
    return false;
  }

  /** The names (and units) of a device's series in the tail. */
  names(device: number): [string, string | null][] {
    const out = new Map<string, string | null>();
    for (const g of this.gens.values()) for (const [name, s] of g.get(device) ?? []) out.set(name, s.unit ?? out.get(name) ?? null);
    return [...out];
  }

  /** The newest point per name of a device in generations above `gen`. */
  latest(device: number, aboveGen: number): Map<string, { time: number; value: PointValue; unit: string | null }> {
    const out = new Map<string, { time: number; value: PointValue; unit: string | null }>();
    for (const [g, m] of this.gens) {
      if (g <= aboveGen) continue;
      for (const [name, s] of m.get(device) ?? []) {
        const best = s.newest;
        const cur = out.get(name);
        if (best >= 0 && (cur === undefined || (s.ts[best] as number) >= cur.time))
          out.set(name, { time: s.ts[best] as number, value: s.value(best), unit: s.unit });
      }
    }
    return out;
  }
}
