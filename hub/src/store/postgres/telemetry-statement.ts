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
// Same guarantees as ingest.ts. The statement locks the batch's marks (FOR UPDATE,
// in device order), inserts only the points of frames above their device's mark,
// and raises the marks, all in one implicit transaction: it commits before
// PostgreSQL answers ReadyForQuery, which is when node-postgres resolves the query,
// so the caller still reports the batch only once it is durable. Which frames were
// duplicates or dropped (device deleted: no mark row) is worked out here from the
// marks the statement returns, by the same rule the server applied.

import { MessageType, type ResolvedRecord } from '@halyard/firmware-protocol';
import type pg from 'pg';
import { recordPoints } from '../../telemetry/points.js';
import type { PointValue } from '../telemetry/blocks.js';
import { framePoints } from '../telemetry/log-compactor.js';
import type { PgFrame, PgIngestResult } from './ingest.js';
import { INGEST_TIMEOUT_MS, type Pool } from './pool.js';
import type { SeriesCache } from './series-cache.js';

/**
 * The statement, for points in `columns` (series, ts, then value columns; the rest
 * stay null). Two variants: numbers only, the common case, which spares the client
 * three columns of NULLs to write and the server three arrays to parse, and all.
 */
function statement(values: string): string {
  const cols = values.split(', ');
  const types: Record<string, string> = { v: 'float8', s: 'json', b: 'boolean', d: 'bytea' };
  return `WITH f AS MATERIALIZED (
  SELECT * FROM unnest($1::bigint[], $2::bigint[]) WITH ORDINALITY AS f(device, seq, i)
), m AS MATERIALIZED (
  SELECT device, seq FROM device_seq WHERE device = ANY($3::bigint[]) ORDER BY device FOR UPDATE
), p AS (
  INSERT INTO telemetry (series, ts, ${values})
  SELECT u.series, u.ts, ${cols.map((c) => `u.${c}`).join(', ')}
  FROM unnest($4::bigint[], $5::bigint[], $6::bigint[], ${cols.map((c, i) => `$${7 + i}::${types[c]}[]`).join(', ')})
    AS u(fi, series, ts, ${values})
  JOIN f ON f.i = u.fi JOIN m ON m.device = f.device
  WHERE f.seq > m.seq
), up AS (
  UPDATE device_seq SET seq = n.seq
  FROM (SELECT device, max(seq) AS seq FROM f GROUP BY device) n JOIN m USING (device)
  WHERE device_seq.device = n.device AND n.seq > m.seq
)
SELECT device, seq FROM m`;
}

/** Prepared once per connection (pg names them), so the server parses and plans them once. */
const NUMBERS = { name: 'halyard-telemetry-numbers', text: statement('v') };
const ALL = { name: 'halyard-telemetry-all', text: statement('v, s, b, d') };

/** Element types of the binary arrays below (pg_type oids). */
const INT8_OID = 20;
const FLOAT8_OID = 701;
/** One element: its length (int32) and 8 bytes. */
const ELEMENT_BYTES = 12;
const TWO_32 = 4_294_967_296;

/**
 * A one-dimensional bigint[] or float8[] parameter in PostgreSQL's binary array
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
    private readonly oid: typeof INT8_OID | typeof FLOAT8_OID,
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
 * The points as parameters, written while the frames are decoded: the number
 * columns in binary (BinaryArray), the rare other values as array literals.
 */
class PointArrays {
  readonly fi: BinaryArray;
  readonly series: BinaryArray;
  readonly ts: BinaryArray;
  readonly v: BinaryArray;
  count = 0;
  /** Points that are not numbers, by index (rare: their columns are written only if there are any). */
  private readonly others = new Map<number, Exclude<PointValue, number>>();

  constructor(capacity: number) {
    this.fi = new BinaryArray(INT8_OID, capacity);
    this.series = new BinaryArray(INT8_OID, capacity);
    this.ts = new BinaryArray(INT8_OID, capacity);
    this.v = new BinaryArray(FLOAT8_OID, capacity);
  }

  push(frame: number, series: number, ts: number, value: PointValue): void {
    this.fi.int8(frame);
    this.series.int8(series);
    this.ts.int8(ts);
    if (typeof value === 'number') this.v.float8(value);
    else {
      this.v.null();
      this.others.set(this.count, value);
    }
    this.count++;
  }

  /** The statement and its point parameters (from $4). */
  query(): { name: string; text: string; params: (Buffer | string)[] } {
    const base = [this.fi.finish(), this.series.finish(), this.ts.finish(), this.v.finish()];
    if (this.others.size === 0) return { ...NUMBERS, params: base };
    const s: string[] = new Array(this.count).fill('NULL');
    const b: string[] = new Array(this.count).fill('NULL');
    const d: string[] = new Array(this.count).fill('NULL');
    for (const [i, value] of this.others) {
      if (typeof value === 'string') s[i] = quoted(JSON.stringify(value));
      else if (typeof value === 'boolean') b[i] = value ? 't' : 'f';
      else d[i] = quoted(`\\x${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')}`);
    }
    return { ...ALL, params: [...base, `{${s.join(',')}}`, `{${b.join(',')}}`, `{${d.join(',')}}`] };
  }
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
  const problems: boolean[] = [];
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
  // Room for ten points a frame at first (the arrays grow if a batch has more).
  const points = new PointArrays(kept.length * 10);
  let unknown = false;
  const devices = new BinaryArray(INT8_OID, kept.length);
  const seqs = new BinaryArray(INT8_OID, kept.length);
  for (let i = 0; i < kept.length && !unknown; i++) {
    const f = kept[i] as PgFrame;
    devices.int8(f.device);
    seqs.int8(f.seq);
    const point = (name: string, unit: string | undefined, ts: number, value: PointValue) => {
      const known = cache.get(f.device, name);
      if (known === undefined || (unit !== undefined && known.unit !== unit)) unknown = true;
      else points.push(i + 1, known.id, ts, value);
    };
    const records = keptRecords[i];
    if (records !== undefined) {
      for (const rec of records) recordPoints(rec, (name, value) => point(name, rec.unit, rec.time, value));
      problems.push(false);
    } else problems.push(framePoints(f.bytes, f.now, point) !== undefined);
  }
  // A new series or a changed unit: the general way creates or updates it first.
  if (unknown) return undefined;

  const list = [...newest.keys()].sort((a, b) => a - b);
  const q = points.query();
  const rows = (
    await pool.query<{ device: number; seq: number }>({
      name: q.name,
      text: q.text,
      values: [devices.finish(), seqs.finish(), list, ...q.params],
      query_timeout: INGEST_TIMEOUT_MS,
    } as pg.QueryConfig)
  ).rows;

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
  for (const r of rows) marks.set(r.device, r.seq);
  const start = new Map(marks);
  kept.forEach((f, i) => {
    const mark = start.get(f.device);
    if (mark === undefined) result.dropped++;
    else if (f.seq <= mark) result.duplicates++;
    else {
      if (f.seq > (marks.get(f.device) as number)) marks.set(f.device, f.seq);
      if (problems[i]) result.skipped++;
      else result.frames++;
    }
  });
  result.seqs = [...marks];
  return result;
}
