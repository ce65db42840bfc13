// docs/device-api.md shows device authors real answers of the HTTP API. This test
// plays the doc's scenario against a real hub and checks that every example there
// has the shape (keys and value types) of today's answer, so the doc cannot rot.
// HALYARD_PRINT_EXAMPLES=1 prints the answers, to refresh the doc's examples.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { MessageType } from '@halyard/firmware-protocol';
import { TestDevice } from './helpers/device.js';
import { eventually } from './helpers/eventually.js';
import { startTestHub, type TestHub } from './helpers/hub.js';

const DOC = new URL('../../docs/device-api.md', import.meta.url);

/** The JSON examples of the doc, by the name in the `<!-- example: name -->` line before each. */
function docExamples(): Map<string, unknown> {
  const text = readFileSync(DOC, 'utf8');
  const out = new Map<string, unknown>();
  for (const m of text.matchAll(/<!-- example: ([a-z-]+) -->\s*```json\n([\s\S]*?)\n```/g)) {
    out.set(m[1] as string, JSON.parse(m[2] as string));
  }
  return out;
}

/** Keys and value types, not values; an array is the set of its elements' shapes. */
function shape(v: unknown): unknown {
  if (v === null) return 'null';
  if (Array.isArray(v)) return [...new Set(v.map((x) => JSON.stringify(shape(x))))].sort();
  if (typeof v === 'object') {
    return Object.fromEntries(
      Object.entries(v as Record<string, unknown>)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, x]) => [k, shape(x)]),
    );
  }
  return typeof v;
}

describe('docs/device-api.md', () => {
  let t: TestHub;
  const answers = new Map<string, unknown>();

  before(async () => {
    t = await startTestHub();
    const token = await t.api.provision('thermo-1', { name: 'Hall thermostat' });
    const d = await TestDevice.connect(t.ws, token, { fw: '1.4.2', model: 'thermostat-t2' });
    // Five minutes ago, on a minute: four temperatures 30 s apart fill two 1-minute buckets.
    const t0 = Math.floor(Date.now() / 60_000) * 60_000 - 300_000;
    d.send({
      type: MessageType.Telemetry,
      seq: 1,
      pack: [
        { bt: t0 / 1000, n: 'temperature', u: 'Cel', v: 21.5 },
        { n: 'temperature', t: 30, v: 21.75 },
        { n: 'temperature', t: 60, v: 22 },
        { n: 'temperature', t: 90, v: 22.25 },
        { n: 'humidity', u: '%RH', v: 40.5 },
        { n: 'mode', vs: 'heat' },
        { n: 'heating', vb: true },
        { n: 'energy', u: 'J', s: 15200 },
        { n: 'power', u: 'W', v: 1200, s: 36000 },
      ],
    });
    d.send({ type: MessageType.Event, seq: 2, name: 'door.opened', level: 2, data: { by: 'sensor' }, t: t0 / 1000 + 95 });
    d.send({ type: MessageType.Reported, seq: 3, patch: { setpoint: 21, mode: 'heat' } });
    await d.waitAck(3);
    assert.equal((await t.api.patch('/devices/thermo-1/twin/desired', { setpoint: 22 })).status, 200);
    const sent = await t.api.post('/devices/thermo-1/commands', { name: 'reboot', params: { delay: 5 }, timeout: '30s' });
    const command = (await d.waitFor((m) => m.type === MessageType.Command)) as { id: string };
    d.send({ type: MessageType.CmdAccepted, id: command.id });
    d.send({ type: MessageType.CmdResult, id: command.id, status: 0, body: { uptime: 12 } });
    await eventually(async () => (await t.api.get(`/commands/${sent.body.id}`)).body.state === 'succeeded', 'command succeeded');
    await d.close();
    await eventually(async () => (await t.api.get('/devices/thermo-1/presence')).body.presence.length === 2, 'presence rows');

    const range = `from=${t0}&to=${t0 + 120_000}`;
    const requests: Record<string, string> = {
      'telemetry-raw': `/devices/thermo-1/telemetry?name=temperature&${range}`,
      'telemetry-buckets': `/devices/thermo-1/telemetry?name=temperature&${range}&bucket=1m`,
      'telemetry-latest': '/devices/thermo-1/telemetry/latest',
      commands: '/devices/thermo-1/commands',
      command: `/commands/${sent.body.id}`,
      twin: '/devices/thermo-1/twin',
      events: '/devices/thermo-1/events',
      presence: '/devices/thermo-1/presence',
    };
    for (const [name, path] of Object.entries(requests)) {
      const r = await t.api.get(path);
      assert.equal(r.status, 200, `${name}: ${JSON.stringify(r.body)}`);
      answers.set(name, r.body);
      if (process.env.HALYARD_PRINT_EXAMPLES)
        console.log(`GET /api/v1${path}\n<!-- example: ${name} -->\n${JSON.stringify(r.body, null, 2)}\n`);
    }

    // A firmware update (SPEC.md §12): the device lists ota, pulls the image, reboots onto it.
    const upload = await fetch(`${t.http}/api/v1/firmware?model=thermostat-t2&version=1.5.0`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.api.token}`, 'content-type': 'application/octet-stream' },
      body: new Uint8Array(1_000).fill(7),
    });
    const image = ((await upload.json()) as { id: string }).id;
    const started = await t.api.post('/devices/thermo-1/update', { firmware: image });
    assert.equal(started.status, 201, JSON.stringify(started.body));
    const job = started.body.id as string;
    const u = await TestDevice.connect(t.ws, token, { fw: '1.4.2', model: 'thermostat-t2', caps: ['ota'] });
    await u.waitFor((m) => m.type === MessageType.UpdateOffer);
    u.send({ type: MessageType.UpdateStatus, seq: ++u.seq, job, state: 1, progress: 0 });
    u.send({ type: MessageType.ChunkRequest, job, offset: 0, length: 1_000 });
    await u.waitFor((m) => m.type === MessageType.Chunk);
    for (const state of [2, 3, 4, 5] as const) u.send({ type: MessageType.UpdateStatus, seq: ++u.seq, job, state, progress: 1_000 });
    await u.waitAck(u.seq);
    await u.close();
    const rebooted = await TestDevice.connect(t.ws, token, { fw: '1.5.0', model: 'thermostat-t2', caps: ['ota'] });
    await eventually(async () => (await t.api.get(`/updates/${job}`)).body.state === 'succeeded', 'update succeeded');
    await rebooted.close();
    const r = await t.api.get(`/updates/${job}`);
    answers.set('update', r.body);
    if (process.env.HALYARD_PRINT_EXAMPLES)
      console.log(`GET /api/v1/updates/${job}\n<!-- example: update -->\n${JSON.stringify(r.body, null, 2)}\n`);
  });
  after(() => t.close());

  it('has an example for each answer, and no other', () => {
    assert.deepEqual([...docExamples().keys()].sort(), [...answers.keys()].sort());
  });

  it('shows each answer with the keys and value types the hub gives today', () => {
    const examples = docExamples();
    for (const [name, answer] of answers) assert.deepEqual(shape(examples.get(name)), shape(answer), name);
  });
});
