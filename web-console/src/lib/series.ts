// Telemetry for charts: history from the API (raw or bucketed to fit the visible
// range) joined with live points from the console channel, per metric, in time order.
// Pure data shaping; the chart component only draws what this produces.

import type { TelemetryPoint } from '@halyard/firmware-protocol';

export type ValueKind = 'number' | 'bool' | 'text';
export type Latest = { time: number; value: number | string | boolean };

export interface Series {
  name: string;
  unit: string | null;
  kind: ValueKind;
  /** Times, ms since the epoch, ascending. */
  xs: number[];
  /** Values at xs (booleans as 0/1); null where a point has no number (text metrics). */
  ys: (number | null)[];
  /** Each bucket's min and max at xs, for the band around averages (bucketed numbers only). */
  lo?: (number | null)[];
  hi?: (number | null)[];
  latest: Latest | undefined;
}

/** One series as GET /devices/:id/telemetry returns it. */
export interface ApiSeries {
  name: string;
  unit: string | null;
  points: Record<string, unknown>[];
  truncated: boolean;
}

/** Bucket widths the range picker and zoom choose from, ms. */
export const BUCKET_STEPS_MS = [
  1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000, 7_200_000, 21_600_000,
  43_200_000, 86_400_000,
] as const;

/**
 * The bucket for a visible range: the narrowest step that keeps the chart at most
 * `targetPoints` wide; undefined (raw points) when even 1 s buckets would not thin it.
 */
export function pickBucket(rangeMs: number, targetPoints = 400): number | undefined {
  const ideal = rangeMs / targetPoints;
  if (ideal <= 1_000) return undefined;
  return BUCKET_STEPS_MS.find((s) => s >= ideal) ?? BUCKET_STEPS_MS[BUCKET_STEPS_MS.length - 1];
}

/** "5s", "2m", "1h", "1d": the API's duration syntax. */
export function durationParam(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1_000 === 0) return `${ms / 1_000}s`;
  return `${ms}ms`;
}

function pointOf(p: Record<string, unknown>, bucketed: boolean): number | string | boolean | undefined {
  if (bucketed) {
    if (typeof p.avg === 'number') return p.avg;
    const last = p.last;
    return typeof last === 'number' || typeof last === 'string' || typeof last === 'boolean' ? last : undefined;
  }
  if (typeof p.v === 'number') return p.v;
  if (typeof p.vb === 'boolean') return p.vb;
  if (typeof p.vs === 'string') return p.vs;
  return undefined;
}

function kindOf(v: number | string | boolean): ValueKind {
  return typeof v === 'number' ? 'number' : typeof v === 'boolean' ? 'bool' : 'text';
}

function yOf(v: number | string | boolean): number | null {
  return typeof v === 'number' ? v : typeof v === 'boolean' ? (v ? 1 : 0) : null;
}

/** API history as series, skipping byte-string points (they have no chart or number). */
export function fromApi(api: readonly ApiSeries[], bucketed: boolean): Series[] {
  const out: Series[] = [];
  for (const s of api) {
    const series: Series = { name: s.name, unit: s.unit, kind: 'number', xs: [], ys: [], latest: undefined };
    let kind: ValueKind | undefined;
    const lo: (number | null)[] = [];
    const hi: (number | null)[] = [];
    for (const p of s.points) {
      const v = pointOf(p, bucketed);
      if (v === undefined || typeof p.t !== 'number') continue;
      kind ??= kindOf(v);
      series.xs.push(p.t);
      series.ys.push(yOf(v));
      lo.push(typeof p.min === 'number' ? p.min : yOf(v));
      hi.push(typeof p.max === 'number' ? p.max : yOf(v));
      series.latest = { time: p.t, value: v };
    }
    series.kind = kind ?? 'number';
    if (bucketed && series.kind === 'number') {
      series.lo = lo;
      series.hi = hi;
    }
    out.push(series);
  }
  return out;
}

function pointValue(p: TelemetryPoint): number | string | boolean | undefined {
  return p.value ?? p.boolValue ?? p.stringValue;
}

/** Index of the first x >= t (binary search; live points nearly always go at the end). */
function insertionIndex(xs: readonly number[], t: number): number {
  let lo = 0;
  let hi = xs.length;
  if (hi === 0 || (xs[hi - 1] as number) < t) return hi;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((xs[mid] as number) < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Adds live points to their series (creating series for new metrics), in time order,
 * replacing a point at the same time. Returns the names of the series that changed.
 */
export function appendLive(series: Map<string, Series>, points: readonly TelemetryPoint[]): Set<string> {
  const changed = new Set<string>();
  for (const p of points) {
    const v = pointValue(p);
    if (v === undefined) continue;
    let s = series.get(p.name);
    if (s === undefined) {
      s = { name: p.name, unit: p.unit ?? null, kind: kindOf(v), xs: [], ys: [], latest: undefined };
      series.set(p.name, s);
    }
    const i = insertionIndex(s.xs, p.time);
    const y = yOf(v);
    if (s.xs[i] === p.time) {
      s.ys[i] = y;
      if (s.lo && s.hi) s.lo[i] = s.hi[i] = y;
    } else {
      s.xs.splice(i, 0, p.time);
      s.ys.splice(i, 0, y);
      // A live point is its own min and max.
      s.lo?.splice(i, 0, y);
      s.hi?.splice(i, 0, y);
    }
    if (s.latest === undefined || p.time >= s.latest.time) s.latest = { time: p.time, value: v };
    changed.add(p.name);
  }
  return changed;
}

/** Drops points before `from` (the live window moves on). */
export function trimBefore(s: Series, from: number): void {
  const i = insertionIndex(s.xs, from);
  if (i > 0) {
    s.xs.splice(0, i);
    s.ys.splice(0, i);
    s.lo?.splice(0, i);
    s.hi?.splice(0, i);
  }
}

/** Latest values as GET /devices/:id/telemetry/latest returns them. */
export function latestFromApi(metrics: readonly Record<string, unknown>[]): Map<string, { unit: string | null; latest: Latest }> {
  const out = new Map<string, { unit: string | null; latest: Latest }>();
  for (const m of metrics) {
    const v = pointOf(m, false);
    if (typeof m.name !== 'string' || typeof m.t !== 'number' || v === undefined) continue;
    out.set(m.name, { unit: typeof m.unit === 'string' ? m.unit : null, latest: { time: m.t, value: v } });
  }
  return out;
}
