// The newest telemetry in memory, per log generation, until compaction has put it
// in blocks. Fed by committed batches (so it holds only durable points); queries
// merge it with the blocks, so no query has to scan the unindexed log.

import type { Points, PointValue } from '../store/telemetry/blocks.js';

interface TailSeries {
  unit: string | null;
  ts: number[];
  values: PointValue[];
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
    let s = d.get(name);
    if (s === undefined) {
      s = { unit, ts: [], values: [] };
      d.set(name, s);
    } else if (unit !== null) s.unit = unit;
    s.ts.push(ts);
    s.values.push(value);
    this.count++;
  }

  /** Forgets every generation up to `gen`: compaction has put them in blocks. */
  dropThrough(gen: number): void {
    for (const [g, m] of this.gens) {
      if (g > gen) continue;
      for (const d of m.values()) for (const s of d.values()) this.count -= s.ts.length;
      this.gens.delete(g);
    }
  }

  forgetDevice(device: number): void {
    for (const g of this.gens.values()) {
      const d = g.get(device);
      if (d === undefined) continue;
      for (const s of d.values()) this.count -= s.ts.length;
      g.delete(device);
    }
  }

  /** Points of (device, name) in [from, to] from generations above `gen`, unordered, appended to `into`. */
  points(device: number, name: string, aboveGen: number, from: number, to: number, into: Points): void {
    for (const [g, m] of this.gens) {
      if (g <= aboveGen) continue;
      const s = m.get(device)?.get(name);
      if (s === undefined) continue;
      for (let i = 0; i < s.ts.length; i++) {
        const t = s.ts[i] as number;
        if (t >= from && t <= to) {
          into.ts.push(t);
          into.values.push(s.values[i] as PointValue);
        }
      }
    }
  }

  /** The newest point per name of a device in generations above `gen`. */
  latest(device: number, aboveGen: number): Map<string, { time: number; value: PointValue; unit: string | null }> {
    const out = new Map<string, { time: number; value: PointValue; unit: string | null }>();
    for (const [g, m] of this.gens) {
      if (g <= aboveGen) continue;
      for (const [name, s] of m.get(device) ?? []) {
        for (let i = 0; i < s.ts.length; i++) {
          const t = s.ts[i] as number;
          const cur = out.get(name);
          if (cur === undefined || t >= cur.time) out.set(name, { time: t, value: s.values[i] as PointValue, unit: s.unit });
        }
      }
    }
    return out;
  }
}
