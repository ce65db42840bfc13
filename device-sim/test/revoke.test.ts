// Credentials refused against the real hub: a revoked device (close 4403 while
// connected, HTTP 403 at the upgrade), a rotated token and a wrong secret (401) all
// stop the device for good, with no retry (SPEC.md §2.2, §8.3).

import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { type Fleet, type FleetOptions, startFleet } from '../src/index.js';
import { createDevice, type HubProcess, ok, startHub } from './support/hub.js';
import { eventually, waitEvent } from './support/wait.js';

describe('no retry after revoke or refused credentials (real hub)', () => {
  let hub: HubProcess | undefined;
  const fleets: Fleet[] = [];
  const run = (opts: Pick<FleetOptions, 'devices'>): Fleet => {
    // A tiny backoff: a device that wrongly retried would do so within milliseconds.
    const fleet = startFleet({ hub: hub?.url ?? '', profile: 'relay', rate: 5, backoff: { baseMs: 5, capMs: 10 }, seed: 9, ...opts });
    fleets.push(fleet);
    return fleet;
  };
  afterEach(async () => {
    await Promise.all(fleets.splice(0).map((f) => f.stop()));
    await hub?.dispose();
    hub = undefined;
  });

  /**
   * Lets time pass by an event rather than a sleep: the control device goes through
   * `rounds` full reconnects (storm, then WELCOME), each far longer than the stopped
   * device's backoff would be.
   */
  async function letTimePass(fleet: Fleet, control: string, rounds = 3): Promise<void> {
    for (let i = 0; i < rounds; i++) {
      const back = waitEvent(fleet, 'online', (e) => e.id === control);
      fleet.storm();
      await back;
    }
  }

  test('revoked while connected: close 4403, the device stops and never reconnects; later 403 at the upgrade', async () => {
    hub = await startHub();
    const victim = await createDevice(hub, 'rv-victim');
    const control = await createDevice(hub, 'rv-control');
    const fleet = run({ devices: [victim, control] });
    const online = new Set<string>();
    await waitEvent(fleet, 'online', (e) => online.add(e.id).size === 2);
    const stopped = waitEvent(fleet, 'stopped', (e) => e.id === victim.id);
    await ok(hub.api.request('POST', `/devices/${victim.id}/revoke`));
    assert.equal((await stopped).reason, 'revoked');
    await letTimePass(fleet, control.id);
    const s = fleet.stats();
    assert.equal(s.closes['4403'], 1);
    assert.deepEqual(s.upgradeFailures, {}, 'no attempt after 4403');
    assert.equal(s.reconnects, 3, 'only the control device reconnected');
    assert.equal(fleet.device(victim.id)?.state, 'stopped');
    const api = hub.api;
    const presence = await eventually(async () => {
      const body = await ok<{ presence: { online: boolean; reason: string }[] }>(api.request('GET', `/devices/${victim.id}/presence`));
      return body.presence.some((p) => !p.online && p.reason === 'revoked') ? body.presence : undefined;
    }, 'the revocation in the presence history');
    assert.equal(presence.filter((p) => p.online).length, 1, 'one session only');

    // The same token later: HTTP 403 at the upgrade, one attempt, stop.
    const again = run({ devices: [victim] });
    assert.equal((await waitEvent(again, 'stopped')).reason, 'revoked');
    assert.deepEqual(again.stats().upgradeFailures, { 403: 1 });
    assert.equal(again.stats().reconnects, 0);
  });

  test('a rotated token ends the session with 4403; the new token connects', async () => {
    hub = await startHub();
    const device = await createDevice(hub, 'rot-1');
    const fleet = run({ devices: [device] });
    await waitEvent(fleet, 'online');
    const stopped = waitEvent(fleet, 'stopped');
    const { token } = await ok<{ token: string }>(hub.api.request('POST', `/devices/${device.id}/token`, {}));
    assert.equal((await stopped).reason, 'revoked');
    const renewed = run({ devices: [{ id: device.id, token }] });
    await waitEvent(renewed, 'online');
  });

  test('a wrong secret gets 401 once and stops; onUnauthorized can supply a fresh token', async () => {
    hub = await startHub();
    const device = await createDevice(hub, 'wrong-1');
    const bad = { id: device.id, token: `${device.id}.not-the-secret` };
    const fleet = run({ devices: [bad] });
    assert.equal((await waitEvent(fleet, 'stopped')).reason, 'unauthorized');
    assert.deepEqual(fleet.stats().upgradeFailures, { 401: 1 });
    assert.equal(fleet.stats().reconnects, 0);

    const api = hub.api;
    const asked: string[] = [];
    const renewing = startFleet({
      hub: hub.url,
      devices: [bad],
      profile: 'relay',
      backoff: { baseMs: 5, capMs: 10 },
      seed: 10,
      onUnauthorized: async (id) => {
        asked.push(id);
        return (await ok<{ token: string }>(api.request('POST', `/devices/${id}/token`, {}))).token;
      },
    });
    fleets.push(renewing);
    await waitEvent(renewing, 'online');
    assert.deepEqual(asked, [device.id]);
  });
});
