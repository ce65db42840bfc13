// Telemetry on the write side (runs in the writer thread): appends to the log in the
// ingest transaction, then compaction moves log rows into per-series blocks in
// short transactions, and merging joins small blocks into full ones. A small LSM:
// cheap appends for the ACK path, per-series locality for queries.

import type { Statement } from 'better-sqlite3';
import type { Db } from '../db.js';
import {
  BLOCK_MAX_POINTS,
  blockRanges,
  type PackedBlock,
  type Points,
  type PointValue,
  packBlock,
  sortPoints,
  unpackBlock,
} from './blocks.js';

export interface CompactionStats {
  rows: number;
  blocks: number;
}

/** Log rows one compaction transaction takes: keeps each transaction to tens of ms. */
const COMPACT_ROWS = 25_000;
/** Points one merge step reads. */
const MERGE_POINTS = 50_000;
/** A series is merged once it has this many small blocks or points in them... */
const MERGE_MIN_BLOCKS = 64;
/** ...or its oldest small block is this old. */
const MERGE_AGE_MS = 10 * 60_000;

interface SmallBlocks {
  keys: [number, number][];
  points: number;
  oldest: number;
}

/** A log row's value columns from a point value. */
export function toColumns(v: PointValue): [number | null, string | number | Uint8Array | null] {
  if (typeof v === 'number') return [v, null];
  if (typeof v === 'boolean') return [null, v ? 1 : 0];
  return [null, v];
}

/** A point value from a log row's (or series') value columns. */
export function fromColumns(v: number | null, x: unknown): PointValue {
  if (v !== null) return v;
  if (typeof x === 'string') return x;
  if (typeof x === 'number' || typeof x === 'bigint') return x !== 0 && x !== 0n;
  if (x instanceof Uint8Array) return new Uint8Array(x);
  return Number.NaN;
}

export class TelemetryWriter {
  private readonly seriesIds = new Map<string, number>();
  private readonly seriesLastTs = new Map<number, number>();
  private readonly seriesUnits = new Map<number, string | undefined>();
  private readonly small = new Map<number, SmallBlocks>();
  private nextBlockId: number;
  private readonly s: {
    findSeries: Statement;
    findMetric: Statement;
    insertMetric: Statement;
    insertSeries: Statement;
    setUnit: Statement;
    append: Statement;
    logBatch: Statement;
    deleteLog: Statement;
    insertBlock: Statement;
    deleteBlock: Statement;
    getBlock: Statement;
    setLast: Statement;
    logCount: Statement;
  };

  constructor(private readonly db: Db) {
    this.s = {
      findSeries: db.prepare('SELECT s.id FROM series s JOIN metrics m ON m.id = s.metric WHERE s.device = ? AND m.name = ?').pluck(),
      findMetric: db.prepare('SELECT id FROM metrics WHERE name = ?').pluck(),
      insertMetric: db.prepare('INSERT INTO metrics (name) VALUES (?)'),
      insertSeries: db.prepare('INSERT INTO series (device, metric, unit) VALUES (?, ?, ?)'),
      setUnit: db.prepare('UPDATE series SET unit = ? WHERE id = ?'),
      append: db.prepare('INSERT INTO telemetry_log (series, ts, v, x) VALUES (?, ?, ?, ?)'),
      logBatch: db.prepare('SELECT rowid, series, ts, v, x FROM telemetry_log ORDER BY rowid LIMIT ?').raw(),
      deleteLog: db.prepare('DELETE FROM telemetry_log WHERE rowid <= ?'),
      insertBlock: db.prepare(
        'INSERT INTO telemetry_blocks (series, t0, id, t1, level, n, nnum, sum, min, max, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      deleteBlock: db.prepare('DELETE FROM telemetry_blocks WHERE series = ? AND t0 = ? AND id = ?'),
      getBlock: db.prepare('SELECT data FROM telemetry_blocks WHERE series = ? AND t0 = ? AND id = ?').pluck(),
      setLast: db.prepare('UPDATE series SET last_ts = ?, last_v = ?, last_x = ? WHERE id = ? AND (last_ts IS NULL OR last_ts <= ?)'),
      logCount: db.prepare('SELECT count(*) FROM telemetry_log').pluck(),
    };
    this.nextBlockId = ((db.prepare('SELECT max(id) FROM telemetry_blocks').pluck().get() as number | null) ?? 0) + 1;
    for (const [series, t0, id] of db.prepare('SELECT series, t0, id FROM telemetry_blocks WHERE level = 0').raw().iterate() as Iterable<
      [number, number, number]
    >) {
      this.noteSmall(series, t0, id, 0, Date.now());
    }
    for (const [id, last] of db.prepare('SELECT id, last_ts FROM series').raw().iterate() as Iterable<[number, number | null]>) {
      if (last !== null) this.seriesLastTs.set(id, last);
    }
  }

  /** The series of (device, name), created on first use. Units follow the newest point. */
  seriesId(device: number, name: string, unit: string | undefined): number {
    const key = `${device}\u0000${name}`;
    let id = this.seriesIds.get(key);
    if (id === undefined) {
      id = this.s.findSeries.get(device, name) as number | undefined;
      if (id === undefined) {
        let metric = this.s.findMetric.get(name) as number | undefined;
        if (metric === undefined) metric = Number(this.s.insertMetric.run(name).lastInsertRowid);
        id = Number(this.s.insertSeries.run(device, metric, unit ?? null).lastInsertRowid);
        this.seriesUnits.set(id, unit);
      }
      this.seriesIds.set(key, id);
    }
    if (unit !== undefined && this.seriesUnits.get(id) !== unit) {
      this.s.setUnit.run(unit, id);
      this.seriesUnits.set(id, unit);
    }
    return id;
  }
  /** Appends one point to the log; call inside the ingest transaction. */
  append(series: number, ts: number, value: PointValue): void {
    const [v, x] = toColumns(value);
    this.s.append.run(series, ts, v, x);
  }

  /** Forgets cached series of a deleted device. */
  forgetDevice(device: number): void {
    const prefix = `${device}\u0000`;
    for (const [key, id] of this.seriesIds) {
      if (key.startsWith(prefix)) {
        this.seriesIds.delete(key);
        this.seriesLastTs.delete(id);
        this.seriesUnits.delete(id);
        this.small.delete(id);
      }
    }
  }

  logRows(): number {
    return this.s.logCount.get() as number;
  }

  private insertBlock(series: number, level: number, b: PackedBlock): number {
    const id = this.nextBlockId++;
    this.s.insertBlock.run(series, b.t0, id, b.t1, level, b.n, b.nnum, b.sum, b.min, b.max, b.data);
    return id;
  }

  private noteSmall(series: number, t0: number, id: number, points: number, now: number): void {
    let s = this.small.get(series);
    if (s === undefined) {
      s = { keys: [], points: 0, oldest: now };
      this.small.set(series, s);
    }
    s.keys.push([t0, id]);
    s.points += points;
  }

  /** Moves up to COMPACT_ROWS log rows into level-0 blocks, in one transaction. */
  compact(now = Date.now()): CompactionStats {
    return this.db.transaction((): CompactionStats => {
      const rows = this.s.logBatch.all(COMPACT_ROWS) as [number, number, number, number | null, unknown][];
      if (rows.length === 0) return { rows: 0, blocks: 0 };
      const bySeries = new Map<number, Points>();
      for (const [, series, ts, v, x] of rows) {
        let p = bySeries.get(series);
        if (p === undefined) {
          p = { ts: [], values: [] };
          bySeries.set(series, p);
        }
        p.ts.push(ts);
        p.values.push(fromColumns(v, x));
      }
      let blocks = 0;
      for (const [series, unsorted] of bySeries) {
        const p = sortPoints(unsorted);
        for (const [start, end] of blockRanges(p.ts)) {
          const b = packBlock(p.ts, p.values, start, end);
          const id = this.insertBlock(series, 0, b);
          this.noteSmall(series, b.t0, id, b.n, now);
          blocks++;
        }
        const lastTs = p.ts[p.ts.length - 1] as number;
        if (lastTs >= (this.seriesLastTs.get(series) ?? Number.NEGATIVE_INFINITY)) {
          const [v, x] = toColumns(p.values[p.values.length - 1] as PointValue);
          this.s.setLast.run(lastTs, v, x, series, lastTs);
          this.seriesLastTs.set(series, lastTs);
        }
      }
      this.s.deleteLog.run((rows[rows.length - 1] as [number, ...unknown[]])[0]);
      return { rows: rows.length, blocks };
    })();
  }

  /** Series whose small blocks are due for merging, most urgent first. */
  private mergeCandidates(now: number): number[] {
    const due: [number, number][] = [];
    for (const [series, s] of this.small) {
      if (s.keys.length >= MERGE_MIN_BLOCKS || s.points >= BLOCK_MAX_POINTS || (s.keys.length > 1 && now - s.oldest >= MERGE_AGE_MS)) {
        due.push([series, s.keys.length]);
      }
    }
    return due.sort((a, b) => b[1] - a[1]).map(([series]) => series);
  }

  /**
   * Merges the small blocks of due series into full (level-1) blocks, reading at
   * most MERGE_POINTS points, in one transaction. Returns the points merged.
   */
  merge(now = Date.now()): number {
    const candidates = this.mergeCandidates(now);
    if (candidates.length === 0) return 0;
    return this.db.transaction((): number => {
      let merged = 0;
      for (const series of candidates) {
        const s = this.small.get(series) as SmallBlocks;
        if (merged > 0 && merged + s.points > MERGE_POINTS) break;
        const points: Points = { ts: [], values: [] };
        for (const [t0, id] of s.keys) {
          const data = this.s.getBlock.get(series, t0, id) as Uint8Array | undefined;
          if (data === undefined) continue;
          unpackBlock(data, points);
          this.s.deleteBlock.run(series, t0, id);
        }
        const p = sortPoints(points);
        for (const [start, end] of blockRanges(p.ts)) this.insertBlock(series, 1, packBlock(p.ts, p.values, start, end));
        this.small.delete(series);
        merged += p.ts.length;
      }
      return merged;
    })();
  }

  /** Deletes blocks that end before `cutoff` for up to `seriesBudget` series; returns blocks deleted. */
  retain(cutoff: number, fromSeries: number, seriesBudget: number): { deleted: number; nextSeries: number | undefined } {
    const ids = this.db
      .prepare('SELECT id FROM series WHERE id >= ? ORDER BY id LIMIT ?')
      .pluck()
      .all(fromSeries, seriesBudget + 1) as number[];
    const del = this.db.prepare('DELETE FROM telemetry_blocks WHERE series = ? AND t0 < ? AND t1 < ?');
    let deleted = 0;
    this.db.transaction(() => {
      for (const id of ids.slice(0, seriesBudget)) deleted += del.run(id, cutoff, cutoff).changes;
    })();
    return { deleted, nextSeries: ids[seriesBudget] };
  }
}
