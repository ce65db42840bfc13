// One group-commit batch of device frames (TELEMETRY, EVENT, REPORTED) from many
// devices in one PostgreSQL transaction, the counterpart of ../ingest.ts.
//
// Exactly once by (device, seq): the batch first locks its devices' rows of
// device_seq (in device order, so two hubs' batches cannot deadlock) and reads each
// high-water mark; a frame at or below its device's mark (or below one already
// taken in this batch) is a duplicate, a resend after a lost ACK: not stored again,
// counted, and still acknowledged. The marks rise in the same transaction as the
// data, and the caller reports the batch only after COMMIT returns. A device with
// no devices row was deleted: its frames are dropped.

import { DEFAULT_LIMITS, decode, MessageType } from '@halyard/firmware-protocol';
import { dataToJson } from '../../data-json.js';
import type { IngestResult } from '../ingest.js';
import { framePoints } from '../telemetry/log-compactor.js';
import { applyUpdateStatus } from './device-updates.js';
import { insertEvent } from './events.js';
import type { Client } from './pool.js';
import type { SeriesCache } from './series-cache.js';
import { emptyColumns, insertPoints, pushPoint } from './telemetry-insert.js';
import { applyReported } from './twins.js';

export interface PgFrame {
  device: number;
  seq: number;
  /** Receive time, ms: anchors the frame's relative times. */
  now: number;
  type: number;
  bytes: Uint8Array;
}

export interface PgIngestResult extends IngestResult {
  /** Frames at or below their device's durable sequence number: acknowledged, not stored again. */
  duplicates: number;
  /** Frames of devices deleted meanwhile, dropped. */
  dropped: number;
  /** Series this batch created (to add to the cache once it has committed). */
  newSeries: { device: number; name: string; id: number; unit: string | null }[];
}

/** Applies a batch in `c`'s open transaction; the caller commits. `gen` is always 0: every committed point is readable at once. */
export async function applyBatch(
  c: Client,
  id: number,
  frames: readonly PgFrame[],
  maxFrame: number,
  cache: SeriesCache,
): Promise<PgIngestResult> {
  const result: PgIngestResult = {
    id,
    gen: 0,
    seqs: [],
    events: [],
    reported: [],
    updates: [],
    frames: 0,
    skipped: 0,
    duplicates: 0,
    dropped: 0,
    newSeries: [],
  };
  const devices = [...new Set(frames.map((f) => f.device))].sort((a, b) => a - b);
  if (devices.length === 0) return result;
  // Rows for devices never seen before, then every mark locked, in device order.
  await c.query(
    `INSERT INTO device_seq (device, seq) SELECT rowid, 0 FROM devices WHERE rowid = ANY($1::bigint[]) ORDER BY rowid
     ON CONFLICT (device) DO NOTHING`,
    [devices],
  );
  const marks = new Map<number, number>();
  for (const r of (
    await c.query<{ device: number; seq: number }>(
      'SELECT device, seq FROM device_seq WHERE device = ANY($1::bigint[]) ORDER BY device FOR UPDATE',
      [devices],
    )
  ).rows)
    marks.set(r.device, r.seq);
  const start = new Map(marks);

  const limits = { ...DEFAULT_LIMITS, maxFrame };
  const points: { device: number; name: string; unit: string | null; ts: number; value: Parameters<typeof pushPoint>[3] }[] = [];
  for (const f of frames) {
    const mark = marks.get(f.device);
    if (mark === undefined) {
      result.dropped++;
      continue;
    }
    if (f.seq <= mark) {
      result.duplicates++;
      continue;
    }
    marks.set(f.device, f.seq);
    if (f.type === MessageType.Telemetry) {
      const problem = framePoints(f.bytes, f.now, (name, unit, ts, value) =>
        points.push({ device: f.device, name, unit: unit ?? null, ts, value }),
      );
      if (problem === undefined) result.frames++;
      else result.skipped++;
      continue;
    }
    const r = decode(f.bytes, { now: f.now, accept: 'uplink', limits });
    if (!r.ok) {
      result.skipped++;
      continue;
    }
    const m = r.message;
    if (m.type === MessageType.Event) {
      const eventId = await insertEvent(c, {
        device: f.device,
        name: m.name,
        level: m.level ?? 1,
        data: m.data === undefined ? null : dataToJson(m.data),
        time: m.time,
        receivedAt: f.now,
      });
      result.events.push({ device: f.device, seq: f.seq, id: eventId });
    } else if (m.type === MessageType.Reported) {
      result.reported.push(await applyReported(c, f.device, m.patch, f.now));
    } else if (m.type === MessageType.UpdateStatus) {
      // Firmware updates (SPEC.md §12.5): stored with the sequence number that covers it.
      const u = await applyUpdateStatus(c, f.device, f.seq, m, f.now);
      if (u !== undefined) result.updates.push(u);
    }
  }

  if (points.length > 0) {
    // Series first (new ones, and units that changed), in (device, name) order, then the points.
    const wanted = new Map<string, { device: number; name: string; unit: string | null }>();
    for (const p of points) {
      const known = cache.get(p.device, p.name);
      if (known !== undefined && (p.unit === null || known.unit === p.unit)) continue;
      wanted.set(`${p.device}\u0000${p.name}`, {
        device: p.device,
        name: p.name,
        unit: p.unit ?? wanted.get(`${p.device}\u0000${p.name}`)?.unit ?? null,
      });
    }
    const fresh = new Map<string, { id: number; unit: string | null }>();
    if (wanted.size > 0) {
      const list = [...wanted.values()].sort((a, b) => a.device - b.device || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      const rows = (
        await c.query<{ id: number; device: number; name: string; unit: string | null }>(
          `INSERT INTO series (device, name, unit) SELECT * FROM unnest($1::bigint[], $2::text[], $3::json[])
           ON CONFLICT (device, name) DO UPDATE SET unit = coalesce(excluded.unit, series.unit)
           RETURNING id, device, name, unit`,
          [list.map((s) => s.device), list.map((s) => s.name), list.map((s) => (s.unit === null ? null : JSON.stringify(s.unit)))],
        )
      ).rows;
      for (const r of rows) {
        fresh.set(`${r.device}\u0000${r.name}`, { id: r.id, unit: r.unit });
        result.newSeries.push(r);
      }
    }
    const cols = emptyColumns();
    for (const p of points) {
      const id = fresh.get(`${p.device}\u0000${p.name}`)?.id ?? (cache.get(p.device, p.name)?.id as number);
      pushPoint(cols, id, p.ts, p.value);
    }
    await insertPoints(c, cols);
  }

  const moved = [...marks].filter(([d, s]) => s > (start.get(d) as number));
  if (moved.length > 0) {
    await c.query(
      `UPDATE device_seq SET seq = u.seq FROM unnest($1::bigint[], $2::bigint[]) AS u(device, seq)
       WHERE device_seq.device = u.device AND u.seq > device_seq.seq`,
      [moved.map(([d]) => d), moved.map(([, s]) => s)],
    );
  }
  result.seqs = [...marks];
  return result;
}
