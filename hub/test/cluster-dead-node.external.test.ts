// A node that dies (SIGKILL, no shutdown) under a cluster of three hub processes
// (helpers/cluster.ts): its devices that do not come back are shown offline once
// their leases lapse (SPEC.md §8.6), and their presence history gets that offline
// row (`timeout`, 1006) once, written by the one surviving node that announces it,
// as the dead node could not.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestCluster, type TestCluster } from './helpers/cluster.js';
import { TestDevice } from './helpers/device.js';
import { eventually } from './helpers/eventually.js';
import { Api } from './helpers/hub.js';

/** Lease TTL (SPEC.md §8.6: 15 s), plus the survivors' 5 s check, plus slack. */
const LEASE_LAPSE_MS = 30_000;

interface Presence {
  online: boolean;
  reason: string;
  code: number | null;
}

describe('a cluster node that dies', { timeout: 120_000 }, () => {
  let c: TestCluster;
  let api: Api;
  const devices: TestDevice[] = [];

  before(async () => {
    c = await startTestCluster({ nodes: 3, fsync: false });
    api = new Api(`http://127.0.0.1:${c.nodes[0]?.hub.port}`);
    await api.login('admin', c.adminPassword);
  });

  after(async () => {
    for (const d of devices) d.ws.terminate();
    await c?.stop();
  });

  it("gets its devices' offline rows written once by a survivor", async () => {
    const ids = ['dn-1', 'dn-2', 'dn-3'];
    const victim = c.nodes[2];
    assert.ok(victim);
    for (const id of ids) devices.push(await TestDevice.connect(`ws://127.0.0.1:${victim.hub.port}`, await api.provision(id)));
    const history = async (id: string): Promise<Presence[]> => {
      const r = await api.get(`/devices/${id}/presence?limit=10`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.body.presence;
    };
    // The victim wrote the online rows (its presence batches go once a second).
    await eventually(async () => (await Promise.all(ids.map(history))).every((h) => h[0]?.online === true), 'the online rows');

    await c.kill(2);
    await eventually(
      async () => (await Promise.all(ids.map(async (id) => (await api.get(`/devices/${id}`)).body.online))).every((o) => o === false),
      'the devices offline after their leases lapsed',
      LEASE_LAPSE_MS,
    );
    await eventually(async () => (await Promise.all(ids.map(history))).every((h) => h[0]?.online === false), 'the offline rows');
    for (const id of ids) {
      const h = await history(id);
      assert.deepEqual(
        h.map((p) => [p.online, p.reason, p.code]),
        [
          [false, 'timeout', 1006],
          [true, 'connected', null],
        ],
        `${id}: one offline row, by one survivor`,
      );
    }
  });
});
