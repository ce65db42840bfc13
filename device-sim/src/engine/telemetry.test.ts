import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decode, encode, MessageType } from '@halyard/firmware-protocol';
import { createProfile } from '../profiles/registry.js';
import { seededRandom } from './random.js';
import { buildPack } from './telemetry.js';

const NOW = Date.UTC(2025, 5, 1, 12);
const thermostat = () => createProfile('thermostat', { random: seededRandom(1), now: NOW - 60_000, index: 0 });

test('batch 0 sends one sample stamped "now" (no time field)', () => {
  const pack = buildPack(thermostat(), { now: NOW, intervalMs: 5_000, batch: 0, perSample: 3, absolute: false });
  assert.deepEqual(
    pack.map((r) => r.n),
    ['temperature', 'humidity', 'hvac'],
  );
  assert.ok(pack.every((r) => r.t === undefined));
});

test('a batch holds exactly `batch` records sampled evenly over the interval, oldest first, ending now', () => {
  const pack = buildPack(thermostat(), { now: NOW, intervalMs: 10_000, batch: 10, perSample: 3, absolute: false });
  assert.equal(pack.length, 10);
  const times = pack.map((r) => r.t ?? 0);
  for (let i = 1; i < times.length; i++) assert.ok((times[i] as number) >= (times[i - 1] as number));
  assert.ok((times[0] as number) > -10 && (times[0] as number) < 0, 'within the interval, in the past');
  assert.equal(times.at(-1), 0);
  // The hub resolves these relative to receipt: all land inside the last interval.
  const d = decode(encode({ type: MessageType.Telemetry, seq: 1, pack }), { now: NOW });
  assert.ok(d.ok && d.message.type === MessageType.Telemetry);
  if (d.ok && d.message.type === MessageType.Telemetry) assert.ok(d.message.records.every((r) => r.time > NOW - 10_000 && r.time <= NOW));
});

test('a skewed device stamps absolute times from its own clock', () => {
  const pack = buildPack(thermostat(), { now: NOW, intervalMs: 5_000, batch: 0, perSample: 3, absolute: true });
  assert.ok(pack.every((r) => r.t === NOW / 1_000));
});
