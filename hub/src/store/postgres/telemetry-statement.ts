// The common case of ingest in one statement: a batch of TELEMETRY frames only, from
// devices that have their device_seq row, whose series are all known. One round
// trip instead of the transaction's six (BEGIN, lock the marks, COPY's two, raise
// the marks, COMMIT): on a busy hub every round trip waits a turn of an event loop
// that is also reading a thousand device sockets, so round trips, not the server,
// set the pace (README.md, Benchmarks). Anything else goes the general way
// (ingest.ts), which this returns `undefined` for.
//
// Measured per batch (10-record frames from 1,000 devices, numbers; PostgreSQL 15,
// fsync on, 2 cores at load 8 from other work, November 2026), the transaction of
// ingest.ts against this statement:
//
//   frames a batch   wall ms            hub CPU ms          server CPU ms
//   200              20.8-26.4 / 15.2-18.0   5.3-14.4 / 3.3-6.0   5.8-6.7 / 5.0-5.8
//   500              66-110 / 54-72          15.5-28.8 / 11.4-12.0  10-13 / 15
//   2,000            235-249 / 252-289       50-66 / 45-47         36-47 / 58-64
//
// (transaction / statement; the 200 and 2,000 rows with the statement's first form,
// all seven columns and unnamed, the 500 row with the numbers-only named one.) The
// statement costs the server more per point (arrays to parse, a join) and the hub's
// one thread less; the hub's thread is what a busy hub runs short of. Since then the
// number columns go as binary arrays (BinaryArray below), which cut the hub's CPU
// per point to 0.74x at full rate with the server's unchanged (README.md, Benchmarks).
//
// Points go as packs where they can (schema version 13): a series' points of the
// batch, three or more within PACK_SPAN_MS, are one row (encodeSections in
// telemetry-insert.ts) instead of a row each, and a device's other points one row
// of telemetry_recent, moved into packs within a second or so (telemetry-recent.ts).
// Most of the server's time per point went to the rows and their index entries (the
// (series, ts) index alone was a third of it): ten 10-record frames of a device
// make one row per series, not a hundred, and a single one one row, not ten
// (README.md, Benchmarks: figures before and after).
//
// Same guarantees as ingest.ts. The statement locks the batch's marks (FOR UPDATE,
// in device order), inserts the points of the devices whose frames are all above
// their mark, and raises those marks, all in one implicit transaction: it commits
// before PostgreSQL answers ReadyForQuery, which is when node-postgres resolves the
// query, so the caller still reports the batch only once it is durable. Which frames
// were duplicates or dropped (device deleted: no mark row) is worked out here from
// the marks the statement returns, by the same rule the server applied; a device
// with frames on both sides of its mark (a resend after a reconnect) goes again
// with only the frames above it.

import { MessageType, type ResolvedRecord } from '@halyard/firmware-protocol';
import type pg from 'pg';
import { recordPoints } from '../../telemetry/points.js';
import { type PointValue, sortPoints } from '../telemetry/blocks.js';
import { framePoints } from '../telemetry/log-compactor.js';
import type { PgFrame, PgIngestResult } from './ingest.js';
import { INGEST_TIMEOUT_MS, type Pool } from './pool.js';
import type { SeriesCache } from './series-cache.js';
import { encodeSections, PACK_SPAN_MS, packStretches, type Section } from './telemetry-insert.js';

/**
 * The statement, for single points in `values` (series, ts, then value columns; the
 * rest stay null) and packs. Two variants: numbers only, the common case, which
 * spares the client three columns of NULLs to write and the server three arrays to
 * parse, and all. A device's points are stored only if all its frames in the batch
 * are above its mark (lo > mark): its mark then rises to hi. A device with some
 * frames at or below the mark and some above stores nothing here and is sent again
 * without the duplicates (applyTelemetryStatement), since its packs may mix both.
 */
function statement(values: string): string {
  const cols = values.split(', ');
  const types: Record<string, string> = { v: 'float8', s: 'json', b: 'boolean', d: 'bytea' };
  const packs = 7 + cols.length;
  return `WITH f AS MATERIALIZED (
  SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS f(device, lo, hi)
), m AS MATERIALIZED (
  SELECT device, seq FROM device_seq WHERE device = ANY($1::bigint[]) ORDER BY device FOR UPDATE
), ok AS MATERIALIZED (
  SELECT f.device, f.hi FROM f JOIN m USING (device) WHERE f.lo > m.seq
), p AS (
  INSERT INTO telemetry (series, ts, ${values})
  SELECT u.series, u.ts, ${cols.map((c) => `u.${c}`).join(', ')}
  FROM unnest($4::bigint[], $5::bigint[], $6::bigint[], ${cols.map((c, i) => `$${7 + i}::${types[c]}[]`).join(', ')})
    AS u(device, series, ts, ${values})
  JOIN ok USING (device)
), k AS (
  INSERT INTO telemetry (series, ts, p)
  SELECT u.series, u.ts, u.p
  FROM unnest($${packs}::bigint[], $${packs + 1}::bigint[], $${packs + 2}::bigint[], $${packs + 3}::bytea[]) AS u(device, series, ts, p)
  JOIN ok USING (device)
), r AS (
  INSERT INTO telemetry_recent (device, ts, p)
  SELECT u.device, u.ts, u.p
  FROM unnest($${packs + 4}::bigint[], $${packs + 5}::bigint[], $${packs + 6}::bytea[]) AS u(device, ts, p)
  JOIN ok USING (device)
), up AS (
  UPDATE device_seq SET seq = ok.hi FROM ok WHERE device_seq.device = ok.device
)
SELECT device, seq FROM m`;
}

/** Prepared once per connection (pg names them), so the server parses and plans them once. */
const NUMBERS = { name: 'halyard-telemetry-numbers', text: statement('v') };
const ALL = { name: 'halyard-telemetry-all', text: statement('v, s, b, d') };

/** Element types of the binary arrays below (pg_type oids). */
export const INT8_OID = 20;
const FLOAT8_OID = 701;
export const BYTEA_OID = 17;
/** One element: its length (int32) and 8 bytes. */
const ELEMENT_BYTES = 12;
const TWO_32 = 4_294_967_296;

/**
 * A one-dimensional bigint[], float8[] or bytea[] parameter in PostgreSQL's binary array
 * format (what array_recv reads: ndim, has-nulls, element type, length, lower
 * bound, then each element as its byte length and big-endian value), written into
 * one growing Buffer. node-postgres sends a Buffer parameter as binary, so the
 * server copies the values instead of parsing decimal text, and the hub writes 12
 * bytes a value instead of building a string for it: text arrays of a 2,000-frame
 * batch were a third of the hub's thread in garbage collection (README.md,
 * PostgreSQL: figures before and after).
 */
export class BinaryArray {
  private buf: Buffer;
  private at = 20;
  private nulls = false;
  count = 0;

  constructor(
    private readonly oid: typeof INT8_OID | typeof FLOAT8_OID | typeof BYTEA_OID,
    capacity = 64,
  ) {
    this.buf = Buffer.allocUnsafe(20 + capacity * ELEMENT_BYTES);
  }

  private room(bytes: number): void {
    if (this.at + bytes <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + bytes));
    this.buf.copy(bigger, 0, 0, this.at);
    this.buf = bigger;
  }

  /** A safe integer (|n| < 2^53) as int8: high and low 32 bits, no BigInt to allocate. */
  int8(n: number): void {
    this.room(ELEMENT_BYTES);
    const hi = Math.floor(n / TWO_32);
    this.buf.writeInt32BE(8, this.at);
    this.buf.writeInt32BE(hi, this.at + 4);
    this.buf.writeUInt32BE(n - hi * TWO_32, this.at + 8);
    this.at += ELEMENT_BYTES;
    this.count++;
  }

  /** A float8, exactly (NaN, the infinities and -0 included). */
  float8(v: number): void {
    this.room(ELEMENT_BYTES);
    this.buf.writeInt32BE(8, this.at);
    this.buf.writeDoubleBE(v, this.at + 4);
    this.at += ELEMENT_BYTES;
    this.count++;
  }

  /** A bytea element: its length and its bytes. */
  bytes(b: Uint8Array): void {
    this.room(4 + b.length);
    this.buf.writeInt32BE(b.length, this.at);
    this.buf.set(b, this.at + 4);
    this.at += 4 + b.length;
    this.count++;
  }

  null(): void {
    this.room(4);
    this.buf.writeInt32BE(-1, this.at);
    this.at += 4;
    this.nulls = true;
    this.count++;
  }

  /** The parameter: header written in front of the elements (an empty array has no dimensions). */
  finish(): Buffer {
    if (this.count === 0) {
      const empty = Buffer.alloc(12);
      empty.writeInt32BE(this.oid, 8);
      return empty;
    }
    this.buf.writeInt32BE(1, 0);
    this.buf.writeInt32BE(this.nulls ? 1 : 0, 4);
    this.buf.writeInt32BE(this.oid, 8);
    this.buf.writeInt32BE(this.count, 12);
    this.buf.writeInt32BE(1, 16);
    return this.buf.subarray(0, this.at);
  }
}

/** A quoted array element: backslash and double quote escaped. */
function quoted(text: string): string {
  return `"${text.replace(/[\\"]/g, '\\$&')}"`;
}

/**
 * The batch's points as parameters: single points with their number columns in
 * binary (BinaryArray), their rare other values as array literals, and packs.
 */
class PointArrays {
  readonly device: BinaryArray;
  readonly series: BinaryArray;
  readonly ts: BinaryArray;
  readonly v: BinaryArray;
  readonly packDevice = new BinaryArray(INT8_OID);
  readonly packSeries = new BinaryArray(INT8_OID);
  readonly packTs = new BinaryArray(INT8_OID);
  readonly pack = new BinaryArray(BYTEA_OID, 16);
  readonly recentDevice = new BinaryArray(INT8_OID);
  readonly recentTs = new BinaryArray(INT8_OID);
  readonly recent = new BinaryArray(BYTEA_OID, 16);
  count = 0;
  /** Points that are not numbers, by index (rare: their columns are written only if there are any). */
  private readonly others = new Map<number, Exclude<PointValue, number>>();

  constructor(capacity: number) {
    this.device = new BinaryArray(INT8_OID, capacity);
    this.series = new BinaryArray(INT8_OID, capacity);
    this.ts = new BinaryArray(INT8_OID, capacity);
    this.v = new BinaryArray(FLOAT8_OID, capacity);
  }

  push(device: number, series: number, ts: number, value: PointValue): void {
    this.device.int8(device);
    this.series.int8(series);
    this.ts.int8(ts);
    if (typeof value === 'number') this.v.float8(value);
    else {
      this.v.null();
      this.others.set(this.count, value);
    }
    this.count++;
  }

  /** Points [start, end) of a series, sorted by time, as one pack (ts: the newest point's). */
  pushPack(device: number, series: number, ts: readonly number[], values: readonly PointValue[], start: number, end: number): void {
    this.packDevice.int8(device);
    this.packSeries.int8(series);
    this.packTs.int8(ts[end - 1] as number);
    this.pack.bytes(encodeSections([{ series, ts, values, start, end }]));
  }

  /**
   * A device's points not packed (`rest`: stretches of a series, each sorted): one
   * telemetry_recent row for those within PACK_SPAN_MS of the newest, if two or
   * more; single rows for the others.
   */
  pushRest(device: number, rest: readonly Stretch[]): void {
    let newest = Number.NEGATIVE_INFINITY;
    let n = 0;
    for (const x of rest) {
      newest = Math.max(newest, x.ts[x.end - 1] as number);
      n += x.end - x.start;
    }
    const sections: Section[] = [];
    let inRow = 0;
    for (const x of rest) {
      let from = x.start;
      if (n >= 2) while (from < x.end && (x.ts[from] as number) < newest - PACK_SPAN_MS) from++;
      else from = x.end;
      for (let j = x.start; j < from; j++) this.push(device, x.series, x.ts[j] as number, x.values[j] as PointValue);
      if (from === x.end) continue;
      sections.push({ ...x, start: from });
      inRow += x.end - from;
    }
    if (sections.length === 0) return;
    if (inRow === 1) {
      // One point (the newest, in the only section): a single row costs less than a section.
      const only = sections[0] as Section;
      this.push(device, only.series, newest, only.values[only.start] as PointValue);
      return;
    }
    this.recentDevice.int8(device);
    this.recentTs.int8(newest);
    this.recent.bytes(encodeSections(sections));
  }

  /** The statement and its point parameters (from $4). */
  query(): { name: string; text: string; params: (Buffer | string)[] } {
    const packs = [
      this.packDevice.finish(),
      this.packSeries.finish(),
      this.packTs.finish(),
      this.pack.finish(),
      this.recentDevice.finish(),
      this.recentTs.finish(),
      this.recent.finish(),
    ];
    const base = [this.device.finish(), this.series.finish(), this.ts.finish(), this.v.finish()];
    if (this.others.size === 0) return { ...NUMBERS, params: [...base, ...packs] };
    const s: string[] = new Array(this.count).fill('NULL');
    const b: string[] = new Array(this.count).fill('NULL');
    const d: string[] = new Array(this.count).fill('NULL');
    for (const [i, value] of this.others) {
      if (typeof value === 'string') s[i] = quoted(JSON.stringify(value));
      else if (typeof value === 'boolean') b[i] = value ? 't' : 'f';
      else d[i] = quoted(`\\x${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')}`);
    }
    return { ...ALL, params: [...base, `{${s.join(',')}}`, `{${b.join(',')}}`, `{${d.join(',')}}`, ...packs] };
  }
}

/** A series with this many points in a batch (within PACK_SPAN_MS) goes as a pack; fewer go with the device's rest. */
export const PACK_MIN_POINTS = 3;

/** The points of the batch's kept frames, flat: frame k's are [starts[k], starts[k + 1]). */
interface FramePoints {
  series: number[];
  ts: number[];
  values: PointValue[];
  starts: number[];
}

/** Points [start, end) of a series, sorted by time. */
type Stretch = Section;

/**
 * Writes the points of `frames` (indexes into the kept frames) into parameters:
 * each series' points sorted by time and cut where they span more than
 * PACK_SPAN_MS, each stretch of PACK_MIN_POINTS or more as a pack, the rest of a
 * device's points together in one telemetry_recent row (PointArrays.pushRest).
 */
function batchPoints(frames: readonly number[], kept: readonly PgFrame[], all: FramePoints): PointArrays {
  const bySeries = new Map<number, { device: number; ts: number[]; values: PointValue[] }>();
  for (const k of frames) {
    const device = (kept[k] as PgFrame).device;
    for (let j = all.starts[k] as number; j < (all.starts[k + 1] as number); j++) {
      const id = all.series[j] as number;
      let g = bySeries.get(id);
      if (g === undefined) {
        g = { device, ts: [], values: [] };
        bySeries.set(id, g);
      }
      g.ts.push(all.ts[j] as number);
      g.values.push(all.values[j] as PointValue);
    }
  }
  const out = new PointArrays(all.ts.length);
  const rest = new Map<number, Stretch[]>();
  for (const [id, g] of bySeries) {
    const { ts, values } = g.ts.length > 1 ? sortPoints(g) : g;
    for (const [start, end] of packStretches(ts)) {
      if (end - start >= PACK_MIN_POINTS) out.pushPack(g.device, id, ts, values, start, end);
      else {
        const list = rest.get(g.device);
        const stretch = { series: id, ts, values, start, end };
        if (list === undefined) rest.set(g.device, [stretch]);
        else list.push(stretch);
      }
    }
  }
  for (const [device, list] of rest) out.pushRest(device, list);
  return out;
}

/**
 * Stores `frames` in one statement when the batch qualifies (see above): resolves to
 * its result once committed, or to `undefined` (nothing sent) for the general way.
 * `marked` holds the devices known to have a device_seq row.
 */
export async function applyTelemetryStatement(
  pool: Pool,
  id: number,
  frames: readonly PgFrame[],
  cache: SeriesCache,
  marked: ReadonlySet<number>,
  /** Frame `i`'s records as the caller already decoded them, if it has: spares a second decode on the hub's one thread. */
  decoded?: (i: number) => readonly ResolvedRecord[] | undefined,
): Promise<PgIngestResult | undefined> {
  // Frames not above an earlier one of their device in this batch are duplicates
  // whatever the mark: they are left out here, as ingest.ts leaves them.
  const newest = new Map<number, number>();
  const kept: PgFrame[] = [];
  const keptRecords: (readonly ResolvedRecord[] | undefined)[] = [];
  let inBatchDuplicates = 0;
  for (let i = 0; i < frames.length; i++) {
    const f = frames[i] as PgFrame;
    if (f.type !== MessageType.Telemetry || !marked.has(f.device)) return undefined;
    const before = newest.get(f.device);
    if (before !== undefined && f.seq <= before) {
      inBatchDuplicates++;
      continue;
    }
    newest.set(f.device, f.seq);
    kept.push(f);
    keptRecords.push(decoded?.(i));
  }
  const all: FramePoints = { series: [], ts: [], values: [], starts: [0] };
  const problems: boolean[] = [];
  let unknown = false;
  for (let i = 0; i < kept.length && !unknown; i++) {
    const f = kept[i] as PgFrame;
    const point = (name: string, unit: string | undefined, ts: number, value: PointValue) => {
      const known = cache.get(f.device, name);
      if (known === undefined || (unit !== undefined && known.unit !== unit)) unknown = true;
      else {
        all.series.push(known.id);
        all.ts.push(ts);
        all.values.push(value);
      }
    };
    const records = keptRecords[i];
    if (records !== undefined) {
      for (const rec of records) recordPoints(rec, (name, value) => point(name, rec.unit, rec.time, value));
      problems.push(false);
    } else problems.push(framePoints(f.bytes, f.now, point) !== undefined);
    all.starts.push(all.ts.length);
  }
  // A new series or a changed unit: the general way creates or updates it first.
  if (unknown) return undefined;

  const result: PgIngestResult = {
    id,
    gen: 0,
    seqs: [],
    events: [],
    reported: [],
    frames: 0,
    skipped: 0,
    duplicates: inBatchDuplicates,
    dropped: 0,
    newSeries: [],
    updates: [],
  };
  const marks = new Map<number, number>();
  // Kept frames by device, in order (their seqs rise); a round sends the frames not
  // settled yet, and a device whose frames straddle its mark goes round again with
  // only those above it. Marks only rise, so this ends.
  const todo = new Map<number, number[]>();
  kept.forEach((f, k) => {
    const list = todo.get(f.device);
    if (list === undefined) todo.set(f.device, [k]);
    else list.push(k);
  });
  while (todo.size > 0) {
    const list = [...todo.keys()].sort((a, b) => a - b);
    const lo = new BinaryArray(INT8_OID, list.length);
    const hi = new BinaryArray(INT8_OID, list.length);
    for (const d of list) {
      const ks = todo.get(d) as number[];
      lo.int8((kept[ks[0] as number] as PgFrame).seq);
      hi.int8((kept[ks[ks.length - 1] as number] as PgFrame).seq);
    }
    const q = batchPoints([...todo.values()].flat(), kept, all).query();
    const rows = (
      await pool.query<{ device: number; seq: number }>({
        name: q.name,
        text: q.text,
        values: [list, lo.finish(), hi.finish(), ...q.params],
        query_timeout: INGEST_TIMEOUT_MS,
      } as pg.QueryConfig)
    ).rows;
    const start = new Map<number, number>();
    for (const r of rows) start.set(r.device, Number(r.seq));
    for (const d of list) {
      const ks = todo.get(d) as number[];
      todo.delete(d);
      const mark = start.get(d);
      if (mark === undefined) {
        result.dropped += ks.length;
        continue;
      }
      const first = (kept[ks[0] as number] as PgFrame).seq;
      const last = (kept[ks[ks.length - 1] as number] as PgFrame).seq;
      if (first > mark) {
        // Stored, and the mark raised to the last.
        marks.set(d, last);
        for (const k of ks) {
          if (problems[k]) result.skipped++;
          else result.frames++;
        }
        continue;
      }
      const above = ks.filter((k) => (kept[k] as PgFrame).seq > mark);
      result.duplicates += ks.length - above.length;
      if (above.length > 0) todo.set(d, above);
      else if (!marks.has(d)) marks.set(d, mark);
    }
  }
  result.seqs = [...marks];
  return result;
}
