// Each --chaos option, on its own, against the real hub: the fault happens, and the
// hub (or the simulator's measurements) shows it. The hub pings every second here so
// that silence is noticed within seconds.

import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { type ChaosOptions, type DeviceSpec, type Fleet, type ProfileName, startFleet } from '../src/index.js';
import { createDevice, type HubProcess, ok, startHub, storedTelemetry } from './support/hub.js';
import { collectEvents, eventually, waitEvent } from './support/wait.js';

interface PresenceRow {
  online: boolean;
  reason: string;
  code: number | null;
}

describe('chaos options against the real hub', () => {
  let hub: HubProcess;
  let next = 0;
  const fleets: Fleet[] = [];

  before(async () => {
    hub = await startHub(['--ping-interval', '1s', '--ping-timeout', '1s']);
  });
  afterEach(async () => {
    await Promise.all(fleets.splice(0).map((f) => f.stop()));
  });
  after(async () => {
    await hub?.dispose();
  });

  async function fleetWith(
    chaos: Partial<ChaosOptions>,
    count = 1,
    profile: ProfileName = 'power-meter',
    rate = 5,
  ): Promise<{ fleet: Fleet; ids: string[] }> {
    const devices: DeviceSpec[] = [];
    for (let i = 0; i < count; i++) devices.push(await createDevice(hub, `chaos-${next++}`));
    const fleet = startFleet({ hub: hub.url, devices, profile, rate, backoff: { baseMs: 50, capMs: 200 }, chaos, seed: next });
    fleets.push(fleet);
    return { fleet, ids: devices.map((d) => d.id) };
  }

  const presence = async (id: string): Promise<PresenceRow[]> =>
    (await ok<{ presence: PresenceRow[] }>(hub.api.request('GET', `/devices/${id}/presence`))).presence;

  test('disconnect: connections drop abruptly and the devices come back', async () => {
    const { fleet, ids } = await fleetWith({ disconnectRate: 2 }, 2);
    await collectEvents(fleet, 'chaos', 3, (e) => e.kind === 'disconnect');
    await collectEvents(fleet, 'online', 2);
    assert.ok((fleet.stats().closes['1006'] ?? 0) >= 3, 'abnormal closes, no close frame');
    await eventually(async () => {
      for (const id of ids) {
        const rows = await presence(id);
        if (rows.filter((r) => !r.online).length >= 1 && rows.filter((r) => r.online).length >= 2) return true;
      }
      return undefined;
    }, 'the hub saw a device go offline and back');
  });

  test('silent: the device stops answering pings and the hub drops it for timeout', async () => {
    const { fleet, ids } = await fleetWith({ silentRate: 1 });
    const id = ids[0] as string;
    await waitEvent(fleet, 'chaos', (e) => e.kind === 'silent');
    const off = await waitEvent(fleet, 'offline', (e) => e.id === id);
    assert.equal(off.code, 1006, 'the hub terminated the silent connection');
    await eventually(
      async () => ((await presence(id)).some((r) => !r.online && r.reason === 'timeout') ? true : undefined),
      'presence reason timeout',
    );
  });

  test('slow consumer: acknowledgements are read late, so ack latency grows past the per-message delay', async () => {
    const { fleet } = await fleetWith({ slowMs: 300 }, 1, 'power-meter', 2);
    await eventually(() => (fleet.stats().ackLatency.count >= 6 ? true : undefined), 'six acks measured');
    assert.equal(fleet.stats().chaos.slowDevices, 1);
    assert.ok(fleet.stats().ackLatency.p50 >= 300, `p50 ${fleet.stats().ackLatency.p50} ms`);
  });

  test('clock skew: readings are stamped an hour off, and commands still honour deadlines via the WELCOME offset', async () => {
    const { fleet, ids } = await fleetWith({ skewMs: 3_600_000 });
    const id = ids[0] as string;
    await waitEvent(fleet, 'online');
    const series = await eventually(async () => {
      const s = await storedTelemetry(hub, id, { name: 'voltage', from: Date.now() - 3 * 3_600_000, to: Date.now() + 3 * 3_600_000 });
      return (s[0]?.points.length ?? 0) >= 2 ? s : undefined;
    }, 'skewed readings stored');
    for (const p of series[0]?.points ?? []) {
      const off = Math.abs(p.t - Date.now());
      assert.ok(off > 50 * 60_000 && off < 70 * 60_000, `stored ${new Date(p.t).toISOString()}, ${Math.round(off / 60_000)} min off`);
    }
    const c = await ok<{ state: string }>(
      hub.api.request('POST', `/devices/${id}/commands?wait=10`, { name: 'ping', params: null, ttl: '30s' }),
    );
    assert.equal(c.state, 'succeeded');
  });

  test('malformed: the hub answers ERROR 4400 and closes; the device reconnects and its data stream has no gap', async () => {
    const { fleet, ids } = await fleetWith({ malformedRate: 2 });
    const id = ids[0] as string;
    const closes = await collectEvents(fleet, 'offline', 2, (e) => e.id === id && e.code === 4400);
    assert.equal(closes.length, 2);
    await waitEvent(fleet, 'online', (e) => e.id === id);
    await eventually(
      async () => ((await presence(id)).some((r) => r.reason === 'malformed') ? true : undefined),
      'presence reason malformed',
    );
    assert.equal(await fleet.drain(15_000), true);
    const s = fleet.stats();
    assert.equal(s.refused, 0, 'no good message was taken for the culprit');
    let stored = 0;
    for (const series of await storedTelemetry(hub, id)) stored += series.points.length;
    assert.equal(stored, s.records);
  });

  test('storm: every device drops and reconnects at once', async () => {
    const { fleet, ids } = await fleetWith({ stormEveryMs: 1_500 }, 4, 'relay');
    await collectEvents(fleet, 'online', 4);
    const back = collectEvents(fleet, 'online', 4);
    await waitEvent(fleet, 'chaos', (e) => e.kind === 'storm');
    const again = await back;
    assert.deepEqual(new Set(again.map((e) => e.id)), new Set(ids));
    assert.ok(fleet.stats().reconnects >= 4);
  });
});
