// Telemetry reads from PostgreSQL: the Store's TelemetryStore. Every committed point
// is in the telemetry table at once (no log), so there is one generation, 0, always
// "compacted", and the hub's in-memory tail holds nothing for long (the store
// announces generation 0 compacted after every batch). Days compacted into blocks
// (telemetry-compaction.ts) are read from telemetry_blocks beside the rows. A row
// is one point or a pack of points (column p, its ts the newest point's): a read of
// [from, to] takes rows up to to + PACK_SPAN_MS and the points of packs in range.

import type { BucketAccumulator } from '../../telemetry/buckets.js';
import type { PointValue, TelemetryStore } from '../store.js';
import { BLOCK_MAX_SPAN_MS, type PackedBlock, type Points, sortPoints, unpackBlock } from '../telemetry/blocks.js';
import type { LatestPoint, SeriesRef } from '../telemetry/query.js';
import { ROLLUPS_SINCE_KEY } from '../telemetry/rollups.js';
import { type Queryable, transaction } from './pool.js';
import { eachSection, fromPointColumns, PACK_SPAN_MS, pointsOf, rowPoints, sectionPoints, type TelemetryRow } from './telemetry-insert.js';

interface RollupRow extends ValueRow {
  t: number;
  n: number;
  nnum: number;
  sum: number | null;
  min: number | null;
  max: number | null;
  last_t: number;
}

/** The summary columns of a block (PackedBlock without its bytes). */
type BlockSummary = Omit<PackedBlock, 'data'>;

/** A block's summary (PackedBlock) as the server returns it, its bytes a Buffer. */
type BlockRow = BlockSummary & { data: Buffer };

/** The newest point of a block (its points are sorted; of equal times, the last). */
function newestOf(data: Uint8Array): { ts: number; value: PointValue } {
  const p = unpackBlock(data);
  return { ts: p.ts[p.ts.length - 1] as number, value: p.values[p.values.length - 1] as PointValue };
}

/** The index of the newest of points (of equal times, the last). */
function newestIndex(p: Points): number {
  let at = 0;
  for (let i = 1; i < p.ts.length; i++) if ((p.ts[i] as number) >= (p.ts[at] as number)) at = i;
  return at;
}

/** The newest point's value of a pack. */
function newestOfPack(p: Uint8Array): PointValue {
  const points: Points = { ts: [], values: [] };
  eachSection(p, () => points);
  return points.values[newestIndex(points)] as PointValue;
}

function lastOf(data: Uint8Array): PointValue {
  return newestOf(data).value;
}

/** The newest block of series s.id, for a LEFT JOIN LATERAL beside NEWEST_OF_SERIES. */
const NEWEST_BLOCK = '(SELECT t1, data FROM telemetry_blocks WHERE series = s.id ORDER BY t1 DESC LIMIT 1)';

interface NewestRow extends ValueRow {
  id: number;
  name: string;
  unit: string | null;
  ts: number | null;
  p: Buffer | null;
  bt1: number | null;
  bdata: Buffer | null;
}

/** A series' latest point from its newest row and its newest block, whichever is newer (a row on a tie). */
function latestOf(r: NewestRow): LatestPoint | undefined {
  if (r.ts !== null && (r.bt1 === null || r.ts >= r.bt1)) {
    // A pack's ts is its newest point's.
    const value = r.p !== null ? newestOfPack(r.p) : fromPointColumns(r.v, r.s, r.b, r.d);
    return { name: r.name, unit: r.unit, time: r.ts, value };
  }
  if (r.bdata === null) return undefined;
  const b = newestOf(r.bdata);
  return { name: r.name, unit: r.unit, time: b.ts, value: b.value };
}

/** The newest point of each series in the devices' telemetry_recent rows (of equal times, the last). */
async function recentNewest(db: Queryable, devices: readonly number[]): Promise<Map<number, { ts: number; value: PointValue }>> {
  const newest = new Map<number, { ts: number; value: PointValue }>();
  const rows = await db.query<{ p: Buffer }>('SELECT p FROM telemetry_recent WHERE device = ANY($1::bigint[])', [devices]);
  const points = new Map<number, Points>();
  for (const r of rows.rows) {
    eachSection(r.p, (series) => pointsOf(points, series));
  }
  for (const [series, p] of points) {
    const at = newestIndex(p);
    newest.set(series, { ts: p.ts[at] as number, value: p.values[at] as PointValue });
  }
  return newest;
}

/** The newer of a series' latest point in rows and blocks and its newest in recent rows (recent on a tie: it came later). */
function newerOf(
  stored: LatestPoint | undefined,
  s: { name: string; unit: string | null },
  recent: { ts: number; value: PointValue } | undefined,
): LatestPoint | undefined {
  if (recent === undefined || (stored !== undefined && stored.time > recent.ts)) return stored;
  return { name: s.name, unit: s.unit, time: recent.ts, value: recent.value };
}

interface ValueRow {
  v: number | null;
  s: string | null;
  b: boolean | null;
  d: Buffer | null;
}

/** Devices per latestMany query. */
const LATEST_CHUNK = 500;
/** latestMany's queries at once (the pool has ten connections; ingest and the other reads keep theirs). */
const LATEST_PARALLEL = 2;

/**
 * The newest point of series s.id, for a LATERAL join. Unbounded in time, the
 * ORDER BY ts DESC LIMIT 1 is a merge over the index of every day partition (a
 * month kept: 35 index descents per series, 0.1 ms; 1,000 devices took 140-260 ms
 * in the postgres benchmark, README.md § Benchmarks). So the last day's partitions
 * are asked first ($recent is pruned at run time) and the whole table only for a
 * series with nothing since: both branches yield the true newest point, and the
 * Append under LIMIT 1 never starts the second once the first has answered.
 */
const NEWEST_OF_SERIES = `(
  (SELECT ts, v, s, b, d, p FROM telemetry WHERE series = s.id AND ts >= $recent ORDER BY ts DESC LIMIT 1)
  UNION ALL
  (SELECT ts, v, s, b, d, p FROM telemetry WHERE series = s.id ORDER BY ts DESC LIMIT 1)
  LIMIT 1)`;
const RECENT_MS = 86_400_000;
const newestOfSeries = (param: number) => NEWEST_OF_SERIES.replace('$recent', `$${param}`);

export class PgTelemetryReads implements TelemetryStore {
  private since: number | undefined;

  constructor(private readonly db: Queryable) {}

  async compacted(): Promise<number> {
    return 0;
  }

  async seriesCount(device: number): Promise<number> {
    return (await this.db.query<{ n: number }>('SELECT count(*) AS n FROM series WHERE device = $1', [device])).rows[0]?.n ?? 0;
  }

  async hasSeries(device: number, name: string): Promise<boolean> {
    return ((await this.db.query('SELECT 1 FROM series WHERE device = $1 AND name = $2', [device, name])).rowCount ?? 0) > 0;
  }

  async series(device: number, names?: readonly string[], limit = Number.MAX_SAFE_INTEGER): Promise<SeriesRef[]> {
    if (names === undefined)
      return (await this.db.query<SeriesRef>('SELECT id, name, unit FROM series WHERE device = $1 LIMIT $2', [device, limit])).rows;
    const found = (
      await this.db.query<SeriesRef>('SELECT id, name, unit FROM series WHERE device = $1 AND name = ANY($2::text[])', [device, [...names]])
    ).rows;
    const byName = new Map(found.map((s) => [s.name, s]));
    return [...new Set(names)].flatMap((n) => {
      const s = byName.get(n);
      return s === undefined ? [] : [s];
    });
  }

  /** Blocks of a series that may hold points in [from, to] (a block spans at most BLOCK_MAX_SPAN_MS). */
  private async blocks(series: number, from: number, to: number): Promise<BlockRow[]> {
    return (
      await this.db.query<BlockRow>(
        `SELECT t0, t1, n, nnum, sum, min, max, data FROM telemetry_blocks
         WHERE series = $1 AND t0 >= $2 AND t0 <= $3 AND t1 >= $4 ORDER BY t0, id`,
        [series, from - BLOCK_MAX_SPAN_MS, to, from],
      )
    ).rows;
  }

  async blockPoints(series: number, from: number, to: number, _gen: number): Promise<Points> {
    const blocks = await this.blocks(series, from, to);
    // One statement, so one snapshot: the upkeep moving recent rows into packs is seen before or after, never half.
    const rows = await this.db.query<TelemetryRow & { recent: boolean }>(
      `SELECT ts, v, s, b, d, p, false AS recent FROM telemetry
       WHERE series = $1 AND ts >= $2 AND ts <= $4 AND (ts <= $3 OR p IS NOT NULL)
       UNION ALL
       SELECT ts, NULL, NULL, NULL, NULL, p, true FROM telemetry_recent
       WHERE device = (SELECT device FROM series WHERE id = $1) AND ts >= $2 AND ts <= $4
       ORDER BY ts`,
      [series, from, to, to + PACK_SPAN_MS],
    );
    const out: Points = { ts: [], values: [] };
    const scratch: Points = { ts: [], values: [] };
    const keep = (): void => {
      for (let i = 0; i < scratch.ts.length; i++) {
        const t = scratch.ts[i] as number;
        if (t < from || t > to) continue;
        out.ts.push(t);
        out.values.push(scratch.values[i] as PointValue);
      }
      scratch.ts.length = 0;
      scratch.values.length = 0;
    };
    let packs = false;
    for (const b of blocks) {
      unpackBlock(b.data, scratch);
      keep();
    }
    for (const r of rows.rows) {
      packs ||= r.p !== null;
      if (r.recent) sectionPoints(r.p as Buffer, series, scratch);
      else rowPoints(r, scratch);
      keep();
    }
    return blocks.length > 0 || packs ? sortPoints(out) : out;
  }

  /**
   * One row per bucket, aggregated by the server, added as a whole-bucket summary.
   * Each bucket's last value is fetched apart, by the bucket's newest time: taken
   * inside the aggregate (array_agg(... ORDER BY ts DESC)) it built and sorted a
   * value for every point, and a month of minute points in days took 27 ms instead
   * of 11 (postgres benchmark, README.md § Benchmarks).
   */
  async blockBuckets(series: number, acc: BucketAccumulator, _gen: number): Promise<void> {
    const scratch: Points = { ts: [], values: [] };
    for (const b of await this.blocks(series, acc.from, acc.to)) {
      scratch.ts.length = 0;
      scratch.values.length = 0;
      if (acc.wholeBlock(b.t0, b.t1)) {
        acc.addSummary(b.t0, b.t1, b.n, b.nnum, b.sum ?? 0, b.min ?? 0, b.max ?? 0, () => lastOf(b.data));
        continue;
      }
      unpackBlock(b.data, scratch);
      for (let i = 0; i < scratch.ts.length; i++) acc.add(scratch.ts[i] as number, scratch.values[i] as PointValue);
    }
    await rowBuckets(this.db, series, acc);
  }

  async rollupsSince(): Promise<number> {
    // Set once, by the migration that made the rollups.
    this.since ??= Number(
      (await this.db.query<{ value: string }>('SELECT value FROM meta WHERE key = $1', [ROLLUPS_SINCE_KEY])).rows[0]?.value ?? '0',
    );
    return this.since;
  }

  /**
   * Rollups plus the rows not compacted yet, in one snapshot (REPEATABLE READ): a
   * compaction between the two reads would move rows into the rollups unseen or twice.
   */
  async rollupBuckets(series: number, width: number, acc: BucketAccumulator, gen: number): Promise<number> {
    const read = async (c: Queryable) => {
      const rollups = await c.query<RollupRow>(
        `SELECT t, n, nnum, sum, min, max, last_t, v, s, b, d FROM telemetry_rollups
         WHERE series = $1 AND width = $2 AND t >= $3 AND t <= $4`,
        [series, width, acc.from, acc.to],
      );
      for (const r of rollups.rows) {
        acc.addSummary(Number(r.t), Number(r.last_t), Number(r.n), Number(r.nnum), r.sum ?? 0, r.min ?? 0, r.max ?? 0, () =>
          fromPointColumns(r.v, r.s, r.b, r.d),
        );
      }
      await rowBuckets(c, series, acc.window(acc.from, acc.to + width - 1));
    };
    if ('release' in this.db) await read(this.db);
    else
      await transaction(this.db, 'reading telemetry rollups', async (c) => {
        await c.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY');
        await read(c);
      });
    return gen;
  }

  async latest(device: number, limit = Number.MAX_SAFE_INTEGER): Promise<Map<string, LatestPoint>> {
    // Recent rows first: a point the upkeep moves meanwhile is then found in one or the other.
    const recent = await recentNewest(this.db, [device]);
    const rows = await this.db.query<NewestRow>(
      `SELECT s.id, s.name, s.unit, t.ts, t.v, t.s, t.b, t.d, t.p, bl.t1 AS bt1, bl.data AS bdata
       FROM (SELECT id, name, unit FROM series WHERE device = $1 LIMIT $2) s
       LEFT JOIN LATERAL ${newestOfSeries(3)} t ON true
       LEFT JOIN LATERAL ${NEWEST_BLOCK} bl ON true
       WHERE t.ts IS NOT NULL OR bl.t1 IS NOT NULL OR s.id = ANY($4::bigint[])`,
      [device, limit, Date.now() - RECENT_MS, [...recent.keys()]],
    );
    const out = new Map<string, LatestPoint>();
    for (const r of rows.rows) {
      const p = newerOf(latestOf(r), r, recent.get(Number(r.id)));
      if (p !== undefined) out.set(r.name, p);
    }
    return out;
  }

  async latestMany(devices: readonly number[], limit: number): Promise<{ latest: Map<number, Map<string, LatestPoint>>; rows: number }> {
    const latest = new Map<number, Map<string, LatestPoint>>();
    let count = 0;
    // LATEST_PARALLEL chunks at a time, each on a connection of its own: 1,000 devices
    // of the postgres benchmark's 50M-point table took 19-23 ms (p50) as two chunks one
    // after the other, 12-16 ms side by side (six interleaved rounds of 50 reads each).
    // Within a chunk, recent rows are read first (newerOf).
    for (let i = 0; i < devices.length && count < limit; i += LATEST_CHUNK * LATEST_PARALLEL) {
      const wave: (readonly number[])[] = [];
      for (let j = i; j < Math.min(devices.length, i + LATEST_CHUNK * LATEST_PARALLEL); j += LATEST_CHUNK)
        wave.push(devices.slice(j, j + LATEST_CHUNK));
      const left = limit - count;
      const results = await Promise.all(
        wave.map(async (chunk) => {
          const recent = await recentNewest(this.db, chunk);
          const rows = await this.db.query<NewestRow & { device: number }>(
            `SELECT s.id, s.device, s.name, s.unit, t.ts, t.v, t.s, t.b, t.d, t.p, bl.t1 AS bt1, bl.data AS bdata FROM series s
             LEFT JOIN LATERAL ${newestOfSeries(3)} t ON true
             LEFT JOIN LATERAL ${NEWEST_BLOCK} bl ON true
             WHERE s.device = ANY($1::bigint[]) AND (t.ts IS NOT NULL OR bl.t1 IS NOT NULL OR s.id = ANY($4::bigint[])) LIMIT $2`,
            [chunk, left, Date.now() - RECENT_MS, [...recent.keys()]],
          );
          return { recent, rows: rows.rows };
        }),
      );
      for (const { recent, rows } of results) {
        for (const r of rows) {
          if (count >= limit) break;
          const p = newerOf(latestOf(r), r, recent.get(Number(r.id)));
          if (p === undefined) continue;
          count++;
          let m = latest.get(r.device);
          if (m === undefined) {
            m = new Map();
            latest.set(r.device, m);
          }
          m.set(r.name, p);
        }
      }
    }
    return { latest, rows: count };
  }

  /** Nothing is ever uncompacted here. */
  async uncompacted(): Promise<void> {}
}

/**
 * The telemetry table's rows (not yet compacted) into `acc`: single points as one
 * row per bucket, aggregated by the server and added as whole-bucket summaries;
 * packs unpacked here, point by point.
 */
async function rowBuckets(db: Queryable, series: number, acc: BucketAccumulator): Promise<void> {
  // Packs and recent rows in one statement (one snapshot: see blockPoints).
  const packs = await db.query<{ p: Buffer; recent: boolean }>(
    `SELECT p, false AS recent FROM telemetry WHERE series = $1 AND ts >= $2 AND ts <= $3 AND p IS NOT NULL
     UNION ALL
     SELECT p, true FROM telemetry_recent WHERE device = (SELECT device FROM series WHERE id = $1) AND ts >= $2 AND ts <= $3`,
    [series, acc.from, acc.to + PACK_SPAN_MS],
  );
  const scratch: Points = { ts: [], values: [] };
  for (const r of packs.rows) {
    if (r.recent) sectionPoints(r.p, series, scratch);
    else eachSection(r.p, () => scratch);
    for (let i = 0; i < scratch.ts.length; i++) acc.add(scratch.ts[i] as number, scratch.values[i] as PointValue);
    scratch.ts.length = 0;
    scratch.values.length = 0;
  }
  const rows = await db.query<BlockSummary>(
    `SELECT min(ts) AS t0, max(ts) AS t1, count(*) AS n, count(v) AS nnum, sum(v) AS sum, min(v) AS min, max(v) AS max
       FROM telemetry WHERE series = $1 AND ts >= $2 AND ts <= $3 AND p IS NULL
       GROUP BY floor(ts::float8 / $4)`,
    [series, acc.from, acc.to, acc.width],
  );
  if (rows.rows.length === 0) return;
  // A constant list of times: the partitions are pruned when planning, one index probe each.
  const lasts = await db.query<ValueRow & { ts: number }>(
    'SELECT DISTINCT ON (ts) ts, v, s, b, d FROM telemetry WHERE series = $1 AND ts = ANY($2::bigint[]) AND p IS NULL',
    [series, rows.rows.map((r) => r.t1)],
  );
  const last = new Map(lasts.rows.map((r) => [Number(r.ts), r]));
  for (const r of rows.rows) {
    acc.addSummary(r.t0, r.t1, r.n, r.nnum, r.sum ?? 0, r.min ?? 0, r.max ?? 0, () => {
      const l = last.get(Number(r.t1));
      return l === undefined ? Number.NaN : fromPointColumns(l.v, l.s, l.b, l.d);
    });
  }
}
