// Firmware updates end to end (SPEC.md §12, docs/firmware.md): simulated devices
// (device-sim, as firmware would) against a real hub in this process, on the test
// store (HALYARD_TEST_STORE=postgres for the PostgreSQL pass). An image is uploaded
// and signed, one device at a time is updated through the API, and each fault of
// the simulator ends in the state the spec gives it; a hub restart mid-download
// resumes at the device's offset, and so does a hub process killed with SIGKILL; a
// cancel stops a download and frees the image.

import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { type Fleet, parseUpdateKey, startFleet, type UpdateFault } from '@halyard/device-sim';
import { startTestHub, type TestHub } from '@halyard/hub/test/hub';
import { eventually, login, seedDevices, startHub } from '../src/lib.js';

const MODEL = 'sim-relay';
const IMAGE = Buffer.from(new Uint8Array(300_000).map((_, i) => (i * 2_654_435_761) >>> 24));
const TIMEOUT = 20_000;

interface Update {
  id: string;
  state: string;
  progress: number;
  size: number;
  reason: string | null;
  attempts: number;
  toFw: string;
}

async function uploadImage(t: TestHub, version: string, bytes = IMAGE): Promise<{ id: string }> {
  const res = await fetch(`${t.http}/api/v1/firmware?model=${MODEL}&version=${version}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${t.api.token}`, 'content-type': 'application/octet-stream' },
    body: bytes,
  });
  const body = (await res.json()) as { id: string };
  assert.equal(res.status, 201, JSON.stringify(body));
  return body;
}

/**
 * The bytes held the device reports in its first `downloading` after it next comes
 * back online (the answer to the repeated offer, SPEC.md §12.4): 0 would mean the
 * download started over.
 */
function progressAfterReconnect(fleet: Fleet, id?: string): Promise<number> {
  return new Promise((resolve) => {
    let phase: 'up' | 'down' | 'back' = 'up';
    const mine = (e: { id: string }) => id === undefined || e.id === id;
    fleet.events.on('offline', (e) => {
      if (mine(e) && phase === 'up') phase = 'down';
    });
    fleet.events.on('online', (e) => {
      if (mine(e) && phase === 'down') phase = 'back';
    });
    fleet.events.on('update', (e) => {
      if (mine(e) && phase === 'back' && e.state === 'downloading') resolve(e.progress);
    });
  });
}

/** Waits until update `id` is in a final state and returns it. */
function finished(t: TestHub, id: string): Promise<Update> {
  const final = ['succeeded', 'failed', 'rejected', 'cancelled', 'timed_out', 'rolled_back'];
  return eventually(
    async () => {
      const u = (await t.api.get(`/updates/${id}`)).body as Update;
      return final.includes(u.state) ? u : undefined;
    },
    `update ${id} to end`,
    TIMEOUT,
  );
}

describe('firmware updates end to end', () => {
  let t: TestHub;
  let firmware: string;
  const fleets: Fleet[] = [];
  let publicKey: ReturnType<typeof parseUpdateKey>;

  /** A device of its own, running the relay profile (firmware 3.0.1), with `fault` if given. */
  async function device(id: string, fault?: UpdateFault, speed = 0, hub = t): Promise<Fleet> {
    const token = await hub.api.provision(id);
    const fleet = startFleet({
      hub: hub.ws,
      devices: [{ id, token }],
      profile: 'relay',
      rate: 0.2,
      backoff: { baseMs: 20, capMs: 200 },
      seed: 5,
      updates: { publicKey, speed, ...(fault === undefined ? {} : { fault }) },
    });
    fleets.push(fleet);
    await eventually(async () => (await hub.api.get(`/devices/${id}`)).body.online === true, `${id} online`, TIMEOUT);
    return fleet;
  }

  async function start(id: string, image = firmware): Promise<Update> {
    const r = await t.api.post(`/devices/${id}/update`, { firmware: image });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body as Update;
  }

  before(async () => {
    t = await startTestHub();
    firmware = (await uploadImage(t, '4.0.0')).id;
    const key = (await t.api.get('/firmware/signing-key')).body as { pem: string };
    publicKey = parseUpdateKey(key.pem);
    assert.ok(publicKey !== undefined);
  });
  after(async () => {
    await Promise.all(fleets.map((f) => f.stop()));
    await t.close();
  });

  it('a signed image is pulled, verified, installed; the HELLO with the new version makes it succeeded', async () => {
    const fleet = await device('ota-ok');
    const u = await start('ota-ok');
    assert.equal(u.state, 'offered');
    const inUse = await t.api.delete(`/firmware/${firmware}`);
    assert.equal(inUse.status, 409, 'the image cannot be deleted while an update uses it');
    assert.equal(inUse.body.error.code, 'HUB_ERR_FIRMWARE_IN_USE');
    const done = await finished(t, u.id);
    assert.equal(done.state, 'succeeded');
    assert.equal(done.progress, IMAGE.length);
    assert.equal(done.attempts, 1);
    assert.equal((await t.api.get('/devices/ota-ok')).body.firmware, '4.0.0');
    const states = new Set<string>();
    fleet.events.on('update', (e) => states.add(e.state));
    // The device confirms after its reboot; its own word changes nothing, the HELLO decided.
    await eventually(() => (fleet.stats().pending === 0 ? true : undefined), 'every status acknowledged', TIMEOUT);
    assert.equal((await t.api.get(`/updates/${u.id}`)).body.state, 'succeeded');
    const history = (await t.api.get('/devices/ota-ok/updates')).body.updates as Update[];
    assert.deepEqual(
      history.map((h) => h.id),
      [u.id],
    );
    // Offering the version it runs is refused up front.
    const again = await t.api.post('/devices/ota-ok/update', { firmware });
    assert.equal(again.status, 400);
  });

  for (const [fault, state, reason, attempts] of [
    ['corrupt', 'failed', 'digest_mismatch', 3],
    ['install-fail', 'failed', 'install_failed', 1],
    ['boot-fail', 'rolled_back', 'boot_failed', 1],
    ['reject', 'rejected', 'low_battery', 1],
  ] as const) {
    it(`fault ${fault}: ends ${state} (${reason}) after ${attempts} attempt(s)`, async () => {
      const id = `ota-${fault}`;
      await device(id, fault);
      const u = await start(id);
      const done = await finished(t, u.id);
      assert.equal(done.state, state);
      if (fault !== 'boot-fail') assert.equal(done.reason, reason);
      else {
        // The hub decides rolled_back from the HELLO on the old version; the device's own report adds the reason.
        await eventually(
          async () => ((await t.api.get(`/updates/${u.id}`)).body.reason === reason ? true : undefined),
          'the reason',
          TIMEOUT,
        );
        assert.equal((await t.api.get(`/devices/${id}`)).body.firmware, '3.0.1', 'back on the old version');
      }
      assert.equal(done.attempts, attempts);
    });
  }

  it('going offline mid-download resumes at the offset held (HELLO carries the update)', async () => {
    const fleet = await device('ota-offline', 'offline');
    const resumed = progressAfterReconnect(fleet);
    const u = await start('ota-offline');
    const done = await finished(t, u.id);
    assert.equal(done.state, 'succeeded');
    assert.ok((await resumed) >= IMAGE.length / 2, 'the download went on from the bytes held');
  });

  it('a cancel before installing stops the download; the image can then be deleted', async () => {
    const second = (await uploadImage(t, '4.1.0')).id;
    const fleet = await device('ota-cancel', undefined, 30_000);
    const cancelled = new Promise<void>((resolve) => fleet.events.on('update', (e) => e.state === 'cancelled' && resolve()));
    const u = await start('ota-cancel', second);
    await eventually(
      async () => ((await t.api.get(`/updates/${u.id}`)).body.state === 'downloading' ? true : undefined),
      'downloading',
      TIMEOUT,
    );
    const r = await t.api.post(`/updates/${u.id}/cancel`);
    assert.equal(r.status, 200);
    assert.equal(r.body.state, 'cancelled');
    await cancelled; // the device got UPDATE_CANCEL and dropped the job
    assert.equal((await t.api.post(`/updates/${u.id}/cancel`)).status, 409, 'over');
    assert.equal((await t.api.delete(`/firmware/${second}`)).status, 204);
    const history = (await t.api.get('/devices/ota-cancel/updates')).body.updates as Update[];
    assert.equal(history[0]?.state, 'cancelled');
  });
});

describe('firmware updates across a hub restart', () => {
  it('a restarted hub resumes each download at the offset the device holds', async () => {
    let t = await startTestHub();
    const port = t.hub.port;
    const fleets: Fleet[] = [];
    try {
      const image = await uploadImage(t, '5.0.0');
      const token = await t.api.provision('ota-restart');
      // 60 KB/s: the 300 KB image takes about 5 s, long enough to restart the hub in the middle.
      const fleet = startFleet({
        hub: t.ws,
        devices: [{ id: 'ota-restart', token }],
        profile: 'relay',
        rate: 0.2,
        backoff: { baseMs: 50, capMs: 300 },
        seed: 9,
        updates: { speed: 60_000 },
      });
      fleets.push(fleet);
      await eventually(async () => (await t.api.get('/devices/ota-restart')).body.online === true, 'online', TIMEOUT);
      const u = (await t.api.post('/devices/ota-restart/update', { firmware: image.id })).body as Update;
      const held = await eventually(
        async () => {
          const p = ((await t.api.get(`/updates/${u.id}`)).body as Update).progress;
          return p >= IMAGE.length / 5 ? p : undefined;
        },
        'a fifth of the image held',
        TIMEOUT,
      );
      const resumedAt = progressAfterReconnect(fleet);
      const dir = t.dir;
      await t.stop();
      t = await startTestHub(['--port', String(port)], dir);
      const done = await finished(t, u.id);
      assert.equal(done.state, 'succeeded');
      assert.equal(done.attempts, 1, 'no new attempt: the download went on');
      assert.ok((await resumedAt) >= held, 'after the restart the device answered the offer with the bytes it held');
    } finally {
      await Promise.all(fleets.map((f) => f.stop()));
      await t.close();
    }
  });
});

// The compiled hub as a process of its own (bench/src/lib.ts), on SQLite whatever the test store: a SIGKILL loses nothing committed.
describe('firmware updates across a hub killed with SIGKILL', () => {
  it('every device resumes at its offset once the hub is back; each update succeeds in one attempt', async () => {
    const DEVICES = 5;
    const seeded = seedDevices(DEVICES);
    let hub = await startHub(seeded.dir);
    const port = hub.port;
    const base = `http://127.0.0.1:${port}/api/v1`;
    let auth = { authorization: `Bearer ${await login(port)}` };
    const up = await fetch(`${base}/firmware?model=${MODEL}&version=6.0.0`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/octet-stream' },
      body: IMAGE,
    });
    assert.equal(up.status, 201);
    const firmware = ((await up.json()) as { id: string }).id;
    const devices = seeded.tokens.map((token) => ({ id: token.slice(0, token.lastIndexOf('.')), token }));
    // 60 KB/s each: the 300 KB image takes about 5 s, time to kill the hub in the middle.
    const fleet = startFleet({
      hub: `ws://127.0.0.1:${port}`,
      devices,
      profile: 'relay',
      rate: 0.2,
      backoff: { baseMs: 50, capMs: 300 },
      seed: 11,
      updates: { speed: 60_000 },
    });
    try {
      const get = async (path: string) => (await fetch(`${base}${path}`, { headers: auth })).json() as Promise<Record<string, unknown>>;
      await eventually(
        async () => {
          for (const d of devices) if ((await get(`/devices/${d.id}`)).online !== true) return undefined;
          return true;
        },
        'all online',
        TIMEOUT,
      );
      const jobs: string[] = [];
      for (const d of devices) {
        const r = await fetch(`${base}/devices/${d.id}/update`, {
          method: 'POST',
          headers: { ...auth, 'content-type': 'application/json' },
          body: JSON.stringify({ firmware }),
        });
        assert.equal(r.status, 201);
        jobs.push(((await r.json()) as { id: string }).id);
      }
      const held = await eventually(
        async () => {
          const progress = await Promise.all(jobs.map(async (j) => (await get(`/updates/${j}`)).progress as number));
          return progress.every((p) => p >= IMAGE.length / 5) ? progress : undefined;
        },
        'a fifth of the image held by every device',
        TIMEOUT,
      );
      const resumed = devices.map((d) => progressAfterReconnect(fleet, d.id));
      await hub.child.stop('SIGKILL');
      hub = await startHub(seeded.dir, ['--port', String(port)]);
      auth = { authorization: `Bearer ${await login(port)}` };
      const done = await eventually(
        async () => {
          const all = await Promise.all(jobs.map((j) => get(`/updates/${j}`)));
          return all.every((u) => u.state === 'succeeded') ? all : undefined;
        },
        'every update succeeded',
        TIMEOUT,
      );
      assert.deepEqual(
        done.map((u) => u.attempts),
        jobs.map(() => 1),
        'no new attempt: each download went on',
      );
      const at = await Promise.all(resumed);
      for (const [i, p] of at.entries())
        assert.ok(p >= (held[i] as number), `device ${i} resumed at ${p}, held ${held[i]} before the kill`);
    } finally {
      await fleet.stop();
      await hub.child.stop();
      rmSync(seeded.dir, { recursive: true, force: true });
    }
  });
});
