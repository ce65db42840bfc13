// Moving telemetry_recent rows (schema version 13) into packs of the telemetry
// table. Ingest writes a device's points of a batch that do not make a pack of
// their own series (a few points each, as with many devices each sending now and
// then) as one row for the device (telemetry-statement.ts): one row instead of a
// row per point, but a row that only a read of that device can use. The store's
// upkeep moves them every second or so: one transaction deletes a slice of rows
// (DELETE ... RETURNING, so exactly the rows it moves), regroups their points by
// series and inserts them as packs, which by then hold a second or more of each
// series. A hub that stops half-way leaves every point in exactly one of the two.
// Hubs sharing the database take turns: one moves at a time (a try-lock; the
// others skip the round). Reads take the recent rows with the telemetry rows in one
// statement, so they see a move before or after, never half-done. The store runs
// the moves in a thread of their own (recent-mover.ts).

import { type Points, type PointValue, sortPoints } from '../telemetry/blocks.js';
import { type Pool, transaction } from './pool.js';
import { eachSection, encodeSections, packStretches, pointsOf } from './telemetry-insert.js';
import { BinaryArray, BYTEA_OID, INT8_OID } from './telemetry-statement.js';

/** pg_try_advisory_xact_lock keys of the move ("hlyd", "rcnt"). */
export const RECENT_LOCK = [0x686c7964, 0x72636e74];
/**
 * Rows one move takes at most; more wait for the next move. A slice, not all there
 * is: at full rate a second of rows is 20,000 rows and 200,000 points, and moving
 * them in one go held the server's WAL for a tenth of a second, every ingest
 * statement's commit waiting behind it (README.md, Benchmarks). The store moves
 * slice after slice through the devices instead (see `from`).
 */
const MOVE_ROWS = 2_000;
/**
 * ...and bytes, about (the row that crosses it is the last): rows are as big as a
 * device makes them (up to --max-frame each), and the move holds a slice in
 * memory, decoded.
 */
export const MOVE_BYTES = 1024 * 1024;
export interface MoveResult {
  /** Rows moved (0: none, or another hub was moving). */
  rows: number;
  points: number;
  packs: number;
  /** Whether rows were left for the next move. */
  more: boolean;
  /**
   * The last device moved: the next slice starts at it (`from` of moveRecent), since
   * a slice cut at MOVE_BYTES may have left some of its rows.
   */
  last: number;
  /** Rows that could not be read, set aside in telemetry_recent_quarantine (the store logs them). */
  corrupt: { device: number; bytes: number; error: string }[];
}

/**
 * Every row of telemetry_recent is deleted a second or so after it is written: at
 * full rate, tens of thousands of dead rows and index entries a second, which
 * autovacuum (a visit a minute at most) would let pile up for the move's scan and
 * the reads' index to wade through. The hub that moves vacuums the table itself
 * every VACUUM_EVERY_MS while moves find rows (outside a transaction, as VACUUM
 * must be; it does not block inserts or moves).
 */
export const VACUUM_EVERY_MS = 10_000;

export async function vacuumRecent(pool: Pool): Promise<void> {
  await pool.query('VACUUM telemetry_recent');
}

/**
 * Moves up to MOVE_ROWS recent rows into packs, in one transaction: the rows of
 * devices from `from` on (row ids), in device order, so that slice after slice goes
 * through every device and each device's rows wait about as long as a round takes
 * (its packs hold that long of each series). With `wait`, it waits for another
 * hub's move instead of skipping (compaction, which must find every point of a day
 * in its partition, moves all first).
 */
export async function moveRecent(pool: Pool, wait = false, from = 0): Promise<MoveResult> {
  return transaction(pool, 'moving recent telemetry into packs', async (c) => {
    const none = { rows: 0, points: 0, packs: 0, more: false, last: from, corrupt: [] };
    if (wait) await c.query('SELECT pg_advisory_xact_lock($1, $2)', RECENT_LOCK);
    else if ((await c.query<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock($1, $2) AS ok', RECENT_LOCK)).rows[0]?.ok !== true)
      return none;
    const rows = (
      await c.query<{ device: number; ts: number; p: Buffer }>(
        `DELETE FROM telemetry_recent WHERE ctid = ANY(ARRAY(
           SELECT ctid FROM (
             SELECT ctid, sum(octet_length(p)) OVER (ORDER BY device, ts ROWS UNBOUNDED PRECEDING) - octet_length(p) AS before
             FROM (SELECT ctid, p, device, ts FROM telemetry_recent WHERE device >= $3 ORDER BY device, ts LIMIT $1) r
           ) w WHERE before < $2))
         RETURNING device, ts, p`,
        [MOVE_ROWS, MOVE_BYTES, from],
      )
    ).rows;
    if (rows.length === 0) return none;
    let bytes = 0;
    let last = from;
    for (const r of rows) {
      bytes += r.p.length;
      last = Math.max(last, r.device);
    }
    const bySeries = new Map<number, Points>();
    const corrupt: { device: number; ts: number; p: Buffer; error: string }[] = [];
    for (const r of rows) {
      // A row is read whole before its points are kept: a corrupt one (a storage
      // fault, never input: the hub wrote it) is set aside whole, not moved half;
      // left in place it would stop every move after it.
      const found = new Map<number, Points>();
      try {
        eachSection(r.p, (series) => pointsOf(found, series));
      } catch (err) {
        corrupt.push({ device: r.device, ts: r.ts, p: r.p, error: (err as Error).message });
        continue;
      }
      for (const [series, p] of found) {
        const all = pointsOf(bySeries, series);
        for (let i = 0; i < p.ts.length; i++) {
          all.ts.push(p.ts[i] as number);
          all.values.push(p.values[i] as PointValue);
        }
      }
    }
    // Parameters in binary too (telemetry-statement.ts, BinaryArray).
    const series = new BinaryArray(INT8_OID, bySeries.size);
    const ts = new BinaryArray(INT8_OID, bySeries.size);
    const packs = new BinaryArray(BYTEA_OID, bySeries.size * 16);
    let points = 0;
    for (const [id, unsorted] of bySeries) {
      const p = sortPoints(unsorted);
      points += p.ts.length;
      for (const [start, end] of packStretches(p.ts)) {
        series.int8(id);
        ts.int8(p.ts[end - 1] as number);
        packs.bytes(encodeSections([{ series: id, ts: p.ts, values: p.values, start, end }]));
      }
    }
    // Points of a series deleted meanwhile (its device's) are dropped with it.
    await c.query(
      `INSERT INTO telemetry (series, ts, p)
       SELECT u.series, u.ts, u.p FROM unnest($1::bigint[], $2::bigint[], $3::bytea[]) AS u(series, ts, p)
       WHERE EXISTS (SELECT 1 FROM series WHERE id = u.series)`,
      [series.finish(), ts.finish(), packs.finish()],
    );
    if (corrupt.length > 0)
      await c.query(
        `INSERT INTO telemetry_recent_quarantine (device, ts, p, error, at)
         SELECT *, $5::bigint FROM unnest($1::bigint[], $2::bigint[], $3::bytea[], $4::text[])`,
        [corrupt.map((x) => x.device), corrupt.map((x) => x.ts), corrupt.map((x) => x.p), corrupt.map((x) => x.error), Date.now()],
      );
    return {
      rows: rows.length,
      points,
      packs: packs.count,
      more: rows.length === MOVE_ROWS || bytes >= MOVE_BYTES,
      last,
      corrupt: corrupt.map(({ device, p, error }) => ({ device, bytes: p.length, error })),
    };
  });
}
