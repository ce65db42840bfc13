// Compacting closed day partitions of the telemetry table into blocks (the block
// format of ../telemetry/codec.ts, README.md § Storage): raw rows cost PostgreSQL
// about 80 bytes a point with the index; blocks of a 1 Hz sensor under one.
// A partition is compacted once its day has been over for COMPACT_AFTER_DAYS - 1 full
// days (late points of a device catching up still land in raw rows until then),
// some series per transaction: the transaction deletes their rows (DELETE ...
// RETURNING, so exactly the rows it packs) and inserts their blocks, atomically. A
// hub that dies half-way leaves rows or blocks, never both for one point; several
// hubs take turns on the partition lock and find the rows gone. Once the partition
// is empty, it is detached and dropped. The same transaction adds the points to the
// series' rollups (../telemetry/rollups.ts): each point once, whichever hub packs it.

import { blockRanges, type Points, packBlocks, sortPoints } from '../telemetry/blocks.js';
import { type Rollup, rollupsOf } from '../telemetry/rollups.js';
import { DAY_MS, listPartitions, PARTITION_LOCK } from './partitions.js';
import { type Client, type Pool, transaction } from './pool.js';
import { emptyColumns, float, jsonText, pointsOf, pushPoint, rowPoints, type TelemetryRow } from './telemetry-insert.js';

/** A day partition is compacted once now is this many days past its start (so its day ended a day ago). */
export const COMPACT_AFTER_DAYS = 2;
/** Points packed per transaction, about (a series larger than this goes alone). */
const CHUNK_POINTS = 100_000;

export interface CompactionResult {
  partitions: string[];
  points: number;
  blocks: number;
}

/** A row of the telemetry table with its series. */
type Row = TelemetryRow & { series: number };

/**
 * Whether the partition is still attached, read from the catalog tables with the
 * statement's snapshot: to_regclass() answers from this backend's catalog cache,
 * which may not have seen another hub's DROP yet when the lock we waited on was
 * an advisory one (seen in the two-hub test: "relation ... does not exist" next).
 */
async function attached(c: Client, partition: string): Promise<boolean> {
  const r = await c.query(
    `SELECT 1 FROM pg_inherits i JOIN pg_class k ON k.oid = i.inhrelid WHERE i.inhparent = 'telemetry'::regclass AND k.relname = $1`,
    [partition],
  );
  return (r.rowCount ?? 0) > 0;
}

/** Compacts every day partition old enough at `now` (tests pass a later `now`); returns what it did. */
export async function compactPartitions(pool: Pool, now: number): Promise<CompactionResult> {
  const horizon = Math.floor(now / DAY_MS) * DAY_MS - (COMPACT_AFTER_DAYS - 1) * DAY_MS;
  const done: CompactionResult = { partitions: [], points: 0, blocks: 0 };
  for (const p of await listPartitions(pool)) {
    if (p.day + DAY_MS > horizon) break;
    // Under the lock: another hub may have just compacted and dropped it.
    const counts = await transaction(pool, 'counting points to compact', async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1, $2)', PARTITION_LOCK);
      if (!(await attached(c, p.name))) return [];
      return (
        await c.query<{ series: number; n: number }>(`SELECT series, count(*)::int AS n FROM ${p.name} GROUP BY series ORDER BY series`)
      ).rows;
    });
    let chunk: number[] = [];
    let points = 0;
    for (const [i, c] of counts.entries()) {
      chunk.push(c.series);
      points += c.n;
      if (points >= CHUNK_POINTS || i === counts.length - 1) {
        const r = await compactSeries(pool, p.name, chunk);
        done.points += r.points;
        done.blocks += r.blocks;
        chunk = [];
        points = 0;
      }
    }
    if (await dropIfEmpty(pool, p.name)) done.partitions.push(p.name);
  }
  return done;
}

/**
 * Deletes the default partition's rows older than `cutoff` (retention) after adding
 * them to the rollups, in one transaction: they are late points of days already
 * compacted and dropped, which no compaction reaches, and the rollups outlive them.
 */
export async function retireDefaultRows(pool: Pool, cutoff: number): Promise<number> {
  return transaction(pool, 'retiring old telemetry rows', async (c) => {
    await c.query('SELECT pg_advisory_xact_lock($1, $2)', PARTITION_LOCK);
    const rows = (await c.query<Row>('DELETE FROM telemetry_default WHERE ts < $1 RETURNING series, ts, v, s, b, d, p', [cutoff])).rows;
    const bySeries = pointsBySeries(rows);
    await addRollups(
      c,
      [...bySeries].flatMap(([s, p]) => rollupsOf(p).map((r): [number, Rollup] => [s, r])),
    );
    let points = 0;
    for (const p of bySeries.values()) points += p.ts.length;
    return points;
  });
}

async function compactSeries(pool: Pool, partition: string, series: number[]): Promise<{ points: number; blocks: number }> {
  return transaction(pool, 'compacting telemetry', async (c) => {
    // Retention and partition upkeep take the same lock: the partition stays while this runs.
    await c.query('SELECT pg_advisory_xact_lock($1, $2)', PARTITION_LOCK);
    if (!(await attached(c, partition))) return { points: 0, blocks: 0 };
    const rows = (
      await c.query<Row>(`DELETE FROM ${partition} WHERE series = ANY($1::bigint[]) RETURNING series, ts, v, s, b, d, p`, [series])
    ).rows;
    const bySeries = pointsBySeries(rows);
    const cols: [number[], number[], number[], number[], number[], (number | null)[], (number | null)[], (number | null)[], Buffer[]] = [
      [],
      [],
      [],
      [],
      [],
      [],
      [],
      [],
      [],
    ];
    const rollups: [number, Rollup][] = [];
    let points = 0;
    for (const [s, unsorted] of bySeries) {
      const p = sortPoints(unsorted);
      points += p.ts.length;
      for (const r of rollupsOf(p)) rollups.push([s, r]);
      for (const [start, end] of blockRanges(p.ts)) {
        for (const b of packBlocks(p.ts, p.values, start, end)) {
          cols[0].push(s);
          cols[1].push(b.t0);
          cols[2].push(b.t1);
          cols[3].push(b.n);
          cols[4].push(b.nnum);
          cols[5].push(b.sum);
          cols[6].push(b.min);
          cols[7].push(b.max);
          cols[8].push(Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength));
        }
      }
    }
    if (cols[0].length > 0) {
      await c.query(
        `INSERT INTO telemetry_blocks (series, t0, t1, n, nnum, sum, min, max, data)
         SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::int[], $5::int[], $6::float8[], $7::float8[], $8::float8[], $9::bytea[])`,
        cols.map((col, i) => (i >= 5 && i <= 7 ? (col as (number | null)[]).map(float) : col)),
      );
    }
    await addRollups(c, rollups);
    return { points, blocks: cols[0].length };
  });
}

/** The rows' points by series (a pack's points and single ones, in row order). */
function pointsBySeries(rows: readonly Row[]): Map<number, Points> {
  const bySeries = new Map<number, Points>();
  for (const r of rows) rowPoints(r, pointsOf(bySeries, r.series));
  return bySeries;
}

/** Adds rollup buckets to the stored ones (one row per key in `rollups`). */
async function addRollups(c: Client, rollups: [number, Rollup][]): Promise<void> {
  if (rollups.length === 0) return;
  const last = emptyColumns();
  for (const [s, r] of rollups) pushPoint(last, s, r.lastT, r.last);
  await c.query(
    `INSERT INTO telemetry_rollups AS r (series, width, t, n, nnum, sum, min, max, last_t, v, s, b, d)
     SELECT * FROM unnest($1::bigint[], $2::int[], $3::bigint[], $4::bigint[], $5::bigint[], $6::float8[], $7::float8[], $8::float8[],
                          $9::bigint[], $10::float8[], $11::json[], $12::boolean[], $13::bytea[])
     ON CONFLICT (series, width, t) DO UPDATE SET
       n = r.n + excluded.n, nnum = r.nnum + excluded.nnum,
       sum = coalesce(r.sum + excluded.sum, r.sum, excluded.sum),
       min = least(r.min, excluded.min), max = greatest(r.max, excluded.max),
       v = CASE WHEN excluded.last_t >= r.last_t THEN excluded.v ELSE r.v END,
       s = CASE WHEN excluded.last_t >= r.last_t THEN excluded.s ELSE r.s END,
       b = CASE WHEN excluded.last_t >= r.last_t THEN excluded.b ELSE r.b END,
       d = CASE WHEN excluded.last_t >= r.last_t THEN excluded.d ELSE r.d END,
       last_t = greatest(r.last_t, excluded.last_t)`,
    [
      last.series,
      rollups.map(([, r]) => r.width),
      rollups.map(([, r]) => r.t),
      rollups.map(([, r]) => r.n),
      rollups.map(([, r]) => r.nnum),
      rollups.map(([, r]) => float(r.sum)),
      rollups.map(([, r]) => float(r.min)),
      rollups.map(([, r]) => float(r.max)),
      last.ts,
      last.v.map(float),
      last.s.map(jsonText),
      last.b,
      last.d.map((x) => (x === null ? null : Buffer.from(x.buffer, x.byteOffset, x.byteLength))),
    ],
  );
}

/**
 * Detaches and drops a compacted partition, if no point arrived in it meanwhile (a
 * late one is compacted next time). Its lock waits for inserts in flight; an insert
 * that queued behind it fails once the partition is gone, and the device resends it
 * into the default partition: nothing acknowledged is lost.
 */
async function dropIfEmpty(pool: Pool, partition: string): Promise<boolean> {
  return transaction(pool, 'dropping a compacted telemetry partition', async (c) => {
    await c.query('SELECT pg_advisory_xact_lock($1, $2)', PARTITION_LOCK);
    if (!(await attached(c, partition))) return false;
    await c.query(`LOCK TABLE ${partition} IN ACCESS EXCLUSIVE MODE`);
    if (((await c.query(`SELECT 1 FROM ${partition} LIMIT 1`)).rowCount ?? 0) > 0) return false;
    await c.query(`ALTER TABLE telemetry DETACH PARTITION ${partition}`);
    await c.query(`DROP TABLE ${partition}`);
    return true;
  });
}
