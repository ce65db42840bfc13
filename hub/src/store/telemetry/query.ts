// Telemetry on the read side, from the database: the device's series, blocks of
// compacted generations (using their summaries where a whole block falls in one
// bucket), and the rows of generations not yet compacted (read once at start to
// fill the in-memory tail).

import type { Statement } from 'better-sqlite3';
import type { BucketAccumulator } from '../../telemetry/buckets.js';
import type { Db } from '../db.js';
import { BLOCK_MAX_SPAN_MS, type Points, type PointValue, unpackBlock } from './blocks.js';
import { framePoints, fromColumns, logTable, readGenState } from './log-compactor.js';
import { ROLLUPS_SINCE_KEY } from './rollups.js';

export interface SeriesRef {
  id: number;
  name: string;
  unit: string | null;
}

export interface LatestPoint {
  name: string;
  unit: string | null;
  time: number;
  value: PointValue;
}

type BlockRow = [number, number, number, number, number | null, number | null, number | null, Uint8Array];

export class TelemetryReader {
  private readonly s: Record<'series' | 'seriesByName' | 'blocks' | 'latest' | 'compacted' | 'rollups' | 'rollupGen' | 'meta', Statement>;

  constructor(private readonly db: Db) {
    this.s = {
      series: db.prepare('SELECT s.id, m.name, s.unit FROM series s JOIN metrics m ON m.id = s.metric WHERE s.device = ? LIMIT ?'),
      seriesByName: db.prepare(
        'SELECT s.id, m.name, s.unit FROM series s JOIN metrics m ON m.id = s.metric WHERE s.device = ? AND m.name = ?',
      ),
      blocks: db
        .prepare(
          'SELECT t0, t1, n, nnum, sum, min, max, data FROM telemetry_blocks WHERE series = ? AND t0 >= ? AND t0 <= ? AND t1 >= ? AND gen <= ? ORDER BY t0, id',
        )
        .raw(),
      latest: db
        .prepare(
          'SELECT s.id, m.name, s.unit, s.last_ts, s.last_v, s.last_x FROM series s JOIN metrics m ON m.id = s.metric WHERE s.device = ? LIMIT ?',
        )
        .raw(),
      compacted: db.prepare("SELECT value FROM meta WHERE key = 'telemetry.compacted'").pluck(),
      rollups: db
        .prepare(
          'SELECT t, n, nnum, sum, min, max, last_t, last_v, last_x FROM telemetry_rollups WHERE series = ? AND width = ? AND t >= ? AND t <= ?',
        )
        .raw(),
      rollupGen: db.prepare('SELECT rollup_gen FROM series WHERE id = ?').pluck(),
      meta: db.prepare('SELECT value FROM meta WHERE key = ?').pluck(),
    };
  }

  /** The highest generation whose points are in blocks (newer ones are in the tail). */
  compacted(): number {
    return Number((this.s.compacted.get() as string | undefined) ?? '0');
  }

  /** How many series the device has. */
  seriesCount(device: number): number {
    return this.db.prepare('SELECT count(*) FROM series WHERE device = ?').pluck().get(device) as number;
  }

  /** Whether the device has a series of this name. */
  hasSeries(device: number, name: string): boolean {
    return this.s.seriesByName.get(device, name) !== undefined;
  }

  /** The device's series, all (at most `limit`, in no order) or the named ones (unknown names are skipped). */
  series(device: number, names?: readonly string[], limit = Number.MAX_SAFE_INTEGER): SeriesRef[] {
    if (names === undefined) return this.s.series.all(device, limit) as SeriesRef[];
    return names.flatMap((n) => (this.s.seriesByName.all(device, n) as SeriesRef[]).slice(0, 1));
  }

  /** Points of one series in [from, to] from blocks of generations up to `gen`, unordered. */
  blockPoints(series: number, from: number, to: number, gen: number, into: Points): void {
    for (const [, , , , , , , data] of this.s.blocks.iterate(series, from - BLOCK_MAX_SPAN_MS, to, from, gen) as Iterable<BlockRow>) {
      unpackBlock(data, into);
    }
  }

  /** Adds blocks of generations up to `gen` to a bucket accumulator. */
  blockBuckets(series: number, acc: BucketAccumulator, gen: number): void {
    const scratch: Points = { ts: [], values: [] };
    for (const [t0, t1, n, nnum, sum, min, max, data] of this.s.blocks.iterate(
      series,
      acc.from - BLOCK_MAX_SPAN_MS,
      acc.to,
      acc.from,
      gen,
    ) as Iterable<BlockRow>) {
      scratch.ts.length = 0;
      scratch.values.length = 0;
      if (acc.wholeBlock(t0, t1)) {
        acc.addSummary(t0, t1, n, nnum, sum ?? 0, min ?? 0, max ?? 0, () => unpackBlock(data, scratch).values[n - 1] as PointValue);
        continue;
      }
      unpackBlock(data, scratch);
      for (let i = 0; i < scratch.ts.length; i++) acc.add(scratch.ts[i] as number, scratch.values[i] as PointValue);
    }
  }

  /** Rollups hold every compacted point at or after this time (rollups.ts). */
  rollupsSince(): number {
    return Number((this.s.meta.get(ROLLUPS_SINCE_KEY) as string | undefined) ?? '0');
  }

  /**
   * Adds the series' rollups of `width` starting in [acc.from, acc.to] to the
   * accumulator, in one snapshot with the generation they hold the series through;
   * returns it (or `gen` if higher): the tail's newer generations hold the rest.
   */
  rollupBuckets(series: number, width: number, acc: BucketAccumulator, gen: number): number {
    return this.db.transaction(() => {
      const rolled = (this.s.rollupGen.get(series) as number | undefined) ?? 0;
      for (const [t, n, nnum, sum, min, max, lastT, v, x] of this.s.rollups.iterate(series, width, acc.from, acc.to) as Iterable<
        [number, number, number, number | null, number | null, number | null, number, number | null, unknown]
      >) {
        acc.addSummary(t, lastT, n, nnum, sum ?? 0, min ?? 0, max ?? 0, () => fromColumns(v, x));
      }
      return Math.max(rolled, gen);
    })();
  }

  /**
   * The newest compacted point of each of the device's series, at most `limit` of
   * them (a device stored before the series limit may have far more).
   */
  latest(device: number, limit = Number.MAX_SAFE_INTEGER): Map<string, LatestPoint> {
    const out = new Map<string, LatestPoint>();
    for (const [, name, unit, ts, v, x] of this.s.latest.iterate(device, limit) as Iterable<
      [number, string, string | null, number | null, number | null, unknown]
    >) {
      if (ts !== null) out.set(name, { name, unit, time: ts, value: fromColumns(v, x) });
    }
    return out;
  }

  /**
   * The newest compacted point of each series of many devices, in one query per 500
   * devices, at most `limit` rows in all; `rows` says how many were read, so a caller
   * that reached the limit knows the answer may be partial.
   */
  latestMany(devices: readonly number[], limit: number): { latest: Map<number, Map<string, LatestPoint>>; rows: number } {
    const latest = new Map<number, Map<string, LatestPoint>>();
    let rows = 0;
    for (let i = 0; i < devices.length && rows < limit; i += 500) {
      const chunk = devices.slice(i, i + 500);
      const found = this.db
        .prepare(
          `SELECT s.device, m.name, s.unit, s.last_ts, s.last_v, s.last_x FROM series s JOIN metrics m ON m.id = s.metric
           WHERE s.device IN (${chunk.map(() => '?').join(', ')}) AND s.last_ts IS NOT NULL LIMIT ?`,
        )
        .raw()
        .iterate(...chunk, limit - rows) as Iterable<[number, string, string | null, number, number | null, unknown]>;
      for (const [device, name, unit, ts, v, x] of found) {
        rows++;
        let m = latest.get(device);
        if (m === undefined) {
          m = new Map();
          latest.set(device, m);
        }
        m.set(name, { name, unit, time: ts, value: fromColumns(v, x) });
      }
    }
    return { latest, rows };
  }

  /** Every point of generations not yet compacted, with its device and metric name (for the tail at start). */
  uncompacted(each: (gen: number, device: number, name: string, unit: string | null, ts: number, value: PointValue) => void): void {
    const { current, compacted } = readGenState(this.db);
    for (let gen = compacted + 1; gen <= current; gen++) {
      const rows = this.db
        .prepare(`SELECT device, received, frame FROM ${logTable(gen)}`)
        .raw()
        .iterate() as Iterable<[number, number, Uint8Array]>;
      for (const [device, received, frame] of rows)
        framePoints(frame, received, (name, unit, ts, value) => each(gen, device, name, unit ?? null, ts, value));
    }
  }
}
