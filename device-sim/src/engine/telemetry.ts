// Turns a profile's readings into one TELEMETRY pack: one sample, or `batch` records
// sampled evenly over the interval since the previous message. Times are relative
// (SPEC.md §5.2: "now", or negative seconds into the past), as a device without a
// synchronised clock sends them; a device with a skewed clock (chaos) stamps absolute
// times from that clock instead, which is what makes the skew visible in the store.

import type { SenmlRecord } from '@halyard/firmware-protocol';
import type { Profile } from '../profiles/profile.js';

export interface PackRequest {
  /** The device's clock now, ms. */
  now: number;
  /** Time since the previous message, ms. */
  intervalMs: number;
  /** Records wanted; 0 for one sample. */
  batch: number;
  /** Records one sample yields (learned from the first sample). */
  perSample: number;
  /** Stamp absolute times from the device's clock instead of relative ones. */
  absolute: boolean;
}

function stamp(record: SenmlRecord, at: number, now: number, absolute: boolean): SenmlRecord {
  if (absolute) return { ...record, t: at / 1_000 };
  if (at === now) return record;
  return { ...record, t: (at - now) / 1_000 };
}

export function buildPack(profile: Profile, req: PackRequest): SenmlRecord[] {
  const { now, absolute } = req;
  if (req.batch <= 0) return profile.sample(now).map((r) => stamp(r, now, now, absolute));
  const samples = Math.max(1, Math.ceil(req.batch / Math.max(1, req.perSample)));
  const step = req.intervalMs / samples;
  const pack: SenmlRecord[] = [];
  for (let i = 0; i < samples && pack.length < req.batch; i++) {
    // Rounded to whole ms so relative times stay short floats on the wire.
    const at = Math.round(now - (samples - 1 - i) * step);
    for (const r of profile.sample(at)) {
      if (pack.length === req.batch) break;
      pack.push(stamp(r, at, now, absolute));
    }
  }
  return pack;
}
