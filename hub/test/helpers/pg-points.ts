// The points of the PostgreSQL telemetry table one row each, packs expanded (a row's
// p holds several points of its series: schema version 13, telemetry-statement.ts),
// with those of telemetry_recent (several series of a device a row),
// for tests that count or compare what was stored beneath the store's reads.

import { eachSection, pointsOf } from '../../src/store/postgres/telemetry-insert.js';
import type { Points, PointValue } from '../../src/store/telemetry/blocks.js';

export interface PointRow {
  series: number;
  ts: number;
  v: number | null;
  s: string | null;
  b: boolean | null;
  d: Buffer | null;
}

interface Queryable {
  query<R>(text: string, params?: unknown[]): Promise<{ rows: R[] }>;
}

function pointRow(series: number, ts: number, value: PointValue): PointRow {
  return {
    series,
    ts,
    v: typeof value === 'number' ? value : null,
    s: typeof value === 'string' ? value : null,
    b: typeof value === 'boolean' ? value : null,
    d: value instanceof Uint8Array ? Buffer.from(value) : null,
  };
}

/** Every point in the telemetry and telemetry_recent tables (not blocks), in row order, a pack's in time order. */
export async function telemetryPoints(db: Queryable): Promise<PointRow[]> {
  // One statement, one snapshot: a move of recent rows into packs meanwhile is seen whole or not at all.
  const rows = (
    await db.query<Omit<PointRow, 'series'> & { series: string | number | null; ts: string | number; p: Buffer | null }>(
      `SELECT series, ts, v, s, b, d, p FROM telemetry
       UNION ALL
       SELECT NULL, ts, NULL, NULL, NULL, NULL, p FROM telemetry_recent`,
    )
  ).rows;
  const out: PointRow[] = [];
  const add = (series: number, p: Points) => {
    for (let i = 0; i < p.ts.length; i++) out.push(pointRow(series, p.ts[i] as number, p.values[i] as PointValue));
  };
  for (const r of rows) {
    if (r.series === null) {
      // A row of telemetry_recent: sections of several series of one device.
      const sections = new Map<number, Points>();
      eachSection(r.p as Buffer, (series) => pointsOf(sections, series));
      for (const [series, p] of sections) add(series, p);
    } else if (r.p !== null) {
      const p: Points = { ts: [], values: [] };
      eachSection(r.p, () => p);
      add(Number(r.series), p);
    } else out.push({ series: Number(r.series), ts: Number(r.ts), v: r.v, s: r.s, b: r.b, d: r.d });
  }
  return out;
}
