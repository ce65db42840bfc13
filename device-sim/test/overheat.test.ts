// `--overheat` against the real hub: a thermostat driven into an alarm and out of it
// again (README.md § Alarms and notifications), with the rule the README shows.

import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { type Fleet, startFleet } from '../src/index.js';
import { createDevice, type HubProcess, ok, startHub } from './support/hub.js';
import { eventually } from './support/wait.js';

interface Alarm {
  id: string;
  state: string;
  raisedValue: number;
  clearedValue: number | null;
}

describe('device-sim --overheat (real hub)', () => {
  let hub: HubProcess | undefined;
  let fleet: Fleet | undefined;
  after(async () => {
    await fleet?.stop();
    await hub?.dispose();
  });

  test('a thermostat raises the "too hot" alarm, then clears it as it cools', async () => {
    hub = await startHub();
    const device = await createDevice(hub, 'hot-1');
    const rule = await ok<{ id: string }>(
      hub.api.request('POST', '/alarm-rules', {
        name: 'Too hot',
        severity: 'critical',
        selector: { devices: ['hot-1'] },
        condition: { kind: 'metric', metric: 'temperature', above: 30, hysteresis: 2 },
      }),
    );
    // A 4 s cycle at 10 readings a second: hot for 2 s, then cooling.
    fleet = startFleet({ hub: hub.url, devices: [device], profile: 'thermostat', rate: 10, overheatMs: 4_000, seed: 5 });
    const alarms = async () => (await ok<{ alarms: Alarm[] }>(hub?.api.request('GET', `/alarms?rule=${rule.id}`) as never)).alarms;
    const raised = await eventually(async () => (await alarms()).find((a) => a.state !== 'cleared'), 'the alarm raised');
    assert.ok(raised.raisedValue > 30, `raised at ${raised.raisedValue}`);
    const cleared = await eventually(async () => (await alarms()).find((a) => a.id === raised.id && a.state === 'cleared'), 'cleared');
    assert.ok((cleared.clearedValue ?? 99) <= 28, `cleared at ${cleared.clearedValue}`);
    // The next cycle raises a new alarm: in and out again, as long as the simulator runs.
    await eventually(async () => (await alarms()).some((a) => a.id !== raised.id), 'the next cycle');
  });
});
