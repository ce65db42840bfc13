// Fleet jobs end to end (docs/jobs.md) with simulated devices (device-sim, as
// firmware would) against a real hub on the test store (HALYARD_TEST_STORE=postgres
// for the PostgreSQL pass): a 200-device firmware rollout in stages with 10% of the
// devices failing pauses at its failure threshold, goes on when approved and ends
// with exact counts; a command job to 5,000 devices with at most 500 in progress
// accounts for every device, across a hub process killed with SIGKILL in the middle.

import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { type Fleet, parseUpdateKey, startFleet } from '@halyard/device-sim';
import { startTestHub, type TestHub } from '@halyard/hub/test/hub';
import { eventually, login, seedDevices, startHub } from '../src/lib.js';

const MODEL = 'sim-relay';
const IMAGE = Buffer.from(new Uint8Array(16_384).map((_, i) => (i * 2_654_435_761) >>> 24));

interface Tally {
  pending: number;
  in_progress: number;
  succeeded: number;
  failed: number;
  skipped: number;
  cancelled: number;
}
interface Job {
  id: string;
  state: string;
  stage: number;
  reason: string | null;
  total: number;
  counts: Tally;
  byStage: (Tally & { stage: number })[];
  reasons: { reason: string; n: number }[];
}

describe('a staged firmware rollout to 200 devices, 10% failing', () => {
  const COUNT = 200;
  let t: TestHub;
  const fleets: Fleet[] = [];
  const id = (i: number) => `roll-${String(i).padStart(3, '0')}`;
  /** Every tenth device fails to install. */
  const failing = (i: number) => i % 10 === 9;

  before(async () => {
    t = await startTestHub();
    const up = await fetch(`${t.http}/api/v1/firmware?model=${MODEL}&version=4.0.0`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.api.token}`, 'content-type': 'application/octet-stream' },
      body: IMAGE,
    });
    assert.equal(up.status, 201);
    const key = parseUpdateKey(((await t.api.get('/firmware/signing-key')).body as { pem: string }).pem);
    const good: { id: string; token: string }[] = [];
    const bad: { id: string; token: string }[] = [];
    for (let i = 0; i < COUNT; i++)
      (failing(i) ? bad : good).push({ id: id(i), token: await t.api.provision(id(i), { tags: ['rollout'] }) });
    for (const [devices, fault] of [
      [good, undefined],
      [bad, 'install-fail'],
    ] as const)
      fleets.push(
        startFleet({
          hub: t.ws,
          devices,
          profile: 'relay',
          rate: 0.05,
          backoff: { baseMs: 50, capMs: 500 },
          seed: 17,
          updates: { publicKey: key, ...(fault === undefined ? {} : { fault }) },
        }),
      );
    await eventually(
      async () => ((await t.api.get('/devices?status=online&tag=rollout&limit=1')).body.total === COUNT ? true : undefined),
      'every device online',
      30_000,
    );
  });
  after(async () => {
    await Promise.all(fleets.map((f) => f.stop()));
    await t.close();
  });

  it('pauses at the failure threshold, goes on when approved, and ends with exact counts', async () => {
    const image = ((await t.api.get(`/firmware?model=${MODEL}`)).body.firmware as { id: string; version: string }[])[0];
    assert.ok(image !== undefined);
    const spec = {
      name: 'relay 4.0.0',
      action: { type: 'update', firmware: image.id },
      selection: { tags: ['rollout'] },
      rollout: {
        maxInProgress: 50,
        stages: [{ percent: 1 }, { percent: 10 }, { percent: 50 }, { percent: 100, approval: true }],
        successThreshold: 0.8,
        failureThreshold: { ratio: 0.05, minFinished: 10, action: 'pause' },
      },
    };
    const preview = await t.api.post('/jobs/preview', spec);
    assert.equal(preview.status, 200, JSON.stringify(preview.body));
    assert.equal(preview.body.count, COUNT);
    const viewer = await t.api.post('/operators', { username: 'watcher', password: 'watcher-password-1', role: 'viewer' });
    assert.equal(viewer.status, 201);
    const created = await t.api.post('/jobs', spec);
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const jobId = created.body.id as string;
    const get = async () => (await t.api.get(`/jobs/${jobId}`)).body as Job;
    /** The job stopped (paused, waiting or over) with nothing in progress. */
    const settled = () =>
      eventually(
        async () => {
          const j = await get();
          return j.state !== 'running' && j.counts.in_progress === 0 ? j : undefined;
        },
        'the job to stop with nothing in progress',
        60_000,
      );

    // The first failing devices (roll-009, roll-019) are in stage 2: the job pauses there.
    const first = await settled();
    assert.equal(first.state, 'paused', JSON.stringify(first));
    assert.match(first.reason ?? '', /failure threshold/);
    assert.equal(first.stage, 2);
    assert.deepEqual(
      first.byStage.map((s) => [s.succeeded, s.failed, s.pending]),
      [
        [2, 0, 0],
        [16, 2, 0],
        [0, 0, 80],
        [0, 0, 100],
      ],
    );
    // A viewer reads but cannot act.
    const watcher = t.api.as((await t.api.post('/login', { username: 'watcher', password: 'watcher-password-1' })).body.token);
    assert.equal((await watcher.get(`/jobs/${jobId}`)).status, 200);
    assert.equal((await watcher.post(`/jobs/${jobId}/approve`)).status, 403);
    // The image a running job uses cannot be deleted.
    const del = await t.api.delete(`/firmware/${image.id}`);
    assert.equal(del.status, 409);
    assert.match(del.body.error.message, /job/);

    // Approve at every stop (each further stage trips the threshold again, and the last waits for approval) until it completes.
    let stops = 1;
    let job = first;
    let waited = false;
    while (job.state !== 'completed') {
      assert.ok(job.state === 'paused' || job.state === 'waiting', JSON.stringify(job));
      if (job.state === 'waiting') waited = true;
      const r = await t.api.post(`/jobs/${jobId}/approve`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      await eventually(async () => ((await get()).state === 'running' ? true : undefined), 'running again', 10_000).catch(() => true);
      job = await settled();
      stops++;
      assert.ok(stops < 40, 'the job ends');
    }
    assert.ok(waited, 'the last stage waited for approval');
    assert.deepEqual(job.counts, { pending: 0, in_progress: 0, succeeded: 180, failed: 20, skipped: 0, cancelled: 0, timed_out: 0 });
    assert.equal(job.total, COUNT);
    assert.deepEqual(job.reasons, [{ reason: 'failed: install_failed', n: 20 }]);
    // Every device accounted for, page by page, each as it should be.
    const seen = new Map<string, string>();
    let afterId: string | undefined;
    for (;;) {
      const page = (await t.api.get(`/jobs/${jobId}/devices?limit=70${afterId ? `&after=${afterId}` : ''}`)).body.devices as {
        device: string;
        state: string;
        ref: string;
      }[];
      for (const d of page) seen.set(d.device, d.state);
      if (page.length < 70) break;
      afterId = page[page.length - 1]?.device;
    }
    assert.equal(seen.size, COUNT);
    for (let i = 0; i < COUNT; i++) assert.equal(seen.get(id(i)), failing(i) ? 'failed' : 'succeeded', id(i));
    assert.equal((await t.api.get(`/devices/${id(0)}`)).body.firmware, '4.0.0');
    assert.equal((await t.api.get(`/devices/${id(9)}`)).body.firmware, '3.0.1');
    // Over: the image may go now; the job refuses further actions.
    assert.equal((await t.api.post(`/jobs/${jobId}/pause`)).status, 409);
    const audit = (await t.api.get('/audit?limit=500')).body.entries as { action: string; target: string }[];
    assert.ok(audit.some((a) => a.action === 'job.create' && a.target === jobId));
    assert.equal(audit.filter((a) => a.action === 'job.approve' && a.target === jobId).length, stops - 1);
  });
});

// The compiled hub as a process of its own (bench/src/lib.ts), on SQLite: a SIGKILL loses nothing committed.
describe('a command job to 5,000 devices, at most 500 in progress, across a hub killed with SIGKILL', () => {
  it('completes with every device’s result accounted for', async () => {
    const COUNT = Number(process.env.JOBS_TEST_DEVICES ?? 5_000);
    const seeded = seedDevices(COUNT);
    let hub = await startHub(seeded.dir);
    const port = hub.port;
    const base = `http://127.0.0.1:${port}/api/v1`;
    const devices = seeded.tokens.map((token) => ({ id: token.slice(0, token.lastIndexOf('.')), token }));
    // Light devices: almost no telemetry, quick reconnects.
    const fleet = startFleet({
      hub: `ws://127.0.0.1:${port}`,
      devices,
      profile: 'relay',
      rate: 0.001,
      backoff: { baseMs: 100, capMs: 1_000 },
      seed: 23,
    });
    let auth = { authorization: `Bearer ${await login(port)}` };
    const call = async (method: string, path: string, body?: unknown) => {
      const r = await fetch(`${base}${path}`, {
        method,
        headers: { ...auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: r.status, body: (await r.json()) as Record<string, unknown> };
    };
    try {
      await eventually(
        async () => ((await call('GET', '/devices?status=online&limit=1')).body.total === COUNT ? true : undefined),
        'every device online',
        120_000,
      );
      const created = await call('POST', '/jobs', {
        action: { type: 'command', name: 'ping', ttl: '10m', timeout: '1m' },
        selection: { tags: ['bench'] },
        rollout: { maxInProgress: 500 },
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const jobId = created.body.id as string;
      const job = async () => (await call('GET', `/jobs/${jobId}`)).body as unknown as Job;
      let maxSeen = 0;
      await eventually(
        async () => {
          const j = await job();
          maxSeen = Math.max(maxSeen, j.counts.in_progress);
          if (process.env.JOBS_TEST_DEBUG) console.log(JSON.stringify({ state: j.state, counts: j.counts, reasons: j.reasons }));
          return j.counts.succeeded >= COUNT / 5 ? true : undefined;
        },
        'a fifth of the devices done',
        120_000,
      );
      await hub.child.stop('SIGKILL');
      hub = await startHub(seeded.dir, ['--port', String(port)]);
      auth = { authorization: `Bearer ${await login(port)}` };
      const done = await eventually(
        async () => {
          const j = await job();
          maxSeen = Math.max(maxSeen, j.counts.in_progress);
          return j.state === 'completed' ? j : undefined;
        },
        'the job to complete after the restart',
        240_000,
      );
      assert.deepEqual(done.counts, { pending: 0, in_progress: 0, succeeded: COUNT, failed: 0, skipped: 0, cancelled: 0, timed_out: 0 });
      assert.ok(maxSeen <= 500, `at most 500 in progress (saw ${maxSeen})`);
      // Each device's row names its command, and that command succeeded.
      const page = (await call('GET', `/jobs/${jobId}/devices?limit=1000`)).body.devices as {
        device: string;
        ref: string;
        state: string;
      }[];
      assert.equal(page.length, Math.min(COUNT, 1_000));
      // A result the killed hub had not written yet is written once the device answers the resent command from memory.
      for (const d of page.slice(0, 50)) {
        assert.equal(d.state, 'succeeded');
        const c = await eventually(
          async () => {
            const c = await call('GET', `/commands/${d.ref}`);
            return c.body.state === 'succeeded' ? c : undefined;
          },
          `${d.device}'s command ${d.ref} stored as succeeded`,
          60_000,
        );
        assert.equal(c.body.device, d.device);
        assert.equal(c.body.key, `${jobId}/${d.device}`);
      }
    } finally {
      await fleet.stop();
      await hub.child.stop();
      rmSync(seeded.dir, { recursive: true, force: true });
    }
  });
});
