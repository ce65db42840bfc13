// Telemetry on the read side: raw points and time buckets for a range, and the
// latest value per metric. Reads blocks (using their summaries where a whole block
// falls in one bucket) plus log rows not yet compacted.

import type { Statement } from 'better-sqlite3';
import type { Db } from '../db.js';
import { BLOCK_MAX_SPAN_MS, type Points, type PointValue, unpackBlock } from './blocks.js';
import { fromColumns } from './writer.js';

export interface SeriesRef {
  id: number;
  name: string;
  unit: string | null;
}

export type Aggregate = 'avg' | 'min' | 'max' | 'count' | 'last';
export const AGGREGATES: readonly Aggregate[] = ['avg', 'min', 'max', 'count', 'last'];

export interface Bucket {
  t: number;
  count: number;
  avg?: number | null;
  min?: number | null;
  max?: number | null;
  last?: PointValue | null;
}

export interface LatestPoint {
  name: string;
  unit: string | null;
  time: number;
  value: PointValue;
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

export class TelemetryReader {
  private readonly s: {
    series: Statement;
    seriesByName: Statement;
    blocks: Statement;
    log: Statement;
    latest: Statement;
    logForSeries: Statement;
  };

  constructor(db: Db) {
    this.s = {
      series: db.prepare('SELECT s.id, m.name, s.unit FROM series s JOIN metrics m ON m.id = s.metric WHERE s.device = ? ORDER BY m.name'),
      seriesByName: db.prepare(
        'SELECT s.id, m.name, s.unit FROM series s JOIN metrics m ON m.id = s.metric WHERE s.device = ? AND m.name = ?',
      ),
      blocks: db
        .prepare(
          'SELECT t0, t1, n, nnum, sum, min, max, data FROM telemetry_blocks WHERE series = ? AND t0 >= ? AND t0 <= ? AND t1 >= ? ORDER BY t0, id',
        )
        .raw(),
      log: db.prepare('SELECT ts, v, x FROM telemetry_log WHERE series = ? AND ts >= ? AND ts <= ?').raw(),
      latest: db
        .prepare(
          'SELECT s.id, m.name, s.unit, s.last_ts, s.last_v, s.last_x FROM series s JOIN metrics m ON m.id = s.metric WHERE s.device = ?',
        )
        .raw(),
      logForSeries: db.prepare('SELECT series, ts, v, x FROM telemetry_log WHERE series IN (SELECT id FROM series WHERE device = ?)').raw(),
    };
  }

  /** The device's series, all or the named ones (unknown names are skipped). */
  series(device: number, names?: readonly string[]): SeriesRef[] {
    if (names === undefined) return this.s.series.all(device) as SeriesRef[];
    return names.flatMap((n) => (this.s.seriesByName.all(device, n) as SeriesRef[]).slice(0, 1));
  }

  /** Raw points of one series in [from, to], time order, at most `limit` (the earliest). */
  raw(series: number, from: number, to: number, limit: number): { points: Points; truncated: boolean } {
    const points: Points = { ts: [], values: [] };
    for (const [, , , , , , , data] of this.s.blocks.iterate(series, from - BLOCK_MAX_SPAN_MS, to, from) as Iterable<BlockRow>) {
      unpackBlock(data, points);
    }
    for (const [ts, v, x] of this.s.log.iterate(series, from, to) as Iterable<[number, number | null, unknown]>) {
      points.ts.push(ts);
      points.values.push(fromColumns(v, x));
    }
    const order = points.ts.map((_, i) => i).filter((i) => (points.ts[i] as number) >= from && (points.ts[i] as number) <= to);
    order.sort((a, b) => (points.ts[a] as number) - (points.ts[b] as number) || a - b);
    const kept = order.slice(0, limit);
    return {
      points: { ts: kept.map((i) => points.ts[i] as number), values: kept.map((i) => points.values[i] as PointValue) },
      truncated: order.length > limit,
    };
  }

  /** Buckets of `width` ms aligned to the epoch, covering [from, to]; empty buckets are left out. */
  buckets(series: number, from: number, to: number, width: number): Bucket[] {
    const accs = new Map<number, Acc>();
    const acc = (t: number): Acc => {
      const key = Math.floor(t / width) * width;
      let a = accs.get(key);
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
        accs.set(key, a);
      }
      return a;
    };
    const add = (t: number, v: PointValue) => {
      if (t < from || t > to) return;
      const a = acc(t);
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
    };
    const scratch: Points = { ts: [], values: [] };
    for (const [t0, t1, n, nnum, sum, min, max, data] of this.s.blocks.iterate(
      series,
      from - BLOCK_MAX_SPAN_MS,
      to,
      from,
    ) as Iterable<BlockRow>) {
      // A block inside one bucket and inside the range: its summary is the answer,
      // except for `last`, which needs the newest point (the blob's last entry).
      if (t0 >= from && t1 <= to && Math.floor(t0 / width) === Math.floor(t1 / width)) {
        const a = acc(t0);
        a.count += n;
        a.nnum += nnum;
        if (nnum > 0) {
          a.sum += sum as number;
          if ((min as number) < a.min) a.min = min as number;
          if ((max as number) > a.max) a.max = max as number;
        }
        if (t1 >= a.lastT) {
          scratch.ts.length = 0;
          scratch.values.length = 0;
          unpackBlock(data, scratch);
          a.lastT = t1;
          a.last = scratch.values[scratch.values.length - 1] as PointValue;
        }
        continue;
      }
      scratch.ts.length = 0;
      scratch.values.length = 0;
      unpackBlock(data, scratch);
      for (let i = 0; i < scratch.ts.length; i++) add(scratch.ts[i] as number, scratch.values[i] as PointValue);
    }
    for (const [ts, v, x] of this.s.log.iterate(series, from, to) as Iterable<[number, number | null, unknown]>) add(ts, fromColumns(v, x));
    return [...accs.entries()]
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

  /** The newest point of each of the device's metrics. */
  latest(device: number): LatestPoint[] {
    const out = new Map<number, LatestPoint>();
    for (const [id, name, unit, ts, v, x] of this.s.latest.iterate(device) as Iterable<
      [number, string, string | null, number | null, number | null, unknown]
    >) {
      if (ts !== null) out.set(id, { name, unit, time: ts, value: fromColumns(v, x) });
      else out.set(id, { name, unit, time: Number.NEGATIVE_INFINITY, value: Number.NaN });
    }
    for (const [series, ts, v, x] of this.s.logForSeries.iterate(device) as Iterable<[number, number, number | null, unknown]>) {
      const p = out.get(series);
      if (p !== undefined && ts >= p.time) {
        p.time = ts;
        p.value = fromColumns(v, x);
      }
    }
    return [...out.values()].filter((p) => Number.isFinite(p.time)).sort((a, b) => (a.name < b.name ? -1 : 1));
  }
}

type BlockRow = [number, number, number, number, number | null, number | null, number | null, Uint8Array];
