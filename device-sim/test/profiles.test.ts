// Every profile against the real hub: it connects, streams telemetry the hub stores,
// answers `ping`, `reboot` and its own commands, rejects what it does not know, and
// applies its twin (desired, then reported).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { CommandInfo, TwinInfo } from '@halyard/firmware-protocol';
import { type Fleet, PROFILE_NAMES, type ProfileName, startFleet } from '../src/index.js';
import { createDevice, type HubProcess, ok, startHub, storedTelemetry } from './support/hub.js';
import { eventually, waitEvent } from './support/wait.js';

/** Metrics each profile must stream, and its firmware as HELLO reports it. */
const EXPECT: Record<ProfileName, { metrics: string[]; fw: string }> = {
  thermostat: { metrics: ['temperature', 'humidity', 'hvac'], fw: '2.1.0' },
  'power-meter': { metrics: ['voltage', 'current', 'power', 'energy'], fw: '1.7.3' },
  'door-sensor': { metrics: ['open', 'battery'], fw: '0.9.4' },
  relay: { metrics: ['on', 'power'], fw: '3.0.1' },
  tracker: { metrics: ['lat', 'lon', 'speed', 'battery'], fw: '4.2.0' },
};

const FINAL = new Set(['succeeded', 'failed', 'rejected', 'expired', 'timed_out', 'cancelled']);

describe('profiles against the real hub', () => {
  let hub: HubProcess;
  let fleet: Fleet;

  const command = async (id: string, name: string, params: unknown = null): Promise<CommandInfo> => {
    const c = await ok<CommandInfo>(hub.api.request('POST', `/devices/${id}/commands?wait=10`, { name, params }));
    if (FINAL.has(c.state)) return c;
    // ?wait returned early (202): follow the command until it is final.
    return eventually(async () => {
      const now = await ok<CommandInfo>(hub.api.request('GET', `/commands/${c.id}`));
      return FINAL.has(now.state) ? now : undefined;
    }, `command ${c.id} to finish`);
  };
  const twin = (id: string) => ok<TwinInfo>(hub.api.request('GET', `/devices/${id}/twin`));
  const idOf = (p: ProfileName) => `it-${p}`;

  before(async () => {
    hub = await startHub();
    const devices = [];
    for (const p of PROFILE_NAMES) devices.push({ ...(await createDevice(hub, idOf(p))), profile: p });
    fleet = startFleet({ hub: hub.url, devices, rate: 4, backoff: { baseMs: 50, capMs: 500 }, seed: 5 });
    const online = new Set<string>();
    await waitEvent(fleet, 'online', (e) => {
      online.add(e.id);
      return online.size === devices.length;
    });
  });
  after(async () => {
    await fleet?.stop();
    await hub?.dispose();
  });

  for (const p of PROFILE_NAMES) {
    test(`${p}: streams its metrics, reports fw in HELLO, answers ping, rejects unknown commands`, async () => {
      const id = idOf(p);
      await eventually(async () => {
        const series = await storedTelemetry(hub, id);
        const names = new Set(series.filter((s) => s.points.length >= 2).map((s) => s.name));
        return EXPECT[p].metrics.every((m) => names.has(m)) ? true : undefined;
      }, `${p} telemetry in the store`);
      const info = await ok<{ firmware: string | null; model: string | null; online: boolean }>(hub.api.request('GET', `/devices/${id}`));
      assert.equal(info.firmware, EXPECT[p].fw);
      assert.equal(info.model, `sim-${p}`);
      assert.equal(info.online, true);
      const pong = await command(id, 'ping');
      assert.equal(pong.state, 'succeeded');
      assert.equal((pong.result as { pong?: boolean }).pong, true);
      const unknown = await command(id, 'self_destruct');
      assert.equal(unknown.state, 'rejected');
      assert.match(JSON.stringify([unknown.result, unknown.error]), /unknown_command/);
    });
  }

  test('reboot: succeeds, then the device comes back with the next boot number', async () => {
    const id = idOf('door-sensor');
    const back = waitEvent(fleet, 'online', (e) => e.id === id && e.boot === 2);
    assert.equal((await command(id, 'reboot')).state, 'succeeded');
    await back;
  });

  test('thermostat: set_setpoint and the twin (desired applied, then reported)', async () => {
    const id = idOf('thermostat');
    const set = await command(id, 'set_setpoint', { value: 19 });
    assert.equal(set.state, 'succeeded');
    await eventually(async () => ((await twin(id)).reported.setpoint === 19 ? true : undefined), 'reported setpoint 19');
    assert.equal((await command(id, 'set_setpoint', { value: 99 })).state, 'rejected');
    await ok(hub.api.request('PATCH', `/devices/${id}/twin/desired`, { setpoint: 23.5, mode: 'cool', colour: 'blue' }));
    const t = await eventually(async () => {
      const now = await twin(id);
      return now.reported.setpoint === 23.5 && now.reported.mode === 'cool' ? now : undefined;
    }, 'reported setpoint 23.5 and mode cool');
    // A key the device does not support is left out of its report, so it stays in the delta.
    assert.equal(t.reported.colour, undefined);
    assert.equal(t.delta.colour, 'blue');
  });

  test('relay: toggle and set change the reported state; bad params are rejected', async () => {
    const id = idOf('relay');
    const toggled = await command(id, 'toggle');
    assert.equal(toggled.state, 'succeeded');
    const on = (toggled.result as { on: boolean }).on;
    await eventually(async () => ((await twin(id)).reported.on === on ? true : undefined), `reported on=${on}`);
    assert.equal((await command(id, 'set', { on: !on })).state, 'succeeded');
    await eventually(async () => ((await twin(id)).reported.on === !on ? true : undefined), `reported on=${!on}`);
    const bad = await command(id, 'set', { on: 'maybe' });
    assert.equal(bad.state, 'rejected');
    assert.match(JSON.stringify([bad.result, bad.error]), /bad_params/);
    await ok(hub.api.request('PATCH', `/devices/${id}/twin/desired`, { on: true }));
    await eventually(async () => ((await twin(id)).reported.on === true ? true : undefined), 'reported on=true from desired');
  });

  test('tracker: locate answers with a position', async () => {
    const c = await command(idOf('tracker'), 'locate');
    assert.equal(c.state, 'succeeded');
    const r = c.result as { lat: number; lon: number };
    assert.ok(Math.abs(r.lat - 59.91) < 0.5 && Math.abs(r.lon - 10.75) < 0.5);
  });

  test('power-meter and door-sensor report their state at boot; desired keys they lack stay in the delta', async () => {
    for (const [p, key] of [
      ['power-meter', 'limit'],
      ['door-sensor', 'heartbeatS'],
    ] as const) {
      const id = idOf(p);
      await eventually(async () => ((await twin(id)).reported[key] !== undefined ? true : undefined), `${p} reported ${key}`);
      const applied = waitEvent(fleet, 'desired', (e) => e.id === id);
      await ok(hub.api.request('PATCH', `/devices/${id}/twin/desired`, { colour: 'red' }));
      assert.deepEqual((await applied).reported, {}, 'nothing to report for an unsupported key');
      assert.equal((await twin(id)).delta.colour, 'red');
    }
  });
});
