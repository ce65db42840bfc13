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
import type { PointValue } from '../telemetry/blocks.js';
import { framePoints } from '../telemetry/log-compactor.js';
import type { PgFrame, PgIngestResult } from './ingest.js';
import { INGEST_TIMEOUT_MS, type Pool } from './pool.js';
import type { SeriesCache } from './series-cache.js';
import { PACK_SPAN_MS, packContinues, pointBytes, SECTION_HEAD_BYTES, writePoint, writeSectionHead } from './telemetry-insert.js';

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

  /** Where the bytea element being written began (beginBytes), or -1. */
  private element = -1;

  /** Starts a bytea element written in sections (section, point), ended by endBytes: no Buffer of its own. */
  beginBytes(): void {
    this.room(4);
    this.element = this.at;
    this.at += 4;
  }

  /** A section's head in the element begun, for `count` points to follow. */
  section(series: number, count: number): void {
    this.room(SECTION_HEAD_BYTES);
    this.at = writeSectionHead(this.buf, this.at, series, count);
  }

  /** A point of the section being written. */
  point(ts: number, v: PointValue): void {
    this.room(typeof v === 'number' ? 17 : pointBytes(v));
    this.at = writePoint(this.buf, this.at, ts, v);
  }

  endBytes(): void {
    this.buf.writeInt32BE(this.at - this.element - 4, this.element);
    this.element = -1;
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

  /**
   * A device's points of the batch: `order` holds their indexes into `all`, grouped
   * by series, each series' sorted by time (groupBySeries). Each series' points are
   * cut where they span more than PACK_SPAN_MS or reach PACK_MAX_POINTS; a stretch
   * of PACK_MIN_POINTS or more is a pack, the others are the device's rest
   * (pushRest). Written straight into the parameters: a busy hub's batch holds a few
   * thousand points, and an object or array per series or stretch took a fifth of
   * its one thread, garbage collection included (README.md, Benchmarks).
   */
  pushDevice(device: number, all: FramePoints, order: readonly number[], rest: number[]): void {
    const { series, ts, values } = all;
    rest.length = 0;
    let newest = Number.NEGATIVE_INFINITY;
    let restPoints = 0;
    let start = 0;
    for (let end = 1; end <= order.length; end++) {
      const first = order[start] as number;
      if (end < order.length) {
        const j = order[end] as number;
        if (series[j] === series[first] && packContinues(ts[first] as number, ts[j] as number, end - start)) continue;
      }
      const last = order[end - 1] as number;
      if (end - start >= PACK_MIN_POINTS) {
        this.packDevice.int8(device);
        this.packSeries.int8(series[first] as number);
        this.packTs.int8(ts[last] as number);
        this.pack.beginBytes();
        this.pack.section(series[first] as number, end - start);
        for (let i = start; i < end; i++) this.pack.point(ts[order[i] as number] as number, values[order[i] as number] as PointValue);
        this.pack.endBytes();
      } else {
        rest.push(start, end);
        newest = Math.max(newest, ts[last] as number);
        restPoints += end - start;
      }
      start = end;
    }
    if (restPoints > 0) this.pushRest(device, all, order, rest, newest, restPoints);
  }

  /**
   * A device's points not packed (`rest`: pairs of start and end in `order`, each a
   * stretch of one series): one telemetry_recent row for those within PACK_SPAN_MS
   * of the newest, if two or more; single rows for the others.
   */
  private pushRest(device: number, all: FramePoints, order: readonly number[], rest: readonly number[], newest: number, n: number): void {
    const { series, ts, values } = all;
    const oldest = newest - PACK_SPAN_MS;
    let inRow = 0;
    let only = -1;
    for (let r = 0; r < rest.length; r += 2) {
      for (let i = rest[r] as number; i < (rest[r + 1] as number); i++) {
        const j = order[i] as number;
        if (n < 2 || (ts[j] as number) < oldest) this.push(device, series[j] as number, ts[j] as number, values[j] as PointValue);
        else {
          inRow++;
          only = j;
        }
      }
    }
    if (inRow === 0) return;
    if (inRow === 1) {
      // One point (the newest): a single row costs less than a section.
      this.push(device, series[only] as number, ts[only] as number, values[only] as PointValue);
      return;
    }
    this.recentDevice.int8(device);
    this.recentTs.int8(newest);
    this.recent.beginBytes();
    for (let r = 0; r < rest.length; r += 2) {
      let from = rest[r] as number;
      const end = rest[r + 1] as number;
      while (from < end && (ts[order[from] as number] as number) < oldest) from++;
      if (from === end) continue;
      this.recent.section(series[order[from] as number] as number, end - from);
      for (let i = from; i < end; i++) this.recent.point(ts[order[i] as number] as number, values[order[i] as number] as PointValue);
    }
    this.recent.endBytes();
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

/** Series a device's points are matched against by a look through a list; past that, a map. */
const LINEAR_SERIES = 16;
/**
 * Scratch of `groupBySeries`, reused from device to device and batch to batch: the
 * hub's thread builds one batch's parameters at a time.
 */
const scratch = { ids: [] as number[], counts: [] as number[], slots: [] as number[], bySeries: new Map<number, number>() };

/**
 * Puts a device's points (`points`, indexes into `all` in arrival order) into
 * `order` grouped by series, in the order series first appear, each series' points
 * sorted by time (stable: arrival breaks ties). A counting sort: the points of a
 * batch arrive by frame, each frame a few series, and each series' points are
 * nearly always in time order already.
 */
function groupBySeries(points: readonly number[], all: FramePoints, order: number[]): void {
  const { ids, counts, slots, bySeries } = scratch;
  ids.length = 0;
  counts.length = 0;
  slots.length = 0;
  bySeries.clear();
  for (const j of points) {
    const id = all.series[j] as number;
    let slot = -1;
    if (ids.length <= LINEAR_SERIES) {
      for (let i = 0; i < ids.length && slot < 0; i++) if (ids[i] === id) slot = i;
    } else slot = bySeries.get(id) ?? -1;
    if (slot < 0) {
      slot = ids.length;
      ids.push(id);
      counts.push(0);
      if (ids.length === LINEAR_SERIES + 1) for (const [i, x] of ids.entries()) bySeries.set(x, i);
      else if (ids.length > LINEAR_SERIES + 1) bySeries.set(id, slot);
    }
    slots.push(slot);
    counts[slot] = (counts[slot] as number) + 1;
  }
  // counts become each series' next place in `order`.
  let at = 0;
  for (let i = 0; i < counts.length; i++) {
    const n = counts[i] as number;
    counts[i] = at;
    at += n;
  }
  order.length = points.length;
  for (let p = 0; p < points.length; p++) {
    const slot = slots[p] as number;
    order[counts[slot] as number] = points[p] as number;
    counts[slot] = (counts[slot] as number) + 1;
  }
  // counts[i] is now the end of series i's points.
  const { ts } = all;
  let start = 0;
  for (let i = 0; i < counts.length; i++) {
    const end = counts[i] as number;
    let sorted = true;
    for (let k = start + 1; k < end && sorted; k++) sorted = (ts[order[k - 1] as number] as number) <= (ts[order[k] as number] as number);
    if (!sorted) {
      const part = order.slice(start, end).sort((a, b) => (ts[a] as number) - (ts[b] as number) || a - b);
      for (let k = start; k < end; k++) order[k] = part[k - start] as number;
    }
    start = end;
  }
}

/**
 * Writes the points of `devices` (each a device and its frames, indexes into the
 * kept frames) into parameters: per device, its points sorted by series and time,
 * packs where a series has PACK_MIN_POINTS or more within PACK_SPAN_MS, and the
 * rest in one telemetry_recent row (PointArrays.pushDevice).
 */
function batchPoints(devices: ReadonlyMap<number, readonly number[]>, all: FramePoints): PointArrays {
  const out = new PointArrays(all.ts.length);
  const points: number[] = [];
  const order: number[] = [];
  const rest: number[] = [];
  for (const [device, frames] of devices) {
    points.length = 0;
    for (const k of frames) for (let j = all.starts[k] as number; j < (all.starts[k + 1] as number); j++) points.push(j);
    if (points.length === 0) continue;
    groupBySeries(points, all, order);
    out.pushDevice(device, all, order, rest);
  }
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
  // Two callbacks for the whole batch, not one per frame or record: this is the hub's busiest loop.
  let device = 0;
  const point = (name: string, unit: string | undefined, ts: number, value: PointValue) => {
    const known = cache.get(device, name);
    if (known === undefined || (unit !== undefined && known.unit !== unit)) unknown = true;
    else {
      all.series.push(known.id);
      all.ts.push(ts);
      all.values.push(value);
    }
  };
  const recordPoint = (name: string, value: PointValue, rec: ResolvedRecord) => point(name, rec.unit, rec.time, value);
  for (let i = 0; i < kept.length && !unknown; i++) {
    const f = kept[i] as PgFrame;
    device = f.device;
    const records = keptRecords[i];
    if (records !== undefined) {
      for (const rec of records) recordPoints(rec, recordPoint);
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
    const devices = new BinaryArray(INT8_OID, list.length);
    const lo = new BinaryArray(INT8_OID, list.length);
    const hi = new BinaryArray(INT8_OID, list.length);
    for (const d of list) {
      const ks = todo.get(d) as number[];
      devices.int8(d);
      lo.int8((kept[ks[0] as number] as PgFrame).seq);
      hi.int8((kept[ks[ks.length - 1] as number] as PgFrame).seq);
    }
    const q = batchPoints(todo, all).query();
    const rows = (
      await pool.query<{ device: number; seq: number }>({
        name: q.name,
        text: q.text,
        values: [devices.finish(), lo.finish(), hi.finish(), ...q.params],
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
