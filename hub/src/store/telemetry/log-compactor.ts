// Telemetry on the write side (runs in the writer thread). A small LSM on SQLite:
//
// - Ingest appends each TELEMETRY frame, as received, to the current log table: one
//   row per frame whatever it holds, no index, no decoding, so a commit is cheap and
//   the ACK fast. Two log tables take turns; each turn is a "generation".
// - Compaction seals the current generation (appends switch to the other table),
//   decodes its frames, packs each series' points into a block, writes the blocks a
//   few hundred per transaction so no ACK waits long behind them, then drops the
//   sealed table's rows in one cheap truncate and records the generation as compacted.
//   Blocks carry their generation: a crash mid-way leaves blocks of an uncompacted
//   generation, which are deleted at start and compacted again.
// - Merging later joins a series' small blocks into full ones.
//
// Queries read blocks up to the compacted generation; newer points come from the
// main thread's in-memory tail (TelemetryTail), so no query scans the log.

import { DEFAULT_LIMITS, decode, MessageType, messageName, type ResolvedRecord } from '@halyard/firmware-protocol';
import type { Statement } from 'better-sqlite3';
import { recordPoints } from '../../telemetry/points.js';
import type { Db } from '../db.js';
import {
  BLOCK_MAX_BYTES,
  BLOCK_MAX_POINTS,
  BLOCK_MAX_SPAN_MS,
  blockRanges,
  isLegacyBlock,
  type PackedBlock,
  type Points,
  type PointValue,
  packBlocks,
  sortPoints,
  unpackBlock,
} from './blocks.js';
import { faultReason, isEnvironmentFault, type Quarantined, TelemetryQuarantine } from './quarantine.js';
import { ROLLUP_WIDTHS, type Rollup, rollupsOf } from './rollups.js';

/** Frames read and decoded per compaction step (a few ms; ingest commits wait while it runs). */
const READ_ROWS = 500;
/** Series written per compaction step (one transaction)... */
const WRITE_SERIES = 125;
/**
 * ...and points packed per step, about: packing blocks (codec.ts) runs at 2-4 million
 * points a second here, so a step stays near 10 ms and no ACK waits long behind it
 * (125 series of a 25,000-frame generation of 10-record frames were 150,000 points).
 */
const WRITE_POINTS = 25_000;
/** Points one merge step reads (about 10 ms of work). */
const MERGE_POINTS = 10_000;
/** A series is merged once it has this many small blocks or points in them... */
const MERGE_MIN_BLOCKS = 64;
/** ...or its oldest small block is this old. */
const MERGE_AGE_MS = 10 * 60_000;
/** Frames per multi-row INSERT: binding many rows per statement costs far less than a statement per row. */
const INSERT_ROWS = 64;
/** Blocks one recode step reads, and points of old-format blocks it rewrites at most (about 10 ms of work). */
const RECODE_ROWS = 64;
const RECODE_POINTS = 10_000;
/** meta key: the last block key the recode pass has checked ("series,t0,id"), or "done". */
const RECODE_KEY = 'telemetry.recode';
/** Rollup rows one upsert statement takes at most. */
const ROLLUP_ROWS = 4;
/** Compaction decodes with limits loose enough for any frame the gateway accepted. */
const COMPACT_LIMITS = { ...DEFAULT_LIMITS, maxFrame: 16 * 1024 * 1024 };

/**
 * The points of one logged TELEMETRY frame, resolved as at its arrival. Returns why
 * the frame yields none: the gateway validated it, but an older hub may have
 * accepted what this one refuses (times outside SPEC.md §5.2's range).
 */
export function framePoints(
  frame: Uint8Array,
  received: number,
  each: (name: string, unit: string | undefined, ts: number, value: PointValue) => void,
): string | undefined {
  const r = decode(frame, { now: received, accept: 'uplink', limits: COMPACT_LIMITS });
  if (!r.ok) return `${r.error.code}: ${r.error.message}`;
  if (r.message.type !== MessageType.Telemetry) return `a ${messageName(r.message.type)} in the telemetry log`;
  const point = (name: string, value: PointValue, rec: ResolvedRecord) => each(name, rec.unit, rec.time, value);
  for (const rec of r.message.records) recordPoints(rec, point);
  return undefined;
}

/** The points of one frame being compacted, held until the whole frame has been read (reused). */
class FramePointsBuffer {
  readonly names: string[] = [];
  readonly units: (string | undefined)[] = [];
  readonly ts: number[] = [];
  readonly values: PointValue[] = [];
  length = 0;
  readonly add = (name: string, unit: string | undefined, ts: number, value: PointValue): void => {
    const i = this.length++;
    this.names[i] = name;
    this.units[i] = unit;
    this.ts[i] = ts;
    this.values[i] = value;
  };

  clear(): void {
    this.length = 0;
  }
}

/** Points read by a compaction step, as parallel arrays (reused). */
class HeldPoints {
  readonly series: number[] = [];
  readonly ts: number[] = [];
  readonly values: PointValue[] = [];
  length = 0;

  push(series: number, ts: number, value: PointValue): void {
    const i = this.length++;
    this.series[i] = series;
    this.ts[i] = ts;
    this.values[i] = value;
  }

  truncate(length: number): void {
    this.length = length;
  }

  /** Forgets the points; the arrays keep their room, but not their values (strings, byte arrays) for the collector. */
  clear(): void {
    this.values.length = 0;
    this.series.length = 0;
    this.ts.length = 0;
    this.length = 0;
  }
}

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

/** The log table a generation's rows live in. */
export function logTable(gen: number): string {
  return `telemetry_log${gen % 2}`;
}

export interface GenState {
  /** Generation ingest appends to. */
  current: number;
  /** Highest generation whose rows are all in blocks. */
  compacted: number;
}

export function readGenState(db: Db): GenState {
  const get = (k: string) => Number((db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get(k) as string | undefined) ?? '0');
  const compacted = get('telemetry.compacted');
  return { current: Math.max(get('telemetry.gen'), compacted + 1), compacted };
}

type Compaction =
  | { phase: 'reading'; gen: number; afterRowid: number; bySeries: Map<number, Points> }
  | {
      phase: 'writing';
      gen: number;
      series: number[];
      bySeries: Map<number, Points>;
      next: number;
      rows: number;
      /** Blocks written; they become merge candidates only once the generation is compacted. */
      written: [number, number, number, number][];
    };

export interface CompactionProgress {
  /** A generation finished compacting in this step. */
  compacted?: number;
  rows: number;
  blocks: number;
  /** What this step set aside instead of storing (newly; a redone step does not repeat it). */
  quarantined: Quarantined[];
}

export class TelemetryWriter {
  /** Series ids by device, then name: nested maps avoid building a key string per point. */
  private readonly seriesIds = new Map<number, Map<string, number>>();
  private readonly seriesUnits = new Map<number, string | undefined>();
  private readonly seriesLastTs = new Map<number, number>();
  /** series.rollup_gen as committed, read once per series (one read less per series and generation). */
  private readonly rollupGens = new Map<number, number>();
  private readonly small = new Map<number, SmallBlocks>();
  private readonly pending: (number | Uint8Array)[] = [];
  private readonly params: (number | Uint8Array)[] = new Array(INSERT_ROWS * 3);
  private nextBlockId: number;
  private gens: GenState;
  private compaction: Compaction | undefined;
  /** Rows appended to the current generation. */
  currentRows = 0;
  private readonly s: Record<
    | 'findSeries'
    | 'findMetric'
    | 'insertMetric'
    | 'insertSeries'
    | 'setUnit'
    | 'insertBlock'
    | 'deleteBlock'
    | 'getBlock'
    | 'setLast'
    | 'setMeta'
    | 'recodeScan'
    | 'newestBlock'
    | 'rollupGen'
    | 'setRollupGen'
    | 'setLastAndRollupGen',
    Statement
  >;
  private readonly insertOne: Statement[];
  /** Rollup upserts of 1 to ROLLUP_ROWS rows, by row count, and their parameter arrays. */
  private readonly addRollup: Statement[] = [];
  private readonly rollupParams: unknown[][] = [];
  /** A log table's rows after a rowid, per table (generation % 2). */
  private readonly readLog: Statement[];
  private readonly held = new HeldPoints();
  private readonly framePending = new FramePointsBuffer();
  private readonly insertMany: Statement[];
  private readonly quarantine: TelemetryQuarantine;

  constructor(private readonly db: Db) {
    this.quarantine = new TelemetryQuarantine(db);
    this.s = {
      findSeries: db.prepare('SELECT s.id FROM series s JOIN metrics m ON m.id = s.metric WHERE s.device = ? AND m.name = ?').pluck(),
      findMetric: db.prepare('SELECT id FROM metrics WHERE name = ?').pluck(),
      insertMetric: db.prepare('INSERT INTO metrics (name) VALUES (?)'),
      insertSeries: db.prepare('INSERT INTO series (device, metric, unit) VALUES (?, ?, ?)'),
      setUnit: db.prepare('UPDATE series SET unit = ? WHERE id = ?'),
      insertBlock: db.prepare(
        'INSERT INTO telemetry_blocks (series, t0, id, t1, level, gen, n, nnum, sum, min, max, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      deleteBlock: db.prepare('DELETE FROM telemetry_blocks WHERE series = ? AND t0 = ? AND id = ?'),
      getBlock: db.prepare('SELECT data FROM telemetry_blocks WHERE series = ? AND t0 = ? AND id = ?').pluck(),
      setLast: db.prepare('UPDATE series SET last_ts = ?, last_v = ?, last_x = ? WHERE id = ? AND (last_ts IS NULL OR last_ts <= ?)'),
      rollupGen: db.prepare('SELECT rollup_gen FROM series WHERE id = ?').pluck(),
      setRollupGen: db.prepare('UPDATE series SET rollup_gen = ? WHERE id = ?'),
      // A series' newest point and its rollup generation in one statement (compaction's write step).
      setLastAndRollupGen: db.prepare(
        `UPDATE series SET rollup_gen = ?,
           last_v = CASE WHEN last_ts IS NULL OR last_ts <= ? THEN ? ELSE last_v END,
           last_x = CASE WHEN last_ts IS NULL OR last_ts <= ? THEN ? ELSE last_x END,
           last_ts = CASE WHEN last_ts IS NULL OR last_ts <= ? THEN ? ELSE last_ts END
         WHERE id = ?`,
      ),
      setMeta: db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
      newestBlock: db
        .prepare('SELECT t0, id, t1, n, level, data FROM telemetry_blocks WHERE series = ? ORDER BY t0 DESC, id DESC LIMIT 1')
        .raw(),
      recodeScan: db
        .prepare(
          'SELECT series, t0, id, level, gen, data FROM telemetry_blocks WHERE (series, t0, id) > (?, ?, ?) ORDER BY series, t0, id LIMIT ?',
        )
        .raw(),
    };
    const values = (n: number) => Array.from({ length: n }, () => '(?, ?, ?)').join(', ');
    this.insertOne = [0, 1].map((k) => db.prepare(`INSERT INTO telemetry_log${k} (device, received, frame) VALUES ${values(1)}`));
    for (let rows = 1; rows <= ROLLUP_ROWS; rows++) {
      // Adds a batch's bucket to the stored one (telemetry/rollups.ts). SET reads the old row;
      // a row of the same statement that meets one before it adds to it, as a statement of its own would.
      this.addRollup[rows] = db.prepare(
        `INSERT INTO telemetry_rollups (series, width, t, n, nnum, sum, min, max, last_t, last_v, last_x)
         VALUES ${Array.from({ length: rows }, () => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}
         ON CONFLICT (series, width, t) DO UPDATE SET
           n = n + excluded.n, nnum = nnum + excluded.nnum,
           sum = coalesce(sum + excluded.sum, sum, excluded.sum),
           min = coalesce(min(min, excluded.min), min, excluded.min),
           max = coalesce(max(max, excluded.max), max, excluded.max),
           last_v = CASE WHEN excluded.last_t >= last_t THEN excluded.last_v ELSE last_v END,
           last_x = CASE WHEN excluded.last_t >= last_t THEN excluded.last_x ELSE last_x END,
           last_t = max(last_t, excluded.last_t)`,
      );
      this.rollupParams[rows] = new Array(rows * 11);
    }
    this.readLog = [0, 1].map((k) =>
      db.prepare(`SELECT rowid, device, received, frame FROM telemetry_log${k} WHERE rowid > ? ORDER BY rowid LIMIT ?`).raw(),
    );
    this.insertMany = [0, 1].map((k) =>
      db.prepare(`INSERT INTO telemetry_log${k} (device, received, frame) VALUES ${values(INSERT_ROWS)}`),
    );
    this.nextBlockId = ((db.prepare('SELECT max(id) FROM telemetry_blocks').pluck().get() as number | null) ?? 0) + 1;
    this.gens = readGenState(db);
    db.transaction(() => {
      // Blocks of a generation whose compaction did not finish: its rows are still in the log.
      db.prepare('DELETE FROM telemetry_blocks WHERE gen > ?').run(this.gens.compacted);
      this.s.setMeta.run('telemetry.gen', String(this.gens.current));
      this.s.setMeta.run('telemetry.compacted', String(this.gens.compacted));
    })();
    this.currentRows = db
      .prepare(`SELECT count(*) FROM ${logTable(this.gens.current)}`)
      .pluck()
      .get() as number;
    for (const [series, t0, id] of db.prepare('SELECT series, t0, id FROM telemetry_blocks WHERE level = 0').raw().iterate() as Iterable<
      [number, number, number]
    >) {
      this.noteSmall(series, t0, id, 0, Date.now());
    }
    for (const [id, last] of db.prepare('SELECT id, last_ts FROM series').raw().iterate() as Iterable<[number, number | null]>) {
      if (last !== null) this.seriesLastTs.set(id, last);
    }
    // A database that has blocks from before the bit-packed codec gets one recode pass
    // over them; one without blocks has nothing to convert, ever.
    if (db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get(RECODE_KEY) === undefined) {
      const any = db.prepare('SELECT 1 FROM telemetry_blocks LIMIT 1').get() !== undefined;
      this.s.setMeta.run(RECODE_KEY, any ? '0,0,0' : 'done');
    }
  }

  get generations(): GenState {
    return { ...this.gens };
  }

  /** The series of (device, name), created on first use. Units follow the newest point. */
  seriesId(device: number, name: string, unit: string | undefined): number {
    let byName = this.seriesIds.get(device);
    if (byName === undefined) {
      byName = new Map();
      this.seriesIds.set(device, byName);
    }
    let id = byName.get(name);
    if (id === undefined) {
      id = this.s.findSeries.get(device, name) as number | undefined;
      if (id === undefined) {
        let metric = this.s.findMetric.get(name) as number | undefined;
        if (metric === undefined) metric = Number(this.s.insertMetric.run(name).lastInsertRowid);
        id = Number(this.s.insertSeries.run(device, metric, unit ?? null).lastInsertRowid);
      } else {
        this.seriesUnits.set(id, (this.db.prepare('SELECT unit FROM series WHERE id = ?').pluck().get(id) as string | null) ?? undefined);
      }
      byName.set(name, id);
      if (!this.seriesUnits.has(id)) this.seriesUnits.set(id, unit);
    }
    if (unit !== undefined && this.seriesUnits.get(id) !== unit) {
      this.s.setUnit.run(unit, id);
      this.seriesUnits.set(id, unit);
    }
    return id;
  }

  /** Queues one TELEMETRY frame for the log; flushAppends() writes them, inside the ingest transaction. */
  appendFrame(device: number, received: number, frame: Uint8Array): void {
    this.pending.push(device, received, frame);
  }

  /** Writes queued frames to the current generation's log table. Returns the frames written. */
  flushAppends(): number {
    const p = this.pending;
    const rows = p.length / 3;
    const k = this.gens.current % 2;
    const many = this.insertMany[k] as Statement;
    const one = this.insertOne[k] as Statement;
    const params = this.params;
    let i = 0;
    for (; i + INSERT_ROWS * 3 <= p.length; i += INSERT_ROWS * 3) {
      for (let j = 0; j < INSERT_ROWS * 3; j++) params[j] = p[i + j] as number;
      many.run(params);
    }
    for (; i < p.length; i += 3) one.run(p[i], p[i + 1], p[i + 2]);
    p.length = 0;
    this.currentRows += rows;
    return rows;
  }

  /**
   * After an ingest transaction failed (disk full, say): forget what it wrote, so
   * nothing cached points at a row that was rolled back.
   */
  discardUncommitted(): void {
    this.pending.length = 0;
    this.seriesIds.clear();
    this.seriesUnits.clear();
    this.currentRows = this.db
      .prepare(`SELECT count(*) FROM ${logTable(this.gens.current)}`)
      .pluck()
      .get() as number;
  }

  /** Forgets a deleted device's series, including points a running compaction holds. */
  forgetDevice(device: number, series: readonly number[]): void {
    this.seriesIds.delete(device);
    for (const id of series) {
      this.seriesLastTs.delete(id);
      this.rollupGens.delete(id);
      this.seriesUnits.delete(id);
      this.small.delete(id);
      this.compaction?.bySeries.delete(id);
    }
  }

  get compacting(): boolean {
    return this.compaction !== undefined;
  }

  private insertBlock(series: number, level: number, gen: number, b: PackedBlock): number {
    const id = this.nextBlockId++;
    this.s.insertBlock.run(series, b.t0, id, b.t1, level, gen, b.n, b.nnum, b.sum, b.min, b.max, b.data);
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

  /**
   * Seals the current generation, if it has rows and no compaction is running:
   * from now on ingest appends to the other log table.
   */
  seal(): boolean {
    if (this.compaction !== undefined || this.currentRows === 0) return false;
    const gen = this.gens.current;
    // Written before memory changes: if the write fails, nothing has moved.
    this.s.setMeta.run('telemetry.gen', String(gen + 1));
    this.gens.current = gen + 1;
    this.currentRows = this.db
      .prepare(`SELECT count(*) FROM ${logTable(this.gens.current)}`)
      .pluck()
      .get() as number;
    this.compaction = { phase: 'reading', gen, afterRowid: 0, bySeries: new Map() };
    return true;
  }

  /** Resumes a compaction left by a crash (its generation is sealed but not compacted). */
  resumeIfNeeded(): void {
    if (this.compaction === undefined && this.gens.current > this.gens.compacted + 1) {
      this.compaction = { phase: 'reading', gen: this.gens.compacted + 1, afterRowid: 0, bySeries: new Map() };
    }
  }

  /** One bounded step of the running compaction (a read or a write transaction). */
  compactStep(now = Date.now()): CompactionProgress {
    const c = this.compaction;
    const quarantined: Quarantined[] = [];
    if (c === undefined) return { rows: 0, blocks: 0, quarantined };
    if (c.phase === 'reading') {
      let n = 0;
      let last = c.afterRowid;
      // Points read, as parallel (series, time, value) arrays, added to the compaction
      // once the transaction commits; a frame's points, likewise, until all have a
      // series. Flat arrays reused from step to step: two tuples a point were garbage
      // for the collector of the thread that acknowledges frames.
      const held = this.held;
      const frame = this.framePending;
      held.clear();
      // One transaction: the first frames of new metrics create their series rows, all in one commit.
      this.db.transaction(() => {
        // all(), not iterate(): new series are inserted while the rows are handled.
        const rows = (this.readLog[c.gen % 2] as Statement).all(c.afterRowid, READ_ROWS) as [number, number, number, Uint8Array][];
        for (const [rowid, device, received, bytes] of rows) {
          last = rowid;
          n++;
          // A frame's points join the generation only once all of them have a series.
          frame.clear();
          let reason = framePoints(bytes, received, frame.add);
          if (reason === undefined) {
            const mark = held.length;
            try {
              for (let i = 0; i < frame.length; i++) {
                held.push(
                  this.seriesId(device, frame.names[i] as string, frame.units[i]),
                  frame.ts[i] as number,
                  frame.values[i] as PointValue,
                );
              }
            } catch (err) {
              if (isEnvironmentFault(err)) throw err;
              reason = faultReason(err);
              held.truncate(mark);
            }
          }
          if (reason !== undefined && this.quarantine.frame(c.gen, rowid, device, received, bytes, reason, now)) {
            quarantined.push({ device, kind: 'frame', points: frame.length, reason });
          }
        }
      })();
      // The transaction committed: what it read is now the compaction's.
      let p: Points | undefined;
      let pSeries = -1;
      for (let i = 0; i < held.length; i++) {
        const series = held.series[i] as number;
        if (series !== pSeries) {
          p = c.bySeries.get(series);
          if (p === undefined) {
            p = { ts: [], values: [] };
            c.bySeries.set(series, p);
          }
          pSeries = series;
        }
        (p as Points).ts.push(held.ts[i] as number);
        (p as Points).values.push(held.values[i] as PointValue);
      }
      held.clear();
      if (n === READ_ROWS) {
        c.afterRowid = last;
        return { rows: 0, blocks: 0, quarantined };
      }
      const total = [...c.bySeries.values()].reduce((a, p) => a + p.ts.length, 0);
      this.compaction = {
        phase: 'writing',
        gen: c.gen,
        series: [...c.bySeries.keys()],
        bySeries: c.bySeries,
        next: 0,
        rows: total,
        written: [],
      };
      return { rows: 0, blocks: 0, quarantined };
    }
    let end = c.next;
    for (let points = 0; end < c.series.length && end - c.next < WRITE_SERIES && points < WRITE_POINTS; end++) {
      points += c.bySeries.get(c.series[end] as number)?.ts.length ?? 0;
    }
    // What this step changes in memory is applied only once its transaction commits.
    const written: [number, number, number, number][] = [];
    const lasts: [number, number][] = [];
    const rolled: number[] = [];
    const writeSeries = this.db.transaction((series: number, p: Points) => {
      const mine: [number, number, number, number][] = [];
      for (const [start, stop] of blockRanges(p.ts)) {
        for (const b of packBlocks(p.ts, p.values, start, stop)) mine.push([series, b.t0, this.insertBlock(series, 0, c.gen, b), b.n]);
      }
      // Into the rollups once per generation: a compaction redone after a crash finds them there.
      const rollup = this.rollupGen(series) < c.gen;
      if (rollup) this.addRollups(series, rollupsOf(p));
      const lastTs = p.ts[p.ts.length - 1] as number;
      const newer = lastTs >= (this.seriesLastTs.get(series) ?? Number.NEGATIVE_INFINITY);
      if (newer) {
        const [v, x] = toColumns(p.values[p.values.length - 1] as PointValue);
        // Both changes of the series row in one statement, the usual case (one fewer a series and generation).
        if (rollup) this.s.setLastAndRollupGen.run(c.gen, lastTs, v, lastTs, x, lastTs, lastTs, series);
        else this.s.setLast.run(lastTs, v, x, series, lastTs);
      } else if (rollup) {
        this.s.setRollupGen.run(c.gen, series);
      }
      written.push(...mine);
      if (newer) lasts.push([series, lastTs]);
      if (rollup) rolled.push(series);
    });
    this.db.transaction(() => {
      for (let i = c.next; i < end; i++) {
        const series = c.series[i] as number;
        const held = c.bySeries.get(series);
        if (held === undefined) continue; // the device was deleted meanwhile
        const p = sortPoints(held);
        // Each series in its own savepoint: one that cannot be written is set aside
        // (quarantined) and the others go on; retrying it would fail the same way.
        try {
          writeSeries(series, p);
        } catch (err) {
          if (isEnvironmentFault(err)) throw err;
          const device = this.deviceOf(series);
          const reason = faultReason(err);
          if (this.quarantine.series(c.gen, series, device, p, reason, now))
            quarantined.push({ device, kind: 'series', points: p.ts.length, reason });
        }
      }
      if (end === c.series.length) {
        // All of the generation is in blocks: drop its rows (a truncate, cheap) and say so, atomically.
        this.db.prepare(`DELETE FROM ${logTable(c.gen)}`).run();
        this.s.setMeta.run('telemetry.compacted', String(c.gen));
      }
    })();
    c.next = end;
    c.written.push(...written);
    for (const [series, ts] of lasts) this.seriesLastTs.set(series, ts);
    for (const series of rolled) this.rollupGens.set(series, c.gen);
    const blocks = written.length;
    if (end < c.series.length) return { rows: 0, blocks, quarantined };
    this.gens.compacted = c.gen;
    this.compaction = undefined;
    for (const [series, t0, id, n] of c.written) this.noteSmall(series, t0, id, n, now);
    return { compacted: c.gen, rows: c.rows, blocks, quarantined };
  }

  /** Adds buckets to a series' stored rollups, up to ROLLUP_ROWS a statement (a generation brings two or three). */
  private addRollups(series: number, rollups: readonly Rollup[]): void {
    for (let i = 0; i < rollups.length; i += ROLLUP_ROWS) {
      const rows = Math.min(ROLLUP_ROWS, rollups.length - i);
      const params = this.rollupParams[rows] as unknown[];
      for (let j = 0; j < rows; j++) {
        const r = rollups[i + j] as Rollup;
        const [v, x] = toColumns(r.last);
        const o = j * 11;
        params[o] = series;
        params[o + 1] = r.width;
        params[o + 2] = r.t;
        params[o + 3] = r.n;
        params[o + 4] = r.nnum;
        params[o + 5] = r.sum;
        params[o + 6] = r.min;
        params[o + 7] = r.max;
        params[o + 8] = r.lastT;
        params[o + 9] = v;
        params[o + 10] = x;
      }
      (this.addRollup[rows] as Statement).run(params);
    }
  }

  /** The newest generation already in a series' rollups (rollups.ts). */
  private rollupGen(series: number): number {
    let gen = this.rollupGens.get(series);
    if (gen === undefined) {
      gen = (this.s.rollupGen.get(series) as number | undefined) ?? 0;
      this.rollupGens.set(series, gen);
    }
    return gen;
  }

  /** The device a series belongs to (for the quarantine's record). */
  private deviceOf(series: number): number {
    return (this.db.prepare('SELECT device FROM series WHERE id = ?').pluck().get(series) as number | undefined) ?? 0;
  }

  /** Seals and compacts everything now, synchronously (tests, benchmarks). */
  compactAll(onQuarantine: (q: Quarantined[]) => void = () => {}): number[] {
    const done: number[] = [];
    this.resumeIfNeeded();
    for (;;) {
      if (this.compaction === undefined && !this.seal()) return done;
      for (;;) {
        const p = this.compactStep();
        if (p.quarantined.length > 0) onQuarantine(p.quarantined);
        if (p.compacted !== undefined) {
          done.push(p.compacted);
          break;
        }
      }
    }
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
  merge(now = Date.now(), onSkip: (series: number, device: number, reason: string) => void = () => {}): number {
    const candidates = this.mergeCandidates(now);
    if (candidates.length === 0) return 0;
    const mergeSeries = this.db.transaction((series: number, s: SmallBlocks): number => {
      const points: Points = { ts: [], values: [] };
      for (const [t0, id] of s.keys) {
        const data = this.s.getBlock.get(series, t0, id) as Uint8Array | undefined;
        if (data === undefined) continue;
        unpackBlock(data, points);
        this.s.deleteBlock.run(series, t0, id);
      }
      // The series' newest merged block, while it is not full and the new points go on
      // after it within its hour, is rewritten with them: a slow series (a door sensor
      // reports once a minute) would otherwise keep a block per merge, 10 points with a
      // row's and a header's overhead each. Each block is rewritten a few times in its
      // hour at most (until it holds the hour, BLOCK_MAX_POINTS or about BLOCK_MAX_BYTES).
      const tail = this.s.newestBlock.get(series) as [number, number, number, number, number, Uint8Array] | undefined;
      if (tail !== undefined && points.ts.length > 0) {
        const [t0, id, t1, n, level, data] = tail;
        let first = Number.POSITIVE_INFINITY;
        for (const t of points.ts) if (t < first) first = t;
        if (level === 1 && n < BLOCK_MAX_POINTS && data.length < BLOCK_MAX_BYTES * 0.9 && first >= t1 && first - t0 < BLOCK_MAX_SPAN_MS) {
          unpackBlock(data, points);
          this.s.deleteBlock.run(series, t0, id);
        }
      }
      const p = sortPoints(points);
      // Merged blocks hold only compacted generations' points: tag them with the newest.
      for (const [start, end] of blockRanges(p.ts)) {
        for (const b of packBlocks(p.ts, p.values, start, end)) this.insertBlock(series, 1, this.gens.compacted, b);
      }
      return p.ts.length;
    });
    const done: number[] = [];
    const skipped: [number, string][] = [];
    const merged = this.db.transaction((): number => {
      let merged = 0;
      for (const series of candidates) {
        const s = this.small.get(series) as SmallBlocks;
        if (merged > 0 && merged + s.points > MERGE_POINTS) break;
        // A series whose blocks cannot be merged (a corrupt blob) keeps them as they
        // are and is not tried again, so it cannot hold up every other series.
        try {
          merged += mergeSeries(series, s);
          done.push(series);
        } catch (err) {
          if (isEnvironmentFault(err)) throw err;
          skipped.push([series, faultReason(err)]);
        }
      }
      return merged;
    })();
    for (const series of done) this.small.delete(series);
    for (const [series, reason] of skipped) {
      this.small.delete(series);
      onSkip(series, this.deviceOf(series), reason);
    }
    return merged;
  }

  /**
   * One bounded step of the pass that rewrites blocks of the first (CBOR) format in
   * the current one, in key order, resuming after a restart where it stopped.
   * Returns the blocks rewritten, or undefined once no old block is left.
   */
  recode(): { blocks: number; points: number; skipped: number } | undefined {
    const at = (this.db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get(RECODE_KEY) as string | undefined) ?? 'done';
    if (at === 'done') return undefined;
    const [series, t0, id] = at.split(',').map(Number) as [number, number, number];
    let blocks = 0;
    let points = 0;
    let skipped = 0;
    /** Small (level-0) blocks replaced: (series, old t0, old id, new t0, new id), applied once committed. */
    const replaced: [number, number, number, number, number][] = [];
    this.db.transaction(() => {
      const rows = this.s.recodeScan.all(series, t0, id, RECODE_ROWS) as [number, number, number, number, number, Uint8Array][];
      let last: [number, number, number] | undefined;
      for (const [s, t, i, level, gen, data] of rows) {
        if (points >= RECODE_POINTS) break;
        last = [s, t, i];
        if (!isLegacyBlock(data)) continue;
        let p: Points;
        try {
          p = unpackBlock(data);
        } catch (err) {
          // A corrupt old block stays as it is (reading it fails as it did before); the pass goes on.
          if (isEnvironmentFault(err)) throw err;
          skipped++;
          continue;
        }
        // Replaced by one or more blocks of the same points, level and generation (the
        // pass may meet them again further on: they are of the current format, so it
        // passes over them). A small block's replacements stay merge candidates.
        this.s.deleteBlock.run(s, t, i);
        for (const b of packBlocks(p.ts, p.values, 0, p.ts.length)) {
          const id = this.insertBlock(s, level, gen, b);
          if (level === 0) replaced.push([s, t, i, b.t0, id]);
        }
        blocks++;
        points += p.ts.length;
      }
      this.s.setMeta.run(RECODE_KEY, last === undefined ? 'done' : last.join(','));
    })();
    for (const [s, t, i, t0, id] of replaced) {
      const small = this.small.get(s);
      if (small === undefined) continue;
      small.keys = small.keys.filter(([kt, ki]) => kt !== t || ki !== i);
      small.keys.push([t0, id]);
    }
    return { blocks, points, skipped };
  }

  /**
   * Deletes blocks that end before `cutoff`, and rollups that start before
   * `rollupCutoff` (0: none), for up to `seriesBudget` series; returns blocks deleted.
   */
  retain(
    cutoff: number,
    fromSeries: number,
    seriesBudget: number,
    rollupCutoff = 0,
  ): { deleted: number; rollups: number; nextSeries: number | undefined } {
    const ids = this.db
      .prepare('SELECT id FROM series WHERE id >= ? ORDER BY id LIMIT ?')
      .pluck()
      .all(fromSeries, seriesBudget + 1) as number[];
    const del = this.db.prepare('DELETE FROM telemetry_blocks WHERE series = ? AND t0 < ? AND t1 < ?');
    const delRollups = this.db.prepare('DELETE FROM telemetry_rollups WHERE series = ? AND width = ? AND t < ?');
    let deleted = 0;
    let rollups = 0;
    this.db.transaction(() => {
      for (const id of ids.slice(0, seriesBudget)) {
        if (cutoff > 0) deleted += del.run(id, cutoff, cutoff).changes;
        if (rollupCutoff > 0) for (const w of ROLLUP_WIDTHS) rollups += delRollups.run(id, w, rollupCutoff).changes;
      }
    })();
    return { deleted, rollups, nextSeries: ids[seriesBudget] };
  }
}
