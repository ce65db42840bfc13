// wss against the real hub serving a certificate from the test CA: devices and the
// provisioning API connect when given the CA (--ca) or told not to verify
// (--insecure), and refuse an unverifiable hub otherwise.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, afterEach, before, describe, test } from 'node:test';
import { type Fleet, type FleetOptions, provisionDevices, startFleet } from '../src/index.js';
import { ADMIN_PASSWORD, type HubProcess, startHub, TLS_FIXTURES } from './support/hub.js';
import { eventually, waitEvent } from './support/wait.js';

describe('wss (real hub with TLS)', () => {
  let hub: HubProcess;
  let ca: Buffer;
  let devices: FleetOptions['devices'];
  const fleets: Fleet[] = [];

  before(async () => {
    hub = await startHub([], { tls: true });
    ca = await readFile(TLS_FIXTURES.ca);
    // Provisioning goes over https and verifies the hub with the same CA.
    const p = await provisionDevices({
      hub: hub.url,
      count: 1,
      profile: 'relay',
      auth: { user: 'admin', password: ADMIN_PASSWORD },
      tls: { ca },
    });
    devices = p.devices;
  });
  afterEach(async () => {
    await Promise.all(fleets.splice(0).map((f) => f.stop()));
  });
  after(async () => {
    await hub?.dispose();
  });

  const run = (tls: FleetOptions['tls']): Fleet => {
    const fleet = startFleet({ hub: hub.url, devices, rate: 5, backoff: { baseMs: 50, capMs: 200 }, seed: 11, ...(tls ? { tls } : {}) });
    fleets.push(fleet);
    return fleet;
  };

  test('with the CA the device connects and its readings are acknowledged', async () => {
    const fleet = run({ ca });
    await waitEvent(fleet, 'online');
    await eventually(() => (fleet.stats().acked > 0 ? true : undefined), 'acks over wss');
  });

  test('without it the hub cannot be verified: no session, a certificate error, retries', async () => {
    const fleet = run(undefined);
    const errors = await eventually(() => {
      const e = Object.keys(fleet.stats().errors);
      return e.some((k) => /CERT|SIGNATURE|SELF_SIGNED/.test(k)) ? e : undefined;
    }, 'a certificate error');
    assert.ok(errors.length > 0);
    assert.equal(fleet.stats().sessions, 0);
  });

  test('--insecure skips verification (labs only)', async () => {
    const fleet = run({ insecure: true });
    await waitEvent(fleet, 'online');
  });
});
