// Fleet jobs through the API and MQTT (docs/jobs.md), with protocol-level test
// devices: a desired-state patch job reaches offline devices too and completes; a
// command job started one device at a time is cancelled (the command in progress is
// cancelled, the devices not started are skipped); every change is on MQTT
// (`halyard/jobs/{id}/status` retained, `halyard/devices/{id}/jobs/{job}`).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MessageType } from '@halyard/firmware-protocol';
import { TestDevice } from './helpers/device.js';
import { eventually } from './helpers/eventually.js';
import { startTestHub, type TestHub } from './helpers/hub.js';
import { createIntegrator, TestMqtt } from './helpers/mqtt.js';

describe('fleet jobs over the API and MQTT', () => {
  let t: TestHub;
  let mqtt: TestMqtt;
  const devices: TestDevice[] = [];

  before(async () => {
    t = await startTestHub();
    const tokens: string[] = [];
    for (const id of ['job-a', 'job-b', 'job-c', 'job-d']) tokens.push(await t.api.provision(id, { tags: ['j'] }));
    // job-d stays offline.
    for (const token of tokens.slice(0, 3)) devices.push(await TestDevice.connect(t.ws, token));
    await createIntegrator(t.api, 'watch', 'watch-password-1');
    mqtt = await TestMqtt.connect(`mqtt://127.0.0.1:${t.hub.mqttPort}`, { username: 'watch', password: 'watch-password-1' });
    await mqtt.subscribe('halyard/jobs/#', 'halyard/devices/+/jobs/#');
  });
  after(async () => {
    for (const d of devices) d.ws.close();
    await mqtt.close();
    await t.close();
  });

  it('refuses a bad spec with the field named, and an unknown job', async () => {
    const bad = await t.api.post('/jobs', {
      action: { type: 'command', name: 'x' },
      selection: {},
      rollout: { stages: [{ percent: 50 }] },
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.field, 'rollout.stages');
    // What the device would refuse is refused here, as PATCH /twin/desired and POST /commands do: a
    // "__proto__" key was dropped on the way in and the job "succeeded" changing nothing.
    for (const [key, field] of [
      ['__proto__', 'action.patch.__proto__'],
      ['constructor', 'action.patch.constructor'],
    ]) {
      const reserved = await t.api.call('POST', '/jobs', `{"action":{"type":"desired","patch":{"${key}":{"x":1}}},"selection":{}}`);
      assert.equal(reserved.status, 400, JSON.stringify(reserved.body));
      assert.equal(reserved.body.error.field, field);
    }
    const params = await t.api.call(
      'POST',
      '/jobs',
      '{"action":{"type":"command","name":"x","params":{"a":{"__proto__":1}}},"selection":{}}',
    );
    assert.equal(params.status, 400, JSON.stringify(params.body));
    assert.equal(params.body.error.field, 'action.params.a.__proto__');
    // A command the commands route would refuse is refused here, naming the field, not skipped on every device.
    for (const [action, field] of [
      [{ name: 'bad name!' }, 'action.name'],
      [{ name: 'ok', ttl: 'abc' }, 'action.ttl'],
      [{ name: 'ok', timeout: '-5s' }, 'action.timeout'],
      [{ name: 'ok', ttl: '60d' }, 'action.ttl'],
    ] as const) {
      const r = await t.api.post('/jobs', { action: { type: 'command', ...action }, selection: {} });
      assert.deepEqual([r.status, r.body.error?.field], [400, field], JSON.stringify(r.body));
    }
    const many = await t.api.post('/jobs', {
      action: { type: 'command', name: 'ok' },
      selection: { devices: Array.from({ length: 5_001 }, (_, i) => `d-${i}`) },
    });
    assert.deepEqual([many.status, many.body.error?.field], [400, 'selection.devices'], 'at most 5,000 ids');
    assert.deepEqual((await t.api.get('/jobs')).body.jobs, []);
    const noImage = await t.api.post('/jobs', { action: { type: 'update', firmware: 'fw-none' }, selection: {} });
    assert.equal(noImage.status, 404);
    assert.equal((await t.api.get('/jobs/j-000000000000')).status, 404);
    assert.equal((await t.api.get('/jobs/j-000000000000')).body.error.code, 'HUB_ERR_JOB_UNKNOWN');
  });

  it('a desired-state patch job reaches every selected device, online or not, and completes', async () => {
    const preview = await t.api.post('/jobs/preview', { action: { type: 'desired', patch: { mode: 'eco' } }, selection: { tags: ['j'] } });
    assert.deepEqual([preview.body.count, preview.body.online], [4, 3]);
    const r = await t.api.post('/jobs', { name: 'eco', action: { type: 'desired', patch: { mode: 'eco' } }, selection: { tags: ['j'] } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const id = r.body.id as string;
    const done = await eventually(async () => {
      const j = (await t.api.get(`/jobs/${id}`)).body;
      return j.state === 'completed' ? j : undefined;
    }, 'the job to complete');
    assert.equal(done.counts.succeeded, 4);
    assert.equal((await t.api.get('/devices/job-d/twin')).body.desired.mode, 'eco');
    // The online devices got DESIRED.
    await devices[0]?.until(() => devices[0]?.received.some((m) => m.type === MessageType.Desired) ?? false, 'DESIRED');
    const status = await mqtt.next(`halyard/jobs/${id}/status`, (m) => JSON.parse(m.text).state === 'completed');
    assert.equal(JSON.parse(status.text).counts.succeeded, 4);
    const perDevice = await mqtt.next(`halyard/devices/job-d/jobs/${id}`, (m) => JSON.parse(m.text).state === 'succeeded');
    assert.equal(JSON.parse(perDevice.text).job, id);
    // Retained: a client subscribing later gets the job's last status.
    const late = await TestMqtt.connect(`mqtt://127.0.0.1:${t.hub.mqttPort}`, { username: 'watch', password: 'watch-password-1' });
    try {
      await late.subscribe(`halyard/jobs/${id}/status`);
      const kept = await late.next(`halyard/jobs/${id}/status`);
      assert.equal(JSON.parse(kept.text).state, 'completed');
    } finally {
      await late.close();
    }
  });

  it('a stage that waits for approval starts only by approve: pause and resume cannot get past it (red team)', async () => {
    const r = await t.api.post('/jobs', {
      name: 'gated',
      action: { type: 'desired', patch: { gate: 'x' } },
      selection: { tags: ['j'] },
      rollout: { stages: [{ percent: 50 }, { percent: 100, approval: true }] },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const id = r.body.id as string;
    await eventually(async () => (await t.api.get(`/jobs/${id}`)).body.state === 'waiting', 'the job waiting at stage 2');
    const started = async () =>
      ((await t.api.get(`/jobs/${id}/devices`)).body.devices as { state: string }[]).filter((d) => d.state !== 'pending');
    const before = (await started()).length;
    assert.equal(before, 2, 'stage 1: half of the four');
    for (const verb of ['pause', 'resume']) {
      const refused = await t.api.post(`/jobs/${id}/${verb}`);
      assert.equal(refused.status, 409, verb);
      assert.equal(refused.body.error.code, 'HUB_ERR_JOB_STATE', verb);
      assert.match(refused.body.error.message, /waits for an operator's approval/);
    }
    assert.equal((await t.api.get(`/jobs/${id}`)).body.state, 'waiting');
    assert.equal((await started()).length, before, 'nothing of stage 2 started');
    assert.equal((await t.api.post(`/jobs/${id}/approve`)).status, 200);
    const done = await eventually(async () => {
      const j = (await t.api.get(`/jobs/${id}`)).body;
      return j.state === 'completed' ? j : undefined;
    }, 'the job completed once approved');
    assert.equal(done.counts.succeeded, 4);
    // Over: a final state's own code.
    const late = await t.api.post(`/jobs/${id}/pause`);
    assert.equal(late.body.error.code, 'HUB_ERR_JOB_FINAL');
  });

  it("a command of someone else's with the job's key for a device does not settle that device in the job", async () => {
    const r = await t.api.post('/jobs', {
      action: { type: 'command', name: 'survey', ttl: '1m', timeout: '1m' },
      selection: { devices: ['job-b'] },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const id = r.body.id as string;
    const b = devices[1] as TestDevice;
    await b.waitFor((m) => m.type === MessageType.Command && (m as { name: string }).name === 'survey');
    // The admin (not the job) sends a command under the key the job uses for job-b, and cancels it.
    const spoof = await t.api.call(
      'POST',
      '/devices/job-b/commands',
      { name: 'harmless', ttl: '1m' },
      { 'Idempotency-Key': `${id}/job-b` },
    );
    assert.equal(spoof.status, 201, JSON.stringify(spoof.body));
    assert.equal((await t.api.post(`/commands/${spoof.body.id}/cancel`)).status, 200);
    await eventually(async () => (await t.api.get(`/commands/${spoof.body.id}`)).body.state === 'cancelled', 'the other command cancelled');
    const job = (await t.api.get(`/jobs/${id}`)).body;
    assert.deepEqual([job.state, job.counts.in_progress, job.counts.cancelled], ['running', 1, 0], JSON.stringify(job.counts));
    const row = ((await t.api.get(`/jobs/${id}/devices`)).body.devices as { ref: string }[])[0];
    assert.notEqual(row?.ref, spoof.body.id, 'the job still follows its own command');
    assert.equal((await t.api.post(`/jobs/${id}/cancel`)).status, 200);
  });

  it('cancelling a command job cancels the command in progress and skips the devices not started', async () => {
    const spec = {
      action: { type: 'command', name: 'calibrate', params: { n: 1 }, ttl: '1m', timeout: '1m' },
      selection: { tags: ['j'], status: 'online' },
      rollout: { maxInProgress: 1 },
    };
    const r = await t.api.post('/jobs', spec);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const id = r.body.id as string;
    // job-a (first in id order) gets the command; nobody answers it.
    const a = devices[0] as TestDevice;
    await a.waitFor((m) => m.type === MessageType.Command && (m as { name: string }).name === 'calibrate');
    const running = (await t.api.get(`/jobs/${id}`)).body;
    assert.deepEqual([running.counts.in_progress, running.counts.pending], [1, 2]);
    const cancelled = await t.api.post(`/jobs/${id}/cancel`);
    assert.equal(cancelled.status, 200);
    assert.equal(cancelled.body.state, 'cancelled');
    const end = await eventually(async () => {
      const j = (await t.api.get(`/jobs/${id}`)).body;
      return j.counts.pending === 0 && j.counts.in_progress === 0 ? j : undefined;
    }, 'every device settled');
    assert.deepEqual([end.counts.cancelled, end.counts.skipped], [1, 2]);
    assert.deepEqual(end.reasons, [
      { reason: 'job cancelled', n: 2 },
      { reason: 'cancelled', n: 1 },
    ]);
    const list = (await t.api.get(`/jobs/${id}/devices`)).body.devices as { device: string; state: string; ref: string | null }[];
    const first = list.find((d) => d.device === 'job-a');
    assert.equal(first?.state, 'cancelled');
    assert.equal((await t.api.get(`/commands/${first?.ref}`)).body.state, 'cancelled');
    assert.equal((await t.api.post(`/jobs/${id}/resume`)).status, 409);
    const jobs = (await t.api.get('/jobs')).body.jobs as { id: string }[];
    assert.equal(jobs[0]?.id, id, 'newest first');
  });

  it('keeps at most 100 jobs open: one more is 429 until one ends (red team)', async () => {
    const open = async () =>
      ((await t.api.get('/jobs')).body.jobs as { state: string }[]).filter((j) => ['running', 'paused', 'waiting'].includes(j.state))
        .length;
    // A command for the device that stays offline keeps each job running.
    const spec = { action: { type: 'command', name: 'noop' }, selection: { devices: ['job-d'] } };
    const ids: string[] = [];
    for (let n = await open(); n < 100; n++) {
      const r = await t.api.post('/jobs', spec);
      assert.equal(r.status, 201, JSON.stringify(r.body));
      ids.push(r.body.id);
    }
    const over = await t.api.post('/jobs', spec);
    assert.deepEqual([over.status, over.body.error.code], [429, 'HUB_ERR_QUEUE_FULL']);
    assert.match(over.body.error.message, /at most 100 open jobs/);
    assert.equal((await t.api.post(`/jobs/${ids[0]}/cancel`)).status, 200);
    const next = await t.api.post('/jobs', spec);
    assert.equal(next.status, 201);
    for (const id of [...ids.slice(1), next.body.id]) await t.api.post(`/jobs/${id}/cancel`);
  });
});
