// The offline buffer against the real hub: whatever happens to the link (the hub
// restarting, connections cut with messages in flight, a device losing its counter),
// every reading the devices produced ends up in the store exactly once: the number of
// stored points equals the number of records sent, and the hub's last sequence number
// is the devices' own.

import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { type DeviceSpec, type Fleet, startFleet } from '../src/index.js';
import { createDevice, type HubProcess, ok, startHub, storedTelemetry } from './support/hub.js';
import { collectEvents, eventually, waitEvent } from './support/wait.js';

async function storedPoints(hub: HubProcess, ids: readonly string[]): Promise<number> {
  let total = 0;
  for (const id of ids) for (const s of await storedTelemetry(hub, id)) total += s.points.length;
  return total;
}

/** Drains the fleet, then checks the store against what was sent: no gaps, no duplicates. */
async function assertExactlyOnce(hub: HubProcess, fleet: Fleet, ids: readonly string[]): Promise<void> {
  assert.equal(await fleet.drain(20_000), true, 'every buffered message acknowledged');
  const s = fleet.stats();
  assert.equal(s.dropped, 0, 'no buffer overflow in this test');
  assert.equal(s.refused, 0);
  assert.equal(s.lost, 0);
  await assertSeqsMatch(hub, fleet, ids);
  assert.equal(await storedPoints(hub, ids), s.records, 'stored points = records sent');
}

async function assertSeqsMatch(hub: HubProcess, fleet: Fleet, ids: readonly string[]): Promise<void> {
  for (const id of ids) {
    const info = await ok<{ lastSeq: number }>(hub.api.request('GET', `/devices/${id}`));
    assert.equal(info.lastSeq, (fleet.device(id)?.nextSeq ?? 0) - 1, `${id}: the hub's last seq is the device's`);
  }
}

describe('offline buffer replay against the real hub', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  test('the hub restarts while devices keep measuring: the buffered readings arrive, once each', async () => {
    let hub = await startHub();
    const first = hub;
    cleanup.push(() => first.dispose());
    const devices: DeviceSpec[] = [];
    for (const p of ['thermostat', 'power-meter', 'relay'] as const) devices.push({ ...(await createDevice(hub, `rp-${p}`)), profile: p });
    const ids = devices.map((d) => d.id);
    const fleet = startFleet({ hub: hub.url, devices, rate: 20, backoff: { baseMs: 100, capMs: 400 }, seed: 1 });
    cleanup.push(() => fleet.stop());
    await collectEvents(fleet, 'online', 3);
    await eventually(() => (fleet.stats().acked >= 30 ? true : undefined), 'some readings acknowledged');

    await hub.stop();
    // Offline now: readings pile up in each device's buffer.
    await eventually(
      () => (ids.every((id) => (fleet.device(id)?.pending ?? 0) >= 20) ? true : undefined),
      'readings buffered while the hub is down',
    );
    const onlineAgain = collectEvents(fleet, 'online', 3);
    hub = await startHub([], { reuse: { dataDir: first.dataDir, port: first.port } });
    const second = hub;
    cleanup.push(() => second.stop());
    await onlineAgain;
    await assertExactlyOnce(hub, fleet, ids);
  });

  test('connections cut with messages in flight: resends are deduplicated, nothing is lost', async () => {
    const hub = await startHub();
    cleanup.push(() => hub.dispose());
    const devices: DeviceSpec[] = [];
    for (let i = 0; i < 4; i++) devices.push({ ...(await createDevice(hub, `cut-${i}`)), profile: 'power-meter' });
    const fleet = startFleet({
      hub: hub.url,
      devices,
      rate: 50,
      batch: 20,
      backoff: { baseMs: 50, capMs: 200 },
      chaos: { disconnectRate: 1 },
      seed: 2,
    });
    cleanup.push(() => fleet.stop());
    // Enough cuts to matter, few enough to stay under the hub's 20 reconnects a minute.
    await collectEvents(fleet, 'chaos', 8, (e) => e.kind === 'disconnect');
    await assertExactlyOnce(
      hub,
      fleet,
      devices.map((d) => d.id),
    );
    assert.ok(fleet.stats().reconnects >= 8);
  });

  test("a device that loses its counter continues after the hub's acked, and its new readings are stored", async () => {
    const hub = await startHub();
    cleanup.push(() => hub.dispose());
    const device = { ...(await createDevice(hub, 'amnesiac')), profile: 'relay' as const };
    const fleet = startFleet({ hub: hub.url, devices: [device], rate: 20, backoff: { baseMs: 50, capMs: 200 }, seed: 3 });
    cleanup.push(() => fleet.stop());
    await waitEvent(fleet, 'online');
    await eventually(() => (fleet.stats().acked >= 20 ? true : undefined), '20 readings acknowledged');
    const handle = fleet.device('amnesiac');
    assert.ok(handle);
    const before = fleet.stats();
    const back = waitEvent(fleet, 'online', (e) => e.boot === 2);
    handle.forgetMemory();
    const lost = fleet.stats().lost;
    const welcome = await back;
    assert.ok(welcome.acked >= 20, 'the hub remembers the old counter');
    await eventually(() => (fleet.stats().acked > before.acked + 10 ? true : undefined), 'new readings acknowledged after the power cut');
    assert.ok(handle.nextSeq > welcome.acked + 1, 'numbering continued after acked');
    assert.equal(await fleet.drain(20_000), true);
    await assertSeqsMatch(hub, fleet, ['amnesiac']);
    // The power cut lost what was buffered (some of it may have reached the hub just
    // before); everything after it is stored, and nothing twice.
    const stored = await storedPoints(hub, ['amnesiac']);
    const s = fleet.stats();
    const lostRecords = lost * 2; // a relay reading is 2 records
    assert.ok(stored <= s.records && stored >= s.records - lostRecords, `stored ${stored}, sent ${s.records}, lost up to ${lostRecords}`);
  });
});
