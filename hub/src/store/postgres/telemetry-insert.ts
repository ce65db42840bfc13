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
import type { PointValue } from '../telemetry/blocks.js';
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
