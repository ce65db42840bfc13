// Telemetry reads from PostgreSQL: the Store's TelemetryStore. Every committed point
// is in the telemetry table at once (no log, no compaction), so there is one
// generation, 0, always "compacted", and the hub's in-memory tail holds nothing
// for long (the store announces generation 0 compacted after every batch).

import type { BucketAccumulator } from '../../telemetry/buckets.js';
import type { TelemetryStore } from '../store.js';
import type { Points } from '../telemetry/blocks.js';
import type { LatestPoint, SeriesRef } from '../telemetry/query.js';
import type { Queryable } from './pool.js';
import { fromPointColumns } from './telemetry-insert.js';

interface ValueRow {
  v: number | null;
  s: string | null;
  b: boolean | null;
  d: Buffer | null;
}

/** Devices per latestMany query. */
const LATEST_CHUNK = 500;

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
  (SELECT ts, v, s, b, d FROM telemetry WHERE series = s.id AND ts >= $recent ORDER BY ts DESC LIMIT 1)
  UNION ALL
  (SELECT ts, v, s, b, d FROM telemetry WHERE series = s.id ORDER BY ts DESC LIMIT 1)
  LIMIT 1)`;
const RECENT_MS = 86_400_000;
const newestOfSeries = (param: number) => NEWEST_OF_SERIES.replace('$recent', `$${param}`);

export class PgTelemetryReads implements TelemetryStore {
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

  async blockPoints(series: number, from: number, to: number, _gen: number): Promise<Points> {
    const rows = await this.db.query<ValueRow & { ts: number }>(
      'SELECT ts, v, s, b, d FROM telemetry WHERE series = $1 AND ts >= $2 AND ts <= $3 ORDER BY ts',
      [series, from, to],
    );
    const out: Points = { ts: [], values: [] };
    for (const r of rows.rows) {
      out.ts.push(r.ts);
      out.values.push(fromPointColumns(r.v, r.s, r.b, r.d));
    }
    return out;
  }

  /**
   * One row per bucket, aggregated by the server, added as a whole-bucket summary.
   * Each bucket's last value is fetched apart, by the bucket's newest time: taken
   * inside the aggregate (array_agg(... ORDER BY ts DESC)) it built and sorted a
   * value for every point, and a month of minute points in days took 27 ms instead
   * of 11 (postgres benchmark, README.md § Benchmarks).
   */
  async blockBuckets(series: number, acc: BucketAccumulator, _gen: number): Promise<void> {
    const rows = await this.db.query<{
      t0: number;
      t1: number;
      n: number;
      nnum: number;
      sum: number | null;
      min: number | null;
      max: number | null;
    }>(
      `SELECT min(ts) AS t0, max(ts) AS t1, count(*) AS n, count(v) AS nnum, sum(v) AS sum, min(v) AS min, max(v) AS max
       FROM telemetry WHERE series = $1 AND ts >= $2 AND ts <= $3
       GROUP BY floor(ts::float8 / $4)`,
      [series, acc.from, acc.to, acc.width],
    );
    if (rows.rows.length === 0) return;
    // A constant list of times: the partitions are pruned when planning, one index probe each.
    const lasts = await this.db.query<ValueRow & { ts: number }>(
      'SELECT DISTINCT ON (ts) ts, v, s, b, d FROM telemetry WHERE series = $1 AND ts = ANY($2::bigint[])',
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

  async latest(device: number, limit = Number.MAX_SAFE_INTEGER): Promise<Map<string, LatestPoint>> {
    const rows = await this.db.query<ValueRow & { name: string; unit: string | null; ts: number }>(
      `SELECT s.name, s.unit, t.ts, t.v, t.s, t.b, t.d FROM (SELECT id, name, unit FROM series WHERE device = $1 LIMIT $2) s
       CROSS JOIN LATERAL ${newestOfSeries(3)} t`,
      [device, limit, Date.now() - RECENT_MS],
    );
    const out = new Map<string, LatestPoint>();
    for (const r of rows.rows) out.set(r.name, { name: r.name, unit: r.unit, time: r.ts, value: fromPointColumns(r.v, r.s, r.b, r.d) });
    return out;
  }

  async latestMany(devices: readonly number[], limit: number): Promise<{ latest: Map<number, Map<string, LatestPoint>>; rows: number }> {
    const latest = new Map<number, Map<string, LatestPoint>>();
    let count = 0;
    for (let i = 0; i < devices.length && count < limit; i += LATEST_CHUNK) {
      const rows = await this.db.query<ValueRow & { device: number; name: string; unit: string | null; ts: number }>(
        `SELECT s.device, s.name, s.unit, t.ts, t.v, t.s, t.b, t.d FROM series s
         CROSS JOIN LATERAL ${newestOfSeries(3)} t
         WHERE s.device = ANY($1::bigint[]) LIMIT $2`,
        [devices.slice(i, i + LATEST_CHUNK), limit - count, Date.now() - RECENT_MS],
      );
      for (const r of rows.rows) {
        count++;
        let m = latest.get(r.device);
        if (m === undefined) {
          m = new Map();
          latest.set(r.device, m);
        }
        m.set(r.name, { name: r.name, unit: r.unit, time: r.ts, value: fromPointColumns(r.v, r.s, r.b, r.d) });
      }
    }
    return { latest, rows: count };
  }

  /** Nothing is ever uncompacted here. */
  async uncompacted(): Promise<void> {}
}
