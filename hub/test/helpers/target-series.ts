// The series of README.md § Storage's target: a 1 Hz temperature sensor with 0.1
// resolution, 200,000 points from one device sent 50 records a frame, fed through a
// store's ingest path (both engines' disk-size tests use it).

import assert from 'node:assert/strict';
import { decode, encode, MessageType, type ResolvedRecord } from '@halyard/firmware-protocol';
import type { Store } from '../../src/store/store.js';
import { seededRandom, testSeed } from './random.js';

export interface TargetMeta {
  records: readonly ResolvedRecord[];
}

export const TARGET_POINTS = 200_000;
export const TARGET_BYTES_PER_POINT = 2;
const PER_FRAME = 50;
export const TARGET_T0 = Date.UTC(2026, 5, 1);

/**
 * Feeds the target series through the store's ingest path, as the gateway would:
 * frames of 50 one-second samples with times relative to receipt (a device without a
 * synchronised clock, SPEC.md §5.2), received 50 s apart with up to 300 ms of network
 * jitter; a room temperature drifting with the day plus sensor noise, rounded to 0.1 °C.
 * Resolves once every frame has committed.
 */
export async function ingestTargetSeries(store: Store<TargetMeta>, device: number, seed = testSeed(0x5e5)): Promise<void> {
  const random = seededRandom(seed);
  const frames = TARGET_POINTS / PER_FRAME;
  let committed = 0;
  const done = new Promise<void>((resolve, reject) => {
    store.on('committed', (o) => {
      if (o.error) reject(o.error);
      committed += o.metas.length;
      if (committed === frames) resolve();
    });
  });
  let temp = 21;
  for (let f = 0; f < frames; f++) {
    const received = TARGET_T0 + (f + 1) * PER_FRAME * 1000 + Math.floor(random() * 300);
    const pack = Array.from({ length: PER_FRAME }, (_, i) => {
      const t = (f * PER_FRAME + i) / 86_400;
      temp += 0.002 * (21 + 2 * Math.sin(2 * Math.PI * t) - temp) + 0.01 * (random() - 0.5);
      const v = Math.round((temp + 0.04 * (random() + random() - 1)) * 10) / 10;
      return i === 0 ? { n: 'temperature', u: 'Cel', v, t: -(PER_FRAME - 1) } : { n: 'temperature', v, t: i - (PER_FRAME - 1) };
    });
    const bytes = encode({ type: MessageType.Telemetry, seq: f + 1, pack });
    const r = decode(bytes, { now: received, accept: 'uplink' });
    assert.ok(r.ok && r.message.type === MessageType.Telemetry);
    store.ingest(device, f + 1, received, MessageType.Telemetry, bytes, { records: r.message.records });
  }
  await done;
}
