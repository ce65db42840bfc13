// Writing telemetry points, one row each, inside an ingest transaction. Three ways
// were measured (insert-strategies.test.ts prints the figures): PostgreSQL 15, fsync
// on, one connection, 2 cores shared with other work, median ms per transaction
// (BEGIN, insert, COMMIT) over 18 rounds, November 2026. Six runs; the first three
// with the machine busy (load average 3-4), the last three quieter (load 2-3):
//
//   points per transaction   100        1,000       5,000
//   VALUES ($1, ...)         1.5-4.0    9.4-14.4    46-99     (6 parameters a row)
//   unnest($1::bigint[] ...) 0.9-4.0    2.9-5.0     11.1-20.2
//   COPY FROM STDIN          0.8-2.4    2.9-5.0     8.4-19.3  (pg-copy-streams, text)
//
// Multi-row VALUES loses by 3-5x (the server parses and binds 6 parameters per row)
// and is not used. unnest and COPY tie up to 1,000 points; at 5,000 COPY is 15-25%
// faster in the quieter runs. So ingest takes unnest, one plain parameterised
// statement, below COPY_FROM points and COPY from there on (busy hubs make big
// batches: up to 2,000 frames of several points each).

import { pipeline } from 'node:stream/promises';
import { from as copyFrom } from 'pg-copy-streams';
import type { Points, PointValue } from '../telemetry/blocks.js';
import type { Client } from './pool.js';

/** Points to insert, as parallel columns (one entry per point). */
export interface PointColumns {
  series: number[];
  ts: number[];
  v: (number | null)[];
  s: (string | null)[];
  b: (boolean | null)[];
  d: (Uint8Array | null)[];
}

export function emptyColumns(): PointColumns {
  return { series: [], ts: [], v: [], s: [], b: [], d: [] };
}

export function pushPoint(cols: PointColumns, series: number, ts: number, value: PointValue): void {
  cols.series.push(series);
  cols.ts.push(ts);
  cols.v.push(typeof value === 'number' ? value : null);
  cols.s.push(typeof value === 'string' ? value : null);
  cols.b.push(typeof value === 'boolean' ? value : null);
  cols.d.push(value instanceof Uint8Array ? value : null);
}

/** A point value from its row's columns (exactly one is not null). */
export function fromPointColumns(v: number | null, s: string | null, b: boolean | null, d: Uint8Array | null): PointValue {
  if (v !== null) return v;
  if (s !== null) return s;
  if (b !== null) return b;
  if (d !== null) return new Uint8Array(d);
  return Number.NaN;
}

/**
 * A pack (schema version 13) spans at most this: a read of [from, to] asks for rows
 * up to `to + PACK_SPAN_MS`, as a pack there may still hold points from before `to`.
 * A minute keeps that extra stretch short while a batch's points of one series (a
 * device's frames of the last moments) nearly always fit in one pack.
 */
export const PACK_SPAN_MS = 60_000;

/**
 * Points a pack holds at most: 100 numbers are about 1.7 KB, under the 2 KB past
 * which PostgreSQL compresses a row (TOAST), which would cost the server's CPU for
 * a row that lives two days at most.
 */
export const PACK_MAX_POINTS = 100;

/**
 * Whether a series' stretch that began at `firstTs` and holds `length` points (in
 * time order) takes the point at `nextTs` too: within PACK_SPAN_MS of its first
 * point and under PACK_MAX_POINTS. The one rule of where a pack ends, for ingest's
 * statement and for the move of recent rows alike.
 */
export function packContinues(firstTs: number, nextTs: number, length: number): boolean {
  return nextTs - firstTs <= PACK_SPAN_MS && length < PACK_MAX_POINTS;
}

/**
 * Where sorted times are cut into packs: stretches [start, end) of at most
 * PACK_MAX_POINTS points spanning at most PACK_SPAN_MS.
 */
export function packStretches(ts: readonly number[]): [number, number][] {
  const out: [number, number][] = [];
  let start = 0;
  for (let end = 1; end <= ts.length; end++) {
    if (end < ts.length && packContinues(ts[start] as number, ts[end] as number, end - start)) continue;
    out.push([start, end]);
    start = end;
  }
  return out;
}

/** A telemetry row: one point in v, s, b or d, or a pack of points in p (its ts the newest). */
export interface TelemetryRow {
  ts: number;
  v: number | null;
  s: string | null;
  b: boolean | null;
  d: Buffer | null;
  p: Buffer | null;
}

/** Appends a row's points to `into` (a pack's points are sorted by time). */
export function rowPoints(r: TelemetryRow, into: Points): void {
  if (r.p !== null) eachSection(r.p, () => into);
  else {
    into.ts.push(r.ts);
    into.values.push(fromPointColumns(r.v, r.s, r.b, r.d));
  }
}

/**
 * Packs (column p of telemetry) and rows of telemetry_recent (schema version 13)
 * hold points in sections, one per series (a pack has one, its own series'; a
 * recent row one per series of its device): series id (two uint32, high first),
 * point count (uint32), then each point as its time (float64) and its value after a
 * tag byte: 0 a float64, 1 a string (uint32 byte length, UTF-8), 2 false, 3 true,
 * 4 bytes (uint32 length, the bytes). Not the block format of ../telemetry/codec.ts:
 * these rows live two days at most (compaction packs their points into blocks), and
 * a block of a point or two cost the hub's one thread about 0.9 µs a point to
 * pack, where this costs a few tens of ns.
 */
export interface Section {
  series: number;
  ts: readonly number[];
  values: readonly PointValue[];
  start: number;
  end: number;
}

const TWO_32 = 4_294_967_296;

/** Bytes of a point in sections (its time, tag and value). */
export function pointBytes(v: PointValue): number {
  return 9 + (typeof v === 'number' ? 8 : typeof v === 'string' ? 4 + Buffer.byteLength(v) : typeof v === 'boolean' ? 0 : 4 + v.length);
}

/** Bytes of a section's head (series and point count). */
export const SECTION_HEAD_BYTES = 12;

/** Writes a section's head at `at`, which must have room; returns where its points go. */
export function writeSectionHead(out: Buffer, at: number, series: number, count: number): number {
  const hi = Math.floor(series / TWO_32);
  out.writeUInt32BE(hi, at);
  out.writeUInt32BE(series - hi * TWO_32, at + 4);
  out.writeUInt32BE(count, at + 8);
  return at + SECTION_HEAD_BYTES;
}

/** Writes a point at `at`, which must have room (pointBytes); returns where the next goes. */
export function writePoint(out: Buffer, at: number, ts: number, v: PointValue): number {
  out.writeDoubleBE(ts, at);
  if (typeof v === 'number') {
    out[at + 8] = 0;
    out.writeDoubleBE(v, at + 9);
    return at + 17;
  }
  if (typeof v === 'string') {
    out[at + 8] = 1;
    const n = out.write(v, at + 13, 'utf8');
    out.writeUInt32BE(n, at + 9);
    return at + 13 + n;
  }
  if (typeof v === 'boolean') {
    out[at + 8] = v ? 3 : 2;
    return at + 9;
  }
  out[at + 8] = 4;
  out.writeUInt32BE(v.length, at + 9);
  out.set(v, at + 13);
  return at + 13 + v.length;
}

export function encodeSections(sections: readonly Section[]): Buffer {
  let bytes = 0;
  for (const x of sections) {
    bytes += SECTION_HEAD_BYTES;
    for (let i = x.start; i < x.end; i++) bytes += pointBytes(x.values[i] as PointValue);
  }
  const out = Buffer.allocUnsafe(bytes);
  let at = 0;
  for (const x of sections) {
    at = writeSectionHead(out, at, x.series, x.end - x.start);
    for (let i = x.start; i < x.end; i++) at = writePoint(out, at, x.ts[i] as number, x.values[i] as PointValue);
  }
  return out;
}

/**
 * Reads every section of a pack or a telemetry_recent row: its points are appended
 * to what `want(series)` returns, or skipped if that is undefined. Throws on corrupt
 * bytes (a storage fault: the hub wrote them).
 */
export function eachSection(p: Uint8Array, want: (series: number) => Points | undefined): void {
  const b = Buffer.from(p.buffer, p.byteOffset, p.byteLength);
  const fault = (what: string) => new Error(`corrupt telemetry sections: ${what}`);
  let at = 0;
  while (at < b.length) {
    if (at + 12 > b.length) throw fault('section header');
    const series = b.readUInt32BE(at) * TWO_32 + b.readUInt32BE(at + 4);
    const n = b.readUInt32BE(at + 8);
    at += 12;
    const into = want(series);
    for (let i = 0; i < n; i++) {
      if (at + 9 > b.length) throw fault('point');
      const ts = b.readDoubleBE(at);
      const tag = b[at + 8];
      at += 9;
      let value: PointValue | undefined;
      if (tag === 0) {
        if (at + 8 > b.length) throw fault('number');
        value = b.readDoubleBE(at);
        at += 8;
      } else if (tag === 2 || tag === 3) value = tag === 3;
      else if (tag === 1 || tag === 4) {
        if (at + 4 > b.length) throw fault('length');
        const len = b.readUInt32BE(at);
        if (at + 4 + len > b.length) throw fault('length');
        // Only what is wanted is copied out.
        if (into !== undefined)
          value = tag === 1 ? b.toString('utf8', at + 4, at + 4 + len) : new Uint8Array(b.subarray(at + 4, at + 4 + len));
        at += 4 + len;
      } else throw fault('tag');
      if (into !== undefined) {
        into.ts.push(ts);
        into.values.push(value as PointValue);
      }
    }
  }
}

/** The points kept for `series` in `bySeries`, made empty the first time. */
export function pointsOf(bySeries: Map<number, Points>, series: number): Points {
  let p = bySeries.get(series);
  if (p === undefined) {
    p = { ts: [], values: [] };
    bySeries.set(series, p);
  }
  return p;
}

/** Appends the points of `series` in a telemetry_recent row (or a pack) to `into`. */
export function sectionPoints(p: Uint8Array, series: number, into: Points): void {
  eachSection(p, (s) => (s === series ? into : undefined));
}

/** float8 text for a JavaScript number: NaN and the infinities by name, which PostgreSQL reads back. */
export function float(v: number | null): string | null {
  if (v === null) return null;
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return 'Infinity';
  if (v === Number.NEGATIVE_INFINITY) return '-Infinity';
  // String(-0) is "0": the sign would be lost.
  return Object.is(v, -0) ? '-0' : String(v);
}

/** A string value as the json the column holds (U+0000 escaped, which text cannot hold). */
export function jsonText(s: string | null): string | null {
  return s === null ? null : JSON.stringify(s);
}

/** From this many points a batch goes by COPY (see the figures above). */
export const COPY_FROM = 2_000;

/** What ingest calls: unnest for small batches, COPY for big ones. */
export function insertPoints(c: Client, p: PointColumns): Promise<void> {
  return p.series.length >= COPY_FROM ? insertPointsCopy(c, p) : insertPointsUnnest(c, p);
}

/** One INSERT … SELECT FROM unnest of six arrays, whatever the batch size. */
export async function insertPointsUnnest(c: Client, p: PointColumns): Promise<void> {
  if (p.series.length === 0) return;
  await c.query(
    `INSERT INTO telemetry (series, ts, v, s, b, d)
     SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::float8[], $4::json[], $5::boolean[], $6::bytea[])`,
    [
      p.series,
      p.ts,
      p.v.map(float),
      p.s.map(jsonText),
      p.b,
      p.d.map((x) => (x === null ? null : Buffer.from(x.buffer, x.byteOffset, x.byteLength))),
    ],
  );
}

/** Rows per multi-row VALUES statement: 6 parameters a row, 65,535 parameters a statement at most. */
const VALUES_ROWS = 10_000;

/** Measured, not used: one multi-row INSERT … VALUES with parameters per 10,000 points. */
export async function insertPointsValues(c: Client, p: PointColumns): Promise<void> {
  for (let start = 0; start < p.series.length; start += VALUES_ROWS) {
    const end = Math.min(p.series.length, start + VALUES_ROWS);
    const params: unknown[] = [];
    const rows: string[] = [];
    for (let i = start; i < end; i++) {
      const k = params.length;
      rows.push(`($${k + 1}::bigint, $${k + 2}::bigint, $${k + 3}::float8, $${k + 4}::json, $${k + 5}::boolean, $${k + 6}::bytea)`);
      const d = p.d[i] ?? null;
      params.push(p.series[i], p.ts[i], float(p.v[i] ?? null), jsonText(p.s[i] ?? null), p.b[i], d === null ? null : Buffer.from(d));
    }
    await c.query(`INSERT INTO telemetry (series, ts, v, s, b, d) VALUES ${rows.join(', ')}`, params);
  }
}

/** COPY text format: backslash, tab, newline and carriage return escaped; \N is null. */
function copyText(s: string): string {
  return s.replace(/[\\\t\n\r]/g, (ch) => (ch === '\\' ? '\\\\' : ch === '\t' ? '\\t' : ch === '\n' ? '\\n' : '\\r'));
}

/** COPY … FROM STDIN (pg-copy-streams), the whole batch as one text chunk. */
export async function insertPointsCopy(c: Client, p: PointColumns): Promise<void> {
  if (p.series.length === 0) return;
  const lines: string[] = new Array(p.series.length);
  for (let i = 0; i < p.series.length; i++) {
    const s = p.s[i] ?? null;
    const b = p.b[i] ?? null;
    const d = p.d[i] ?? null;
    lines[i] = `${p.series[i]}\t${p.ts[i]}\t${float(p.v[i] ?? null) ?? '\\N'}\t${s === null ? '\\N' : copyText(JSON.stringify(s))}\t${
      b === null ? '\\N' : b ? 't' : 'f'
    }\t${d === null ? '\\N' : `\\\\x${Buffer.from(d).toString('hex')}`}\n`;
  }
  const stream = c.query(copyFrom('COPY telemetry (series, ts, v, s, b, d) FROM STDIN'));
  await pipeline(
    (async function* () {
      yield Buffer.from(lines.join(''));
    })(),
    stream,
  );
}
