// What operators and integrators want sent to a device (command params, desired
// documents) is held to the limits the device's own decoder applies (SPEC.md §3.2,
// §9), on every channel: HTTP, the console and MQTT. A refused request is answered
// with the offending field and stores nothing; the device never receives a frame its
// decoder refuses (TestDevice decodes with the reference decoder and fails the test
// on anything it rejects).

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MessageType } from '@halyard/firmware-protocol';
import Database from 'better-sqlite3';
import { ConsoleClient } from './console-client.js';
import { TestDevice } from './helpers/device.js';
import { eventually } from './helpers/eventually.js';
import { startTestHub, type TestHub } from './helpers/hub.js';
import { createIntegrator, TestMqtt } from './helpers/mqtt.js';
import { sqliteOnly } from './helpers/test-store.js';

const P = 'halyard/devices';
/** A small --max-frame, so whole-frame limits are reached with small documents. */
const MAX_FRAME = 4_096;

function nested(levels: number): Record<string, unknown> {
  let v: Record<string, unknown> = { leaf: 1 };
  for (let i = 1; i < levels; i++) v = { d: v };
  return v;
}

describe('downlink data limits', () => {
  let t: TestHub;
  before(async () => {
    t = await startTestHub(['--max-frame', String(MAX_FRAME)]);
  });
  after(() => t.close());

  it('HTTP commands: reserved keys, depth, strings, entries and frame size are refused with the field, before anything is stored', async () => {
    const d = await TestDevice.connect(t.ws, await t.api.provision('dl-http-cmd'));
    const cases: [unknown, number, string][] = [
      [{ valve: { constructor: { open: true } } }, 400, 'params.valve.constructor'],
      [[1, { prototype: 1 }], 400, 'params.1.prototype'],
      // params is level 2 of the COMMAND array; 16 levels is the most a device accepts.
      [nested(16), 400, 'params.d.d.d.d.d.d.d.d.d.d.d.d.d.d.d'],
      [{ s: 'é'.repeat(8_193) }, 413, 'params.s'],
      [{ list: new Array(4_097).fill(0) }, 413, 'params.list'],
      // Each part within the limits, the whole COMMAND over --max-frame.
      [{ a: 'x'.repeat(1_500), b: 'y'.repeat(1_500), c: 'z'.repeat(1_500) }, 413, 'params'],
    ];
    for (const [params, status, field] of cases) {
      const r = await t.api.post('/devices/dl-http-cmd/commands', { name: 'open-valve', params });
      assert.equal(r.status, status, `${field}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error.field, field);
      assert.equal(r.body.error.code, status === 413 ? 'HUB_ERR_TOO_LARGE' : 'HUB_ERR_VALIDATION');
    }
    assert.deepStrictEqual((await t.api.get('/devices/dl-http-cmd/commands')).body.commands, [], 'nothing stored');
    // 15 levels fit: the first COMMAND the device sees is this one, and it decodes.
    const ok = await t.api.post('/devices/dl-http-cmd/commands', { name: 'open-valve', params: nested(15) });
    assert.equal(ok.status, 201);
    const cmd = await d.waitFor((m) => m.type === MessageType.Command);
    assert.equal(cmd.type === MessageType.Command && cmd.id, ok.body.id);
    assert.equal(d.closed, undefined);
    await d.close();
  });

  it('HTTP: a "__proto__" key is refused, not dropped; JSON nested 100,000 deep is a 400, not a crash', async () => {
    await t.api.provision('dl-http-raw');
    const proto = await t.api.call('POST', '/devices/dl-http-raw/commands', '{"name":"noop","params":{"a":{"__proto__":{"x":1}}}}');
    assert.deepStrictEqual([proto.status, proto.body.error.field], [400, 'params.a.__proto__']);
    const patch = await t.api.call('PATCH', '/devices/dl-http-raw/twin/desired', '{"__proto__":{"x":1}}');
    assert.deepStrictEqual([patch.status, patch.body.error.field], [400, 'desired.__proto__']);
    const deep = `{"name":"noop","params":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    const r = await t.api.call('POST', '/devices/dl-http-raw/commands', deep);
    assert.equal(r.status, 400, JSON.stringify(r.body).slice(0, 200));
    // Refused as a body before any validator recurses into it (json-depth.ts).
    assert.equal(r.body.error.field, 'body');
    assert.deepStrictEqual((await t.api.get('/devices/dl-http-raw/commands')).body.commands, []);
    assert.equal((await fetch(`${t.http}/healthz`)).status, 200);
  });

  it('HTTP desired: the patch and the merged document are checked; a null for a reserved key is accepted', async () => {
    const d = await TestDevice.connect(t.ws, await t.api.provision('dl-http-twin'));
    const path = '/devices/dl-http-twin/twin/desired';
    const cases: [unknown, number, string][] = [
      [{ constructor: { x: 1 } }, 400, 'desired.constructor'],
      [{ a: { b: [{ prototype: 'p' }] } }, 400, 'desired.a.b.0.prototype'],
      [{ s: 'x'.repeat(16_385) }, 413, 'desired.s'],
      [{ list: new Array(4_097).fill(true) }, 413, 'desired.list'],
    ];
    for (const [patch, status, field] of cases) {
      const r = await t.api.patch(path, patch);
      assert.equal(r.status, status, `${field}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error.field, field);
    }
    assert.equal((await t.api.patch(path, { constructor: null })).status, 200, 'removing a reserved key is always allowed');
    assert.equal((await t.api.patch(path, { a: 'x'.repeat(1_800) })).status, 200);
    // This patch fits on its own; the document it makes does not fit a DESIRED frame.
    const big = await t.api.patch(path, { b: 'y'.repeat(2_400) });
    assert.equal(big.status, 413, JSON.stringify(big.body));
    assert.equal(big.body.error.field, 'desired');
    assert.match(big.body.error.message, /DESIRED message would be \d+ bytes; devices accept at most 4096/);
    const twin = (await t.api.get('/devices/dl-http-twin/twin')).body;
    assert.equal(twin.desiredVersion, 1);
    assert.deepStrictEqual(Object.keys(twin.desired), ['a']);
    const m = await d.waitFor((x) => x.type === MessageType.Desired);
    assert.equal(m.type === MessageType.Desired && m.version, 1);
    assert.equal(d.closed, undefined);
    await d.close();
  });

  it('console: refused params and patches get a reply naming the field, and the channel stays open', async () => {
    await t.api.provision('dl-console');
    const con = await ConsoleClient.open(t.ws, { token: t.api.token as string });
    try {
      let r = await con.request({ t: 'command', device: 'dl-console', name: 'noop', params: { constructor: 1 } });
      assert.deepStrictEqual(r.ok ? undefined : [r.error.code, r.error.field], ['HUB_ERR_VALIDATION', 'params.constructor']);
      r = await con.request({ t: 'command', device: 'dl-console', name: 'noop', params: nested(20) });
      assert.deepStrictEqual(r.ok ? undefined : [r.error.code, r.error.field], ['HUB_ERR_VALIDATION', `params${'.d'.repeat(15)}`]);
      r = await con.request({ t: 'command', device: 'dl-console', name: 'noop', params: { s: 'x'.repeat(20_000) } });
      assert.deepStrictEqual(r.ok ? undefined : [r.error.code, r.error.field], ['HUB_ERR_TOO_LARGE', 'params.s']);
      r = await con.request({ t: 'twin.patch', device: 'dl-console', patch: { prototype: { x: 1 } } });
      assert.deepStrictEqual(r.ok ? undefined : [r.error.code, r.error.field], ['HUB_ERR_VALIDATION', 'desired.prototype']);
      r = await con.request({ t: 'twin.patch', device: 'dl-console', patch: new Map([['__proto__', 1]]) });
      assert.deepStrictEqual(r.ok ? undefined : [r.error.code, r.error.field], ['HUB_ERR_VALIDATION', 'desired.__proto__']);
      r = await con.request({ t: 'twin.patch', device: 'dl-console', patch: { constructor: null, ok: 1 } });
      assert.equal(r.ok, true, JSON.stringify(r));
      assert.equal(con.closed, undefined);
      assert.deepStrictEqual((await t.api.get('/devices/dl-console/commands')).body.commands, []);
    } finally {
      await con.close();
    }
  });

  it('MQTT: refused params and patches are answered "rejected" with the field', async () => {
    await t.api.provision('dl-mqtt');
    await createIntegrator(t.api, 'dl-int', 'dl-int-password');
    const c = await TestMqtt.connect(`mqtt://127.0.0.1:${t.hub.mqttPort}`, { username: 'dl-int', password: 'dl-int-password' });
    try {
      await c.subscribe(`${P}/dl-mqtt/#`);
      const cmdTopic = `${P}/dl-mqtt/cmd/noop`;
      await c.publish(cmdTopic, JSON.stringify({ params: { a: { constructor: 1 } } }));
      const s = JSON.parse((await c.next(`${cmdTopic}/status`)).text);
      assert.deepStrictEqual([s.status, s.code, s.field], ['rejected', 'HUB_ERR_VALIDATION', 'params.a.constructor']);
      assert.match(s.error, /params\.a\.constructor/);
      await c.publish(`${P}/dl-mqtt/twin/desired/set`, JSON.stringify({ x: [{ prototype: 1 }] }));
      const r = JSON.parse((await c.next(`${P}/dl-mqtt/twin/desired/set/status`)).text);
      assert.deepStrictEqual([r.status, r.code, r.field], ['rejected', 'HUB_ERR_VALIDATION', 'desired.x.0.prototype']);
      assert.deepStrictEqual((await t.api.get('/devices/dl-mqtt/commands')).body.commands, []);
      assert.equal((await t.api.get('/devices/dl-mqtt/twin')).body.desiredVersion, 0);
    } finally {
      await c.close();
    }
  });
});

describe('downlink data stored before the checks', {
  skip: sqliteOnly(
    'plants what an older hub stored in halyard.db; the PostgreSQL store is newer than these checks, so it never held such data',
  ),
}, () => {
  it('is never sent: the command fails, the document waits until a console removes the key with null', async () => {
    let t = await startTestHub();
    const token = await t.api.provision('dl-legacy');
    const dir = t.dir;
    await t.stop();
    // What a hub without these checks stored.
    const db = new Database(join(dir, 'halyard.db'));
    const device = db.prepare('SELECT rowid FROM devices WHERE id = ?').pluck().get('dl-legacy') as number;
    db.prepare(
      `INSERT INTO twins (device, desired, desired_version, desired_updated, reported, reported_version, reported_updated)
       VALUES (?, ?, 1, '{}', '{}', 0, '{}')`,
    ).run(device, JSON.stringify({ constructor: { x: 1 }, mode: 'eco' }));
    const now = Date.now();
    const rowid = db
      .prepare(
        `INSERT INTO commands (id, device, name, params, state, key, created_at, created_by, ttl, timeout, updated_at)
         VALUES ('c-legacy', ?, 'open-valve', '{"prototype":1}', 'queued', NULL, ?, 'admin', 600000, 30000, ?)`,
      )
      .run(device, now, now).lastInsertRowid;
    db.prepare("INSERT INTO command_history (command, state, at) VALUES (?, 'queued', ?)").run(rowid, now);
    db.close();

    t = await startTestHub([], dir);
    try {
      const d = await TestDevice.connect(t.ws, token);
      const failed = await eventually(async () => {
        const c = (await t.api.get('/commands/c-legacy')).body;
        return c.state === 'failed' ? c : undefined;
      }, 'the legacy command to fail');
      assert.match(failed.error, /params\.prototype/);
      assert.ok(t.logs.some((l) => l.msg === 'desired document not sent: the device would refuse it' && l.field === 'desired.constructor'));
      // Changing anything else is refused while the reserved key is there, naming it.
      const other = await t.api.patch('/devices/dl-legacy/twin/desired', { mode: 'heat' });
      assert.deepStrictEqual([other.status, other.body.error.field], [400, 'desired.constructor']);
      const con = await ConsoleClient.open(t.ws, { token: t.api.token as string });
      const r = await con.request({ t: 'twin.patch', device: 'dl-legacy', patch: { constructor: null } });
      assert.equal(r.ok, true, JSON.stringify(r));
      await con.close();
      const m = await d.waitFor((x) => x.type === MessageType.Desired);
      assert.deepStrictEqual(m.type === MessageType.Desired && [m.version, m.desired], [2, { mode: 'eco' }]);
      assert.ok(!d.received.some((x) => x.type === MessageType.Command), 'the legacy command never reached the device');
      assert.equal(d.closed, undefined);
      await d.close();
    } finally {
      await t.close();
    }
  });
});
