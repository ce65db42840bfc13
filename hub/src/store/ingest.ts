// Applying one group-commit batch of device frames (TELEMETRY, EVENT, REPORTED) in
// one transaction, in the writer thread. The gateway has already validated every
// frame and passes the raw bytes (cheaper between threads than decoded objects):
// TELEMETRY goes into the log as it is, EVENT and REPORTED are decoded again here.

import { DEFAULT_LIMITS, decode, MessageType } from '@halyard/firmware-protocol';
import { dataToJson } from '../data-json.js';
import type { Db } from './db.js';
import { applyUpdateStatus, type UpdateStatusOutcome } from './device-updates.js';
import { setSeq } from './devices.js';
import { insertEvent } from './events.js';
import type { TelemetryWriter } from './telemetry/log-compactor.js';
import { applyReported, type ReportedOutcome } from './twins.js';

/** Fields per frame in IngestBatch.index. */
export const INDEX_STRIDE = 6;

export interface IngestBatch {
  id: number;
  /** The frames' bytes, back to back. */
  frames: Uint8Array;
  /** Per frame: device rowid, seq, receive time (ms), offset, length, message type. */
  index: Float64Array;
  maxFrame: number;
}

export interface IngestResult {
  id: number;
  /** The telemetry log generation this batch's points went to. */
  gen: number;
  /** Highest sequence number now durable, per device rowid. */
  seqs: [number, number][];
  /** Stored EVENT rows, in frame order. */
  events: { device: number; seq: number; id: number }[];
  /** Twin reports applied or refused. */
  reported: ReportedOutcome[];
  /** UPDATE_STATUS messages that changed an update (SPEC.md §12.5). */
  updates: UpdateStatusOutcome[];
  /** TELEMETRY frames logged. */
  frames: number;
  /** Frames that failed to decode here although the gateway accepted them (a bug; logged). */
  skipped: number;
}

/** `deleted`: devices deleted meanwhile; their frames still in flight are dropped, not stored. */
export function applyBatch(db: Db, telemetry: TelemetryWriter, batch: IngestBatch, deleted: ReadonlySet<number>): IngestResult {
  const result: IngestResult = {
    id: batch.id,
    gen: telemetry.generations.current,
    seqs: [],
    events: [],
    reported: [],
    updates: [],
    frames: 0,
    skipped: 0,
  };
  const limits = { ...DEFAULT_LIMITS, maxFrame: batch.maxFrame };
  const seqs = new Map<number, number>();
  const { index, frames } = batch;
  db.transaction(() => {
    for (let i = 0; i < index.length; i += INDEX_STRIDE) {
      const device = index[i] as number;
      const seq = index[i + 1] as number;
      const now = index[i + 2] as number;
      const offset = index[i + 3] as number;
      const bytes = frames.subarray(offset, offset + (index[i + 4] as number));
      if (deleted.size > 0 && deleted.has(device)) continue;
      if (seq > (seqs.get(device) ?? 0)) seqs.set(device, seq);
      if (index[i + 5] === MessageType.Telemetry) {
        telemetry.appendFrame(device, now, bytes);
        continue;
      }
      const r = decode(bytes, { now, accept: 'uplink', limits });
      if (!r.ok) {
        result.skipped++;
        continue;
      }
      const m = r.message;
      if (m.type === MessageType.Event) {
        const id = insertEvent(db, {
          device,
          name: m.name,
          level: m.level ?? 1,
          data: m.data === undefined ? null : dataToJson(m.data),
          time: m.time,
          receivedAt: now,
        });
        result.events.push({ device, seq, id });
      } else if (m.type === MessageType.Reported) {
        result.reported.push(applyReported(db, device, m.patch, now));
      } else if (m.type === MessageType.UpdateStatus) {
        const u = applyUpdateStatus(db, device, seq, m, now);
        if (u !== undefined) result.updates.push(u);
      }
    }
    result.frames = telemetry.flushAppends();
    for (const [device, seq] of seqs) setSeq(db, device, seq);
  })();
  result.seqs = [...seqs];
  return result;
}
