// Telemetry as export rows: raw points of each selected device and metric read
// page by page with the raw cursor order (telemetry/raw-order.ts), or buckets read
// a window of buckets at a time, so an export of any range holds one page.

import type { PointValue, SeriesRef } from '../store/store.js';
import { rollupWidthFor } from '../store/telemetry/rollups.js';
import type { Aggregate, Bucket } from '../telemetry/buckets.js';
import type { TelemetryService } from '../telemetry/service.js';
import { csvField } from './csv.js';
import type { ExportTable } from './stream.js';

/** Points (or buckets) per page of an export. */
export const EXPORT_PAGE = 10_000;
/** About the most bytes of raw points in one page (text and data points may be 64 KiB each). */
const EXPORT_PAGE_BYTES = 8 * 1024 * 1024;

export interface TelemetryExportQuery {
  /** Devices in export order: id and store rowid. */
  devices: readonly { id: string; rowid: number }[];
  /** Metric names; all of each device's when undefined. */
  names: readonly string[] | undefined;
  from: number;
  to: number;
  /** Bucket width (ms); raw points when undefined. */
  bucket: number | undefined;
}

export interface PointRow {
  device: string;
  metric: string;
  unit: string | null;
  t: number;
  value: PointValue;
}

export interface BucketRow {
  device: string;
  metric: string;
  unit: string | null;
  bucket: Bucket;
}

/** A point value as one CSV field: bytes as base64. */
function valueField(v: PointValue): string | number | boolean {
  return v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v;
}

/** A point value in JSON the way the query API writes it (v, vs, vb, vd). */
function valueJson(v: PointValue): Record<string, unknown> {
  if (typeof v === 'number') return { v };
  if (typeof v === 'string') return { vs: v };
  if (typeof v === 'boolean') return { vb: v };
  return { vd: Buffer.from(v).toString('base64') };
}

let isoMinute = Number.NaN;
let isoPrefix = '';
/**
 * A time as ISO 8601 (UTC, ms), the minute's prefix cached: Date#toISOString was
 * a quarter of an export's CPU (export benchmark, README.md § Benchmarks).
 */
export function iso(t: number): string {
  const minute = Math.floor(t / 60_000);
  if (minute !== isoMinute) {
    isoMinute = minute;
    isoPrefix = new Date(minute * 60_000).toISOString().slice(0, 17);
  }
  const rest = t - minute * 60_000;
  const s = Math.floor(rest / 1000);
  const ms = rest - s * 1000;
  return `${isoPrefix}${s < 10 ? '0' : ''}${s}.${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z`;
}

/** Makes point rows' CSV fields; the device, metric and unit fields, the same for a whole series, are escaped once per series. */
function pointTableOf(): ExportTable<PointRow> {
  let device: string | undefined;
  let metric: string | undefined;
  let unit: string | null | undefined;
  let middle = '';
  return {
    columns: ['time', 'ts', 'device', 'metric', 'unit', 'value'],
    csv: (r) => [iso(r.t), r.t, r.device, r.metric, r.unit, valueField(r.value)],
    csvLine: (r) => {
      if (r.device !== device || r.metric !== metric || r.unit !== unit) {
        device = r.device;
        metric = r.metric;
        unit = r.unit;
        middle = `,${csvField(r.device)},${csvField(r.metric)},${csvField(r.unit)},`;
      }
      // ISO times and integers never need quoting; the value goes through csvField.
      return `${iso(r.t)},${r.t}${middle}${typeof r.value === 'number' ? csvField(r.value) : csvField(valueField(r.value))}\r\n`;
    },
    json: (r) => ({ device: r.device, metric: r.metric, unit: r.unit, t: r.t, ...valueJson(r.value) }),
  };
}

/** A table for one export (it keeps a little state between rows). */
export const pointTable = (): ExportTable<PointRow> => pointTableOf();

export function bucketTable(aggs: readonly Aggregate[]): ExportTable<BucketRow> {
  const field = (b: Bucket, a: Aggregate) => (a === 'last' ? (b.last === null ? null : valueField(b.last)) : b[a]);
  return {
    columns: ['time', 'ts', 'device', 'metric', 'unit', ...aggs],
    csv: (r) => [iso(r.bucket.t), r.bucket.t, r.device, r.metric, r.unit, ...aggs.map((a) => field(r.bucket, a))],
    json: (r) => {
      const out: Record<string, unknown> = { device: r.device, metric: r.metric, unit: r.unit, t: r.bucket.t };
      for (const a of aggs) out[a] = a === 'last' && r.bucket.last instanceof Uint8Array ? valueJson(r.bucket.last) : field(r.bucket, a);
      return out;
    },
  };
}

/**
 * The page a device without series yields: an empty page is where the export's
 * stream may let other work in (stream.ts, EXPORT_TURN_MS). Without it a fleet
 * export over devices with no series ran through all of them in one go: 67 ms of
 * the event loop at 3,000 devices, about 2 s at 100,000.
 */
const NOTHING: never[] = [];

/** Raw points, a page at a time: device by device, metric by metric (name order), then (time, value). */
export async function* pointPages(telemetry: TelemetryService, q: TelemetryExportQuery): AsyncGenerator<PointRow[]> {
  for (const d of q.devices) {
    const series = await telemetry.series(d.rowid, q.names);
    if (series.length === 0) yield NOTHING;
    for (const s of series) {
      let after: Awaited<ReturnType<TelemetryService['rawPage']>>['next'];
      do {
        const page = await telemetry.rawPage(d.rowid, s, q.from, q.to, EXPORT_PAGE, after, EXPORT_PAGE_BYTES);
        yield page.points.ts.map((t, i) => ({ device: d.id, metric: s.name, unit: s.unit, t, value: page.points.values[i] as PointValue }));
        after = page.next;
      } while (after !== undefined);
    }
  }
}

/**
 * Buckets aligned to the epoch, EXPORT_PAGE buckets' width of time at a time. After
 * an empty window the next one starts at the bucket of the next raw point, found by
 * a raw page of one point, whose windows widen sixteenfold while they find nothing:
 * a fine bucket over a sparse range was one store read per window (300 metrics in
 * 1 ms buckets over 10,000 s: 300,000 reads, 170 s on PostgreSQL). Not for widths
 * that rollups answer (store/telemetry/rollups.ts): they outlive the raw points, so
 * an empty raw range says nothing about them, and their windows are a week or wider.
 */
export async function* bucketPages(telemetry: TelemetryService, q: TelemetryExportQuery & { bucket: number }): AsyncGenerator<BucketRow[]> {
  const span = q.bucket * EXPORT_PAGE;
  const skipEmpty = rollupWidthFor(q.bucket) === undefined;
  for (const d of q.devices) {
    const series: SeriesRef[] = await telemetry.series(d.rowid, q.names);
    if (series.length === 0) yield NOTHING;
    for (const s of series) {
      // Windows end on bucket boundaries, so each bucket is whole in one window.
      for (let lo = q.from; lo <= q.to; ) {
        const hi = Math.min(q.to, (Math.floor(lo / span) + 1) * span - 1);
        const buckets = await telemetry.buckets(d.rowid, s, lo, hi, q.bucket);
        yield buckets.map((bucket) => ({ device: d.id, metric: s.name, unit: s.unit, bucket }));
        lo = hi + 1;
        if (buckets.length === 0 && skipEmpty && lo <= q.to) {
          const next = (await telemetry.rawPage(d.rowid, s, lo, q.to, 1)).points.ts[0];
          lo = next === undefined ? q.to + 1 : Math.max(lo, Math.floor(next / q.bucket) * q.bucket);
        }
      }
    }
  }
}
