// A fleet job's deadline (docs/jobs.md, Deadline): a job whose devices never finish
// (one offline for good, one that never answers its command) ends `timed_out` at its
// deadline, with those devices `timed_out`, the command in progress cancelled (an
// update in progress ends `timed_out`, SPEC.md §12.7), and the end announced as every
// other end: `halyard/jobs/{id}/status` (retained), a `job.finished` webhook delivery,
// an audit entry and the finished-devices metric. A deadline that passes while the hub
// is down is acted on when it is back. Runs on the test store (SQLite, or PostgreSQL
// with HALYARD_TEST_STORE=postgres).

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { MessageType, UpdateState } from '@halyard/firmware-protocol';
import { TestDevice } from './helpers/device.js';
import { eventually } from './helpers/eventually.js';
import { metricSample, startTestHub, type TestHub } from './helpers/hub.js';
import { createIntegrator, TestMqtt } from './helpers/mqtt.js';

// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON bodies
type Json = any;

const DAY_MS = 86_400_000;

describe('fleet job deadlines', () => {
  let t: TestHub;
  let mqtt: TestMqtt;
  let device: TestDevice;
  let receiver: Server;
  /** Bodies of the webhook deliveries received. */
  const delivered: Json[] = [];

  before(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        delivered.push(JSON.parse(Buffer.concat(chunks).toString()));
        res.writeHead(204).end();
      });
    });
    receiver.listen(0, '127.0.0.1');
    await once(receiver, 'listening');
    t = await startTestHub(['--webhook-allow', '127.0.0.1', '--job-deadline', '3d', '--job-deadline-max', '10d']);
    const hook = await t.api.post('/webhooks', {
      name: 'jobs',
      url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`,
      events: ['job.finished'],
    });
    assert.equal(hook.status, 201, JSON.stringify(hook.body));
    const online = await t.api.provision('dl-online', { tags: ['dl'] });
    await t.api.provision('dl-offline', { tags: ['dl'] });
    device = await TestDevice.connect(t.ws, online);
    await createIntegrator(t.api, 'watch', 'watch-password-1');
    mqtt = await TestMqtt.connect(`mqtt://127.0.0.1:${t.hub.mqttPort}`, { username: 'watch', password: 'watch-password-1' });
    await mqtt.subscribe('halyard/jobs/#');
  });
  after(async () => {
    device.ws.close();
    await mqtt.close();
    await t.close();
    receiver.closeAllConnections();
    receiver.close();
  });

  it('is --job-deadline when a job gives none, and refused beyond --job-deadline-max or below 1 s', async () => {
    const spec = { action: { type: 'desired', patch: { x: 1 } }, selection: { devices: ['nobody'] } };
    const plain = await t.api.post('/jobs', spec);
    assert.equal(plain.status, 201, JSON.stringify(plain.body));
    assert.equal(plain.body.deadlineAt - plain.body.createdAt, 3 * DAY_MS, 'the configured default');
    assert.equal(plain.body.spec.deadline, 3 * DAY_MS);
    const given = await t.api.post('/jobs', { ...spec, deadline: '36h' });
    assert.equal(given.body.deadlineAt - given.body.createdAt, 1.5 * DAY_MS);
    for (const [deadline, why] of [
      ['11d', /at most 10d/],
      [500, /at least 1000 ms/],
      ['soon', /a duration/],
    ] as const) {
      const r = await t.api.post('/jobs', { ...spec, deadline });
      assert.equal(r.status, 400, String(deadline));
      assert.equal(r.body.error.field, 'deadline');
      assert.match(r.body.error.message, why);
    }
    for (const id of [plain.body.id, given.body.id]) await t.api.post(`/jobs/${id}/cancel`);
  });

  it('ends a job whose devices never finish timed_out, with each unfinished device timed_out', async () => {
    const r = await t.api.post('/jobs', {
      name: 'never-ends',
      action: { type: 'command', name: 'calibrate', ttl: '1h', timeout: '1h' },
      selection: { tags: ['dl'] },
      deadline: '3s',
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const id = r.body.id as string;
    // The online device gets the command and never answers; the offline one never starts.
    await device.waitFor((m) => m.type === MessageType.Command && (m as { name: string }).name === 'calibrate');
    const running = (await t.api.get(`/jobs/${id}`)).body;
    assert.equal(running.state, 'running');
    assert.deepEqual([running.counts.in_progress, running.counts.pending], [1, 1]);
    const end = await eventually(
      async () => {
        const j = (await t.api.get(`/jobs/${id}`)).body;
        return j.state === 'timed_out' ? j : undefined;
      },
      'the job to time out',
      10_000,
    );
    assert.ok(end.finishedAt >= end.deadlineAt, 'not before its deadline');
    assert.match(end.reason, /^deadline passed \(.+\): 2 of 2 devices not finished$/);
    assert.deepEqual([end.counts.timed_out, end.counts.pending, end.counts.in_progress], [2, 0, 0]);
    assert.deepEqual(end.reasons, [{ reason: 'job deadline passed', n: 2 }]);
    const rows = (await t.api.get(`/jobs/${id}/devices`)).body.devices as Json[];
    assert.deepEqual(
      rows.map((d) => [d.device, d.state]),
      [
        ['dl-offline', 'timed_out'],
        ['dl-online', 'timed_out'],
      ],
    );
    const ref = rows.find((d) => d.device === 'dl-online')?.ref;
    await eventually(async () => (await t.api.get(`/commands/${ref}`)).body.state === 'cancelled' || undefined, 'the command cancelled');
    // Announced as every end.
    const status = await mqtt.next(`halyard/jobs/${id}/status`, (m) => JSON.parse(m.text).state === 'timed_out');
    assert.equal(JSON.parse(status.text).counts.timed_out, 2);
    const hook = await eventually(
      () => delivered.find((b) => b.type === 'job.finished' && b.data.job.id === id),
      'the job.finished delivery',
    );
    assert.equal(hook.data.job.state, 'timed_out');
    assert.equal(hook.data.job.deadlineAt, end.deadlineAt);
    const entry = ((await t.api.get('/audit?limit=100')).body.entries as Json[]).find(
      (e: Json) => e.action === 'job.timeout' && e.target === id,
    );
    assert.ok(entry, 'audited job.timeout');
    assert.equal(entry.actor, `job:${id}`);
    assert.equal(entry.detail.unfinished, 2);
    assert.ok((await metricSample(t, 'halyard_job_devices_finished_total{state="timed_out"}')) >= 2);
    assert.equal((await t.api.post(`/jobs/${id}/resume`)).status, 409, 'over for good');
  });

  it('ends an update in progress timed_out at the deadline (SPEC.md §12.7), and the device gets UPDATE_CANCEL', async () => {
    const model = 'dl-ota';
    const up = await fetch(`${t.http}/api/v1/firmware?model=${model}&version=2.0.0`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.api.token}`, 'content-type': 'application/octet-stream' },
      body: Buffer.alloc(4096, 7),
    });
    assert.equal(up.status, 201);
    const firmware = ((await up.json()) as { id: string }).id;
    const ota = await TestDevice.connect(t.ws, await t.api.provision('dl-ota-1'), { model, fw: '1.0.0', caps: ['ota'] });
    const r = await t.api.post('/jobs', { action: { type: 'update', firmware }, selection: { devices: ['dl-ota-1'] }, deadline: '2s' });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    // The device takes the offer and then never asks for a chunk: the download is still going at the deadline.
    const offer = (await ota.waitFor((m) => m.type === MessageType.UpdateOffer)) as { job: string };
    ota.send({ type: MessageType.UpdateStatus, seq: ++ota.seq, job: offer.job, state: UpdateState.Downloading, progress: 0 });
    await ota.waitAck(ota.seq);
    const cancel = await ota.waitFor((m) => m.type === MessageType.UpdateCancel, 10_000);
    assert.equal((cancel as { job: string }).job, offer.job);
    const update = (await t.api.get(`/updates/${offer.job}`)).body;
    assert.equal(update.state, 'timed_out', 'an update ended by a deadline is timed_out, not cancelled');
    assert.equal(update.job, r.body.id);
    const job = (await t.api.get(`/jobs/${r.body.id}`)).body;
    assert.deepEqual([job.state, job.counts.timed_out], ['timed_out', 1]);
    await ota.close();
  });

  it('a deadline that passed while the hub was down ends the job when the hub is back', async () => {
    const r = await t.api.post('/jobs', {
      action: { type: 'command', name: 'calibrate', ttl: '1h', timeout: '1h' },
      selection: { devices: ['dl-offline'] },
      deadline: '2s',
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const id = r.body.id as string;
    device.ws.close();
    await mqtt.close();
    await t.stop();
    // The deadline is a time: nothing to wait for but the clock.
    await delay(Math.max(0, r.body.deadlineAt - Date.now() + 100));
    const restartedAt = Date.now();
    const back = await startTestHub(['--webhook-allow', '127.0.0.1'], t.dir);
    t = back;
    mqtt = await TestMqtt.connect(`mqtt://127.0.0.1:${t.hub.mqttPort}`, { username: 'watch', password: 'watch-password-1' });
    device = await TestDevice.connect(t.ws, await t.api.post('/devices/dl-online/token').then((x) => x.body.token as string));
    const end = await eventually(async () => {
      const j = (await t.api.get(`/jobs/${id}`)).body;
      return j.state === 'timed_out' ? j : undefined;
    }, 'the job to time out after the restart');
    assert.equal(end.counts.timed_out, 1);
    assert.ok(end.finishedAt >= restartedAt, 'ended by the hub that came back');
  });
});
