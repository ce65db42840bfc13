// Telemetry queries: raw points in a range, time buckets with aggregates, and the
// latest value of each metric.

import { z } from 'zod';
import type { HubContext } from '../../context.js';
import { HubError, HubErrorCode } from '../../errors.js';
import type { DeviceEntry } from '../../fleet.js';
import type { PointValue, SeriesRef } from '../../store/store.js';
import { AGGREGATES, type Aggregate, type Bucket } from '../../telemetry/buckets.js';
import { decodeCursor, encodeCursor, MAX_CURSOR_LENGTH, MAX_PARTIAL, type RawCursor } from '../../telemetry/raw-cursor.js';
import type { RawPosition } from '../../telemetry/raw-order.js';
import { MAX_RAW_RANGE_MS } from '../../telemetry/service.js';
import type { Routes } from '../route.js';
import { duration, idParams, limit, time } from '../schemas.js';
import { deviceEntry } from './devices.js';

/** A point value in JSON: numbers as v, text as vs, booleans as vb, bytes as vd (base64). */
export function pointJson(t: number, v: PointValue): Record<string, unknown> {
  if (typeof v === 'number') return { t, v };
  if (typeof v === 'string') return { t, vs: v };
  if (typeof v === 'boolean') return { t, vb: v };
  return { t, vd: Buffer.from(v).toString('base64') };
}

function jsonValue(v: PointValue | null | undefined): unknown {
  if (v instanceof Uint8Array) return { $base64: Buffer.from(v).toString('base64') };
  return v ?? null;
}

/** Most buckets one query may ask for per metric ((to - from) / bucket). */
const MAX_BUCKETS = 100_000;
/**
 * Most buckets one answer may hold across the device's metrics (empty ones are left
 * out): the console's charts ask for about 400 per metric of a device with up to
 * 1,000 metrics. Counted per metric only, one viewer's request on a device of 1,000
 * metrics held 3M buckets: a 223 MB answer, 6 s of the event loop, 1 GB of heap.
 */
export const MAX_ANSWER_BUCKETS = 500_000;
/**
 * A bucketed query whose answer may hold more than this many buckets is heavy: at
 * most HEAVY_PER_USER of them run at once per user and HEAVY_PER_HUB per hub (429
 * past it). Measured with the hub in its own process (2 shared vCPUs), answers of
 * 490,000 buckets side by side: a device's ACK p99 about 150 ms with four, 0.7-0.85 s
 * with eight; /healthz's slowest 75 ms with four, 0.38 s with eight (README.md § Telemetry).
 */
export const HEAVY_QUERY_BUCKETS = 50_000;
export const HEAVY_PER_USER = 2;
export const HEAVY_PER_HUB = 4;
/** Longest a bucketed query computes before it lets other work in (ms). */
const QUERY_TURN_MS = 10;
/**
 * A JSON answer written a few series at a time, each part when the socket has
 * taken the last and after a turn of the event loop: one JSON.stringify of a
 * 490,000-bucket answer (~40 MB) held the event loop for about half a second.
 */
function jsonResponse<T>(head: string, items: readonly T[], itemJson: (item: T) => string, tail: string): Response {
  const encoder = new TextEncoder();
  let i = 0;
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (i > items.length) {
          controller.close();
          return;
        }
        // A socket that takes each part at once asks for the next from a nextTick
        // (its 'drain' after a write done in place), which never leaves the event
        // loop: a 490,000-bucket answer was written in runs of 200 ms (CPU profile).
        if (i > 0) await new Promise<void>((resolve) => setImmediate(resolve));
        let text = i === 0 ? head : '';
        const start = Date.now();
        while (i < items.length && Date.now() - start < QUERY_TURN_MS && text.length < 1 << 20) {
          text += (i === 0 ? '' : ',') + itemJson(items[i] as T);
          i++;
        }
        if (i === items.length) {
          text += tail;
          i++;
        }
        controller.enqueue(encoder.encode(text));
      },
    },
    { highWaterMark: 1 },
  );
  return new Response(body, { headers: { 'content-type': 'application/json' } });
}

/** Latest values after which a fleet-wide page ends (plus at most one device's worth). */
const LATEST_PAGE_VALUES = 10_000;

interface RawSeriesJson {
  name: string;
  unit: string | null;
  points: Record<string, unknown>[];
  truncated: boolean;
}

/**
 * Most raw points one page holds across metrics: once it holds them, the metrics
 * after wait for the next page. Bounded per metric only (`limit`), a device of 1,000
 * metrics answered up to 100M points in one page.
 */
export const MAX_PAGE_POINTS = 100_000;

/**
 * About the most bytes of points one page holds (pointBytes): text and data points
 * may be 64 KiB each, and 30,000 of them made one answer of 450 MB that held the
 * event loop for 13 s. A page ends there, at least one point in, and `next` goes on.
 */
export const MAX_PAGE_BYTES = 8 * 1024 * 1024;

/**
 * One page of a raw query over the device's series `refs` (in name order): each
 * metric the cursor has not finished, up to `limit` points and MAX_PAGE_POINTS
 * (and MAX_PAGE_BYTES) in all; a page starts no new metric once MAX_PARTIAL are in part
 * (raw-cursor.ts), and says where the next one resumes.
 */
async function rawPage(
  ctx: HubContext,
  device: number,
  refs: readonly SeriesRef[],
  from: number,
  to: number,
  limit: number,
  cursor: RawCursor | undefined,
): Promise<{ series: RawSeriesJson[]; partial: Map<string, RawPosition>; restAfter: string | undefined }> {
  const series: RawSeriesJson[] = [];
  const partial = new Map<string, RawPosition>();
  // Page one: every metric is still to start ('' sorts before every name).
  const freshAfter = cursor === undefined ? '' : cursor.restAfter;
  let oldLeft = cursor?.partial.size ?? 0;
  let restAfter: string | undefined;
  let room = MAX_PAGE_POINTS;
  let bytesRoom = MAX_PAGE_BYTES;
  for (let i = 0; i < refs.length; i++) {
    const s = refs[i] as SeriesRef;
    const after = cursor?.partial.get(s.name);
    if (after === undefined && (freshAfter === undefined || s.name <= freshAfter)) continue;
    if (room <= 0 || bytesRoom <= 0) {
      // The page is full: this metric and those after it wait, where they were.
      restAfter = after !== undefined ? freshAfter : i === 0 ? '' : (refs[i - 1] as SeriesRef).name;
      for (const [name, p] of cursor?.partial ?? []) if (name >= s.name) partial.set(name, p);
      break;
    }
    if (after !== undefined) oldLeft--;
    else if (partial.size + oldLeft >= MAX_PARTIAL) {
      restAfter = i === 0 ? '' : (refs[i - 1] as SeriesRef).name;
      // Metrics in part that sort after this one are carried over unread.
      for (const [name, p] of cursor?.partial ?? []) if (name > s.name) partial.set(name, p);
      break;
    }
    const r = await ctx.telemetry.rawPage(device, s, from, to, Math.min(limit, room), after, bytesRoom);
    room -= r.points.ts.length;
    bytesRoom -= r.bytes;
    if (r.next !== undefined) partial.set(s.name, r.next);
    series.push({
      name: s.name,
      unit: s.unit,
      points: r.points.ts.map((t, j) => pointJson(t, r.points.values[j] as PointValue)),
      truncated: r.next !== undefined,
    });
  }
  return { series, partial, restAfter };
}

export function telemetryRoutes(routes: Routes, ctx: HubContext): void {
  /** Heavy bucketed queries running, in all and per user. */
  let heavy = 0;
  const heavyBy = new Map<string, number>();

  routes.add({
    method: 'get',
    path: '/devices/:id/telemetry',
    summary: 'Telemetry in a time range: raw points, or buckets of `bucket` width with aggregates',
    tag: 'telemetry',
    role: 'viewer',
    params: idParams,
    query: z.object({
      name: z.string().max(4096).optional().describe('metric names, comma-separated; all when absent'),
      from: time.optional().describe('start, ms or ISO 8601; default: an hour before `to`'),
      to: time.optional().describe('end, ms or ISO 8601; default: now'),
      bucket: duration
        .optional()
        .describe(
          'bucket width, e.g. 1m; raw points when absent. Multiples of 1m or 1h are answered from rollups where whole rollup buckets fit, also beyond --retention',
        ),
      agg: z
        .string()
        .max(64)
        .optional()
        .describe(`aggregates per bucket, comma-separated from ${AGGREGATES.join(', ')}; all by default`),
      limit: limit(100_000, 10_000).describe('most raw points per metric in one page (and 100,000 across metrics; `next` continues)'),
      cursor: z
        .string()
        .max(MAX_CURSOR_LENGTH)
        .optional()
        .describe('continue a raw query: the `next` of the previous page (which fixes name, from and to)'),
    }),
    response: z.object({
      device: z.string(),
      from: z.number(),
      to: z.number(),
      bucket: z.number().nullable(),
      series: z.array(
        z.object({
          name: z.string(),
          unit: z.string().nullable(),
          points: z.array(z.record(z.string(), z.unknown())),
          truncated: z.boolean(),
        }),
      ),
      next: z.string().nullable().describe('raw queries: a cursor for the rest, null when this page ends the range'),
    }),
    handler: async ({ c, params, query, caller }) => {
      const e = deviceEntry(ctx, params.id);
      const cursor = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
      if (query.cursor !== undefined) {
        if (cursor === undefined || cursor.device !== e.record.id)
          throw new HubError(HubErrorCode.Validation, "cursor: not a cursor of this device's telemetry", { field: 'cursor' });
        if (query.bucket !== undefined)
          throw new HubError(HubErrorCode.Validation, 'cursor: raw queries only, without bucket', { field: 'cursor' });
      }
      const to = cursor?.to ?? query.to ?? Date.now();
      const from = cursor?.from ?? query.from ?? to - 3_600_000;
      if (from > to) throw new HubError(HubErrorCode.Validation, 'from must not be after to', { field: 'from' });
      if (query.bucket === undefined && to - from > MAX_RAW_RANGE_MS)
        throw new HubError(HubErrorCode.Validation, 'raw queries span at most 100 years; narrow from and to, or use bucket', {
          field: 'from',
        });
      const names =
        cursor !== undefined
          ? cursor.names
          : query.name
              ?.split(',')
              .map((n) => n.trim())
              .filter((n) => n.length > 0);
      const aggs = (query.agg?.split(',').map((a) => a.trim()) ?? [...AGGREGATES]) as Aggregate[];
      const unknown = aggs.find((a) => !AGGREGATES.includes(a));
      if (unknown !== undefined) throw new HubError(HubErrorCode.Validation, `agg: unknown aggregate "${unknown}"`, { field: 'agg' });
      if (query.bucket !== undefined) {
        if (query.bucket <= 0) throw new HubError(HubErrorCode.Validation, 'bucket must be positive', { field: 'bucket' });
        if ((to - from) / query.bucket > MAX_BUCKETS)
          throw new HubError(HubErrorCode.Validation, `at most ${MAX_BUCKETS} buckets per query; widen the bucket`, { field: 'bucket' });
      }
      const device = e.record.rowid;
      const refs = await ctx.telemetry.series(device, names);
      if (query.bucket === undefined) {
        const page = await rawPage(ctx, device, refs, from, to, query.limit, cursor);
        const next =
          page.partial.size === 0 && page.restAfter === undefined
            ? null
            : encodeCursor({ device: e.record.id, from, to, names, partial: page.partial, restAfter: page.restAfter });
        return c.json({ device: e.record.id, from, to, bucket: null, series: page.series, next });
      }
      // The answer's size is bounded before anything is read: each metric holds at
      // most the buckets its range spans, empty or not. Counted as they were
      // computed, a refused query had read up to 600,000 buckets first (1.5 s of
      // the event loop); bounded this way, whether a query is answered does not
      // depend on how full its range happens to be.
      const spanned = Math.floor(to / query.bucket) - Math.floor(from / query.bucket) + 1;
      if (spanned * refs.length > MAX_ANSWER_BUCKETS) {
        ctx.log.info(
          { device: e.record.id, metrics: refs.length, buckets: spanned, bucket: query.bucket, from, to, limit: MAX_ANSWER_BUCKETS },
          'telemetry query refused: its answer would hold too many buckets',
        );
        throw new HubError(
          HubErrorCode.Validation,
          `the answer could hold ${spanned} buckets for each of ${refs.length} metrics, more than ${MAX_ANSWER_BUCKETS} in all; name fewer (name=) or widen the bucket`,
          { field: 'bucket' },
        );
      }
      const user = caller?.username ?? '';
      const isHeavy = spanned * refs.length > HEAVY_QUERY_BUCKETS;
      if (isHeavy) {
        const mine = heavyBy.get(user) ?? 0;
        if (mine >= HEAVY_PER_USER || heavy >= HEAVY_PER_HUB) {
          const why = mine >= HEAVY_PER_USER ? `${HEAVY_PER_USER} per user` : `${HEAVY_PER_HUB} on this hub`;
          ctx.log.warn({ device: e.record.id, user, running: heavy, mine }, `telemetry query refused: at most ${why} of its size at once`);
          throw new HubError(
            HubErrorCode.RateLimited,
            `at most ${why} run at once of queries whose answer may hold over ${HEAVY_QUERY_BUCKETS} buckets; retry when one ends, or ask for fewer buckets`,
            { retryAfter: 2 },
          );
        }
        heavy++;
        heavyBy.set(user, mine + 1);
      }
      const read: { s: SeriesRef; buckets: Bucket[] }[] = [];
      try {
        let turn = Date.now();
        for (const s of refs) {
          // Metric by metric, other work gets in every QUERY_TURN_MS: read in one go, an
          // answer of 490,000 buckets held the event loop ~2 s (README.md § Telemetry).
          if (Date.now() - turn >= QUERY_TURN_MS) {
            await new Promise<void>((resolve) => setImmediate(resolve));
            turn = Date.now();
          }
          read.push({ s, buckets: await ctx.telemetry.buckets(device, s, from, to, query.bucket) });
        }
      } finally {
        if (isHeavy) {
          heavy--;
          const left = (heavyBy.get(user) ?? 1) - 1;
          if (left === 0) heavyBy.delete(user);
          else heavyBy.set(user, left);
        }
      }
      const seriesJson = ({ s, buckets }: { s: SeriesRef; buckets: Bucket[] }) =>
        JSON.stringify({
          name: s.name,
          unit: s.unit,
          truncated: false,
          points: buckets.map((b) => {
            const out: Record<string, unknown> = { t: b.t };
            for (const a of aggs) out[a] = a === 'last' ? jsonValue(b.last) : a === 'count' ? b.count : b[a];
            return out;
          }),
        });
      const head = JSON.stringify({ device: e.record.id, from, to, bucket: query.bucket });
      return jsonResponse(`${head.slice(0, -1)},"series":[`, read, seriesJson, '],"next":null}');
    },
  });

  routes.add({
    method: 'get',
    path: '/telemetry/latest',
    summary:
      'The newest value of each metric of many devices: the named ones (up to 1,000), or all by id; a page ends after `limit` devices or about 10,000 values, and `next` continues it',
    tag: 'telemetry',
    role: 'viewer',
    query: z.object({
      devices: z.string().max(70_000).optional().describe('device ids, comma-separated'),
      after: z.string().max(64).optional().describe('continue after this device id (the `next` of the previous page)'),
      limit: limit(1_000, 1_000).describe('most devices in one page'),
    }),
    response: z.object({
      devices: z.record(z.string(), z.array(z.record(z.string(), z.unknown()))),
      next: z.string().nullable(),
    }),
    handler: async ({ c, query }) => {
      let entries: DeviceEntry[];
      if (query.devices !== undefined) {
        const ids = query.devices.split(',').filter((s) => s.length > 0);
        if (ids.length > 1_000) throw new HubError(HubErrorCode.Validation, 'at most 1,000 devices per query', { field: 'devices' });
        entries = ids.map((id) => deviceEntry(ctx, id));
        if (query.after !== undefined) entries = entries.slice(ids.indexOf(query.after) + 1);
      } else {
        // One more than a page: whether a next page exists.
        entries = ctx.fleet.page(query.after, query.limit + 1);
      }
      // Bounded work per request: each device holds at most --max-series-per-device
      // values, and a page stops once it holds LATEST_PAGE_VALUES.
      const page = entries.slice(0, query.limit);
      const answers = await ctx.telemetry.latestPage(
        page.map((e) => e.record.rowid),
        LATEST_PAGE_VALUES,
      );
      const devices: Record<string, Record<string, unknown>[]> = {};
      answers.forEach((latest, i) => {
        devices[(page[i] as DeviceEntry).record.id] = latest.map((p) => ({ name: p.name, unit: p.unit, ...pointJson(p.time, p.value) }));
      });
      const next = answers.length < entries.length && answers.length > 0 ? (page[answers.length - 1] as DeviceEntry).record.id : null;
      return c.json({ devices, next });
    },
  });

  routes.add({
    method: 'get',
    path: '/devices/:id/telemetry/latest',
    summary: 'The newest value of each metric',
    tag: 'telemetry',
    role: 'viewer',
    params: idParams,
    response: z.object({ device: z.string(), metrics: z.array(z.record(z.string(), z.unknown())) }),
    handler: async ({ c, params }) => {
      const e = deviceEntry(ctx, params.id);
      const metrics = (await ctx.telemetry.latest(e.record.rowid)).map((p) => ({
        name: p.name,
        unit: p.unit,
        ...pointJson(p.time, p.value),
      }));
      return c.json({ device: e.record.id, metrics });
    },
  });
}
