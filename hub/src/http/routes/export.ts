// Exports: telemetry of one device or of a selection, events, the audit log and the
// device list, streamed as CSV or NDJSON (export/stream.ts: constant memory,
// backpressure, stop on disconnect). README.md § Data export and retention.

import { ALARM_SEVERITIES, ALARM_STATES, type AlarmInfo, type DeviceInfo, type EventInfo } from '@halyard/firmware-protocol';
import { z } from 'zod';
import type { Caller } from '../../auth/sessions.js';
import type { HubContext } from '../../context.js';
import { HubError, HubErrorCode } from '../../errors.js';
import { EXPORT_FORMATS, type ExportDone, type ExportTable, exportResponse } from '../../export/stream.js';
import { bucketPages, bucketTable, EXPORT_PAGE, pointPages, pointTable, type TelemetryExportQuery } from '../../export/telemetry.js';
import { compareIds } from '../../fleet.js';
import type { AlarmRecord, AuditRecord } from '../../store/store.js';
import { AGGREGATES, type Aggregate } from '../../telemetry/buckets.js';
import { MAX_RAW_RANGE_MS } from '../../telemetry/service.js';
import { shownAuditDetail } from '../../webhooks/shown-url.js';
import type { Routes } from '../route.js';
import { deviceId, duration, idParams, time, username } from '../schemas.js';
import { deviceEntry, deviceMatches } from './devices.js';

/** Exports streaming at once on this hub; more wait for none, they are refused (429). */
const MAX_CONCURRENT_EXPORTS = 8;
/**
 * Exports streaming at once for one user: a client that never reads holds its
 * slot until the stall time (export/stream.ts), and one user with 8 such requests
 * (8 HEAD requests do it: their bodies are never read) shut every other user out.
 */
export const MAX_EXPORTS_PER_USER = 2;
/**
 * Events per page of an events export. An event's data may be as large as a device
 * frame (64 KiB by default): 10,000 of them made one page of 640 MB, and one export
 * of 135 MB took the hub from 475 MB to 1.3 GB. 500 hold 32 MB at most.
 */
const EVENT_EXPORT_PAGE = 500;

/**
 * Buckets per metric one export may span: the range is read EXPORT_PAGE buckets a
 * window, empty windows included, so ?bucket=1ms&from=0&to=9007199254740991 was
 * 9e11 reads that never ended (a core held for as long as the client stayed).
 */
const MAX_EXPORT_BUCKETS = 10_000_000;
/** Device ids one fleet-wide export may name. */
const MAX_NAMED_DEVICES = 10_000;

const STREAMED = {
  contentTypes: ['text/csv', 'application/x-ndjson'],
  description: 'CSV (RFC 4180, a header row; text that a spreadsheet would read as a formula starts with an apostrophe) or NDJSON',
};

const format = z.enum(EXPORT_FORMATS).default('csv').describe('csv (a header row) or ndjson (one JSON object a line)');

const telemetryQuery = {
  format,
  name: z.string().max(4096).optional().describe('metric names, comma-separated; all when absent'),
  from: time.optional().describe('start, ms or ISO 8601; default: an hour before `to`'),
  to: time.optional().describe('end, ms or ISO 8601; default: now'),
  bucket: duration.optional().describe('bucket width, e.g. 1m; raw points when absent'),
  agg: z
    .string()
    .max(64)
    .optional()
    .describe(`aggregates per bucket, comma-separated from ${AGGREGATES.join(', ')}; all by default`),
};

const telemetryQuerySchema = z.object(telemetryQuery);
type TelemetryQueryInput = z.output<typeof telemetryQuerySchema>;

function commaList(v: string | undefined): string[] | undefined {
  return v
    ?.split(',')
    .map((n) => n.trim())
    .filter((n) => n.length > 0);
}

export function exportRoutes(routes: Routes, ctx: HubContext): void {
  let running = 0;
  const runningBy = new Map<string, number>();

  /** Streams `pages` after taking one of the export slots, which `done` gives back. */
  function stream<R>(
    caller: Caller | undefined,
    fmt: (typeof EXPORT_FORMATS)[number],
    filename: string,
    table: ExportTable<R>,
    pages: AsyncIterable<R[]>,
  ): Response {
    const user = caller?.username ?? '';
    const mine = runningBy.get(user) ?? 0;
    if (mine >= MAX_EXPORTS_PER_USER) {
      ctx.log.warn({ filename, user }, 'export refused: too many at once for one user');
      throw new HubError(HubErrorCode.RateLimited, `at most ${MAX_EXPORTS_PER_USER} exports at once per user; retry when one ends`, {
        retryAfter: 5,
      });
    }
    if (running >= MAX_CONCURRENT_EXPORTS) {
      ctx.log.warn({ filename, running }, 'export refused: too many at once');
      throw new HubError(HubErrorCode.RateLimited, `at most ${MAX_CONCURRENT_EXPORTS} exports at once; retry when one ends`, {
        retryAfter: 5,
      });
    }
    running++;
    runningBy.set(user, mine + 1);
    const started = Date.now();
    return exportResponse(fmt, filename, table, pages, ctx.log, (d: ExportDone) => {
      running--;
      const left = (runningBy.get(user) ?? 1) - 1;
      if (left === 0) runningBy.delete(user);
      else runningBy.set(user, left);
      ctx.log.info({ filename, rows: d.rows, bytes: d.bytes, aborted: d.aborted, ms: Date.now() - started }, 'export ended');
    });
  }

  function telemetryExport(
    caller: Caller | undefined,
    devices: readonly { id: string; rowid: number }[],
    query: TelemetryQueryInput,
    filename: string,
  ): Response {
    const to = query.to ?? Date.now();
    const from = query.from ?? to - 3_600_000;
    if (from > to) throw new HubError(HubErrorCode.Validation, 'from must not be after to', { field: 'from' });
    if (query.bucket === undefined && to - from > MAX_RAW_RANGE_MS)
      throw new HubError(HubErrorCode.Validation, 'raw exports span at most 100 years; narrow from and to, or use bucket', {
        field: 'from',
      });
    const aggs = (commaList(query.agg) ?? [...AGGREGATES]) as Aggregate[];
    const unknown = aggs.find((a) => !AGGREGATES.includes(a));
    if (unknown !== undefined) throw new HubError(HubErrorCode.Validation, `agg: unknown aggregate "${unknown}"`, { field: 'agg' });
    if (query.bucket !== undefined && query.bucket <= 0)
      throw new HubError(HubErrorCode.Validation, 'bucket must be positive', { field: 'bucket' });
    if (query.bucket !== undefined && (to - from) / query.bucket > MAX_EXPORT_BUCKETS)
      throw new HubError(HubErrorCode.Validation, `at most ${MAX_EXPORT_BUCKETS} buckets per metric; widen the bucket`, {
        field: 'bucket',
      });
    const q: TelemetryExportQuery = { devices, names: commaList(query.name), from, to, bucket: query.bucket };
    if (query.bucket === undefined) return stream(caller, query.format, filename, pointTable(), pointPages(ctx.telemetry, q));
    return stream(caller, query.format, filename, bucketTable(aggs), bucketPages(ctx.telemetry, { ...q, bucket: query.bucket }));
  }

  routes.add({
    method: 'get',
    path: '/devices/:id/telemetry/export',
    summary: "A device's telemetry in a range, raw or in buckets, streamed as CSV or NDJSON",
    tag: 'export',
    role: 'viewer',
    params: idParams,
    query: telemetryQuerySchema,
    rawResponse: STREAMED,
    handler: ({ params, query, caller }) => {
      const e = deviceEntry(ctx, params.id);
      return telemetryExport(caller, [{ id: e.record.id, rowid: e.record.rowid }], query, `${e.record.id}-telemetry`);
    },
  });

  routes.add({
    method: 'get',
    path: '/export/telemetry',
    summary: 'Telemetry of a selection of devices (ids, tag, model; all when none), device by device in id order',
    tag: 'export',
    role: 'viewer',
    query: z.object({
      ...telemetryQuery,
      devices: z.string().max(700_000).optional().describe('device ids, comma-separated'),
      tag: z.string().max(64).optional(),
      model: z.string().max(128).optional(),
    }),
    rawResponse: STREAMED,
    handler: ({ query, caller }) => {
      const ids = commaList(query.devices);
      if (ids !== undefined && ids.length > MAX_NAMED_DEVICES)
        throw new HubError(HubErrorCode.Validation, `at most ${MAX_NAMED_DEVICES} device ids; select by tag or model`, {
          field: 'devices',
        });
      // The whole fleet in the order the fleet keeps (sorted once per change, not per
      // request: 100,000 random ids took 25-40 ms of the event loop to sort); named ids,
      // at most MAX_NAMED_DEVICES, sorted here.
      const entries =
        ids === undefined
          ? ctx.fleet.sortedIds().flatMap((id) => ctx.fleet.get(id) ?? [])
          : ids.map((id) => deviceEntry(ctx, id)).sort((a, b) => compareIds(a.record.id, b.record.id));
      const selected = entries
        .filter((e) => deviceMatches(ctx.fleet.info(e), { tag: query.tag, model: query.model }))
        .map((e) => ({ id: e.record.id, rowid: e.record.rowid }));
      return telemetryExport(caller, selected, query, 'telemetry');
    },
  });

  routes.add({
    method: 'get',
    path: '/export/events',
    summary: 'Events (of one device or all), newest first, received in [from, to]',
    tag: 'export',
    role: 'viewer',
    query: z.object({ format, device: deviceId.optional(), from: time.optional(), to: time.optional() }),
    rawResponse: STREAMED,
    handler: ({ query, caller }) => {
      const device = query.device === undefined ? undefined : deviceEntry(ctx, query.device).record.rowid;
      async function* pages(): AsyncGenerator<EventInfo[]> {
        let beforeId: number | undefined;
        for (;;) {
          const page = await ctx.store.listEvents({
            ...(device === undefined ? {} : { device }),
            ...(query.from === undefined ? {} : { since: query.from }),
            ...(beforeId === undefined ? {} : { beforeId }),
            limit: EVENT_EXPORT_PAGE,
          });
          yield query.to === undefined ? page : page.filter((e) => e.receivedAt <= (query.to as number));
          if (page.length < EVENT_EXPORT_PAGE) return;
          beforeId = (page[page.length - 1] as EventInfo).id;
        }
      }
      const table: ExportTable<EventInfo> = {
        columns: ['id', 'device', 'name', 'level', 'time', 'received', 'data'],
        csv: (e) => [
          e.id,
          e.device,
          e.name,
          e.level,
          new Date(e.time).toISOString(),
          new Date(e.receivedAt).toISOString(),
          jsonText(e.data),
        ],
        json: (e) => ({ ...e }),
      };
      return stream(caller, query.format, query.device === undefined ? 'events' : `${query.device}-events`, table, pages());
    },
  });

  routes.add({
    method: 'get',
    path: '/export/alarms',
    summary: 'Alarms (of one device or all, optionally one state and severity) with their raise and clear values, newest first',
    tag: 'export',
    role: 'viewer',
    query: z.object({
      format,
      device: deviceId.optional(),
      state: z.enum(ALARM_STATES).optional(),
      severity: z.enum(ALARM_SEVERITIES).optional(),
      from: time.optional().describe('raised at or after'),
    }),
    rawResponse: STREAMED,
    handler: ({ query, caller }) => {
      const device = query.device === undefined ? undefined : deviceEntry(ctx, query.device).record.rowid;
      async function* pages(): AsyncGenerator<AlarmInfo[]> {
        let beforeRowid: number | undefined;
        for (;;) {
          const page = await ctx.store.listAlarms({
            ...(device === undefined ? {} : { device }),
            ...(query.state === undefined ? {} : { states: [query.state] }),
            ...(query.severity === undefined ? {} : { severities: [query.severity] }),
            ...(query.from === undefined ? {} : { since: query.from }),
            ...(beforeRowid === undefined ? {} : { beforeRowid }),
            limit: EXPORT_PAGE,
          });
          yield page.map((a) => a.info);
          if (page.length < EXPORT_PAGE) return;
          beforeRowid = (page[page.length - 1] as AlarmRecord).rowid;
        }
      }
      const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
      const table: ExportTable<AlarmInfo> = {
        columns: [
          'id',
          'device',
          'rule',
          'rule_name',
          'severity',
          'state',
          'kind',
          'message',
          'raised_at',
          'raised_value',
          'acknowledged_at',
          'acknowledged_by',
          'note',
          'cleared_at',
          'cleared_by',
          'cleared_value',
          'flaps',
        ],
        csv: (a) => [
          a.id,
          a.device,
          a.rule,
          a.ruleName,
          a.severity,
          a.state,
          a.kind,
          a.message,
          iso(a.raisedAt),
          jsonText(a.raisedValue),
          iso(a.acknowledgedAt),
          a.acknowledgedBy,
          a.note,
          iso(a.clearedAt),
          a.clearedBy,
          jsonText(a.clearedValue),
          a.flaps,
        ],
        json: (a) => ({ ...a }),
      };
      return stream(caller, query.format, query.device === undefined ? 'alarms' : `${query.device}-alarms`, table, pages());
    },
  });

  routes.add({
    method: 'get',
    path: '/export/audit',
    summary: 'The audit log, newest first, optionally one actor and [from, to]',
    tag: 'export',
    role: 'admin',
    query: z.object({ format, actor: username.optional(), from: time.optional(), to: time.optional() }),
    rawResponse: STREAMED,
    handler: ({ query, caller }) => {
      const inRange = (a: AuditRecord) => (query.from === undefined || a.at >= query.from) && (query.to === undefined || a.at <= query.to);
      async function* pages(): AsyncGenerator<AuditRecord[]> {
        let beforeId: number | undefined;
        for (;;) {
          const page = await ctx.store.listAudit({
            ...(beforeId === undefined ? {} : { beforeId }),
            ...(query.actor === undefined ? {} : { actor: query.actor }),
            limit: EXPORT_PAGE,
          });
          yield page.filter(inRange).map((a) => ({ ...a, detail: shownAuditDetail(a.action, a.detail) }));
          if (page.length < EXPORT_PAGE) return;
          beforeId = (page[page.length - 1] as AuditRecord).id;
        }
      }
      const table: ExportTable<AuditRecord> = {
        columns: ['id', 'at', 'actor', 'action', 'target', 'detail'],
        csv: (a) => [a.id, new Date(a.at).toISOString(), a.actor, a.action, a.target, jsonText(a.detail)],
        json: (a) => ({ ...a }),
      };
      return stream(caller, query.format, 'audit', table, pages());
    },
  });

  routes.add({
    method: 'get',
    path: '/export/devices',
    summary: 'The device list with the list filters (q, status, tag, model), in id order',
    tag: 'export',
    role: 'viewer',
    query: z.object({
      format,
      q: z.string().max(100).optional(),
      status: z.enum(['online', 'offline', 'revoked']).optional(),
      tag: z.string().max(64).optional(),
      model: z.string().max(128).optional(),
    }),
    rawResponse: STREAMED,
    handler: ({ query, caller }) => {
      // A snapshot in id order that the fleet sorts once per change, not per request.
      const ids = ctx.fleet.sortedIds();
      // The fleet is in memory; the rows are made a page at a time all the same.
      async function* pages(): AsyncGenerator<DeviceInfo[]> {
        for (let i = 0; i < ids.length; i += EXPORT_PAGE) {
          const page: DeviceInfo[] = [];
          for (const id of ids.slice(i, i + EXPORT_PAGE)) {
            const e = ctx.fleet.get(id);
            if (e === undefined) continue;
            const d = ctx.fleet.info(e);
            if (deviceMatches(d, query)) page.push(d);
          }
          yield page;
        }
      }
      const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
      const table: ExportTable<DeviceInfo> = {
        columns: ['id', 'name', 'model', 'firmware', 'tags', 'created', 'revoked', 'online', 'last_seen', 'rtt_ms', 'last_seq'],
        csv: (d) => [
          d.id,
          d.name,
          d.model,
          d.firmware,
          d.tags.join(';'),
          iso(d.createdAt),
          d.revoked,
          d.online,
          iso(d.lastSeen),
          d.rtt,
          d.lastSeq,
        ],
        json: (d) => ({ ...d }),
      };
      return stream(caller, query.format, 'devices', table, pages());
    },
  });
}

/** Structured data in one CSV cell: its JSON text (guarded by csvField like any text). */
function jsonText(v: unknown): string | null {
  return v === null || v === undefined ? null : JSON.stringify(v);
}
