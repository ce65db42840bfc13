// Every topic of README.md § MQTT's table with a real protocol-speaking device
// and a real mqtt.js integrator: status (incl. liveness timeouts), telemetry as
// SenML JSON, events, twins, the command round trip over MQTT, idempotency,
// rejected requests, deleted devices, and hub/status on shutdown.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MessageType } from '@halyard/firmware-protocol';
import { TestDevice } from './helpers/device.js';
import { eventually } from './helpers/eventually.js';
import { startTestHub, type TestHub } from './helpers/hub.js';
import { createIntegrator, TestMqtt } from './helpers/mqtt.js';

const P = 'halyard/devices';

describe('MQTT topics', () => {
  let t: TestHub;
  let c: TestMqtt;
  const login = { username: 'svc', password: 'svc-password' };
  before(async () => {
    t = await startTestHub(['--ping-interval', '200ms', '--ping-timeout', '150ms']);
    await createIntegrator(t.api, 'svc', 'svc-password');
    c = await TestMqtt.connect(`mqtt://127.0.0.1:${t.hub.mqttPort}`, login);
    await c.subscribe('halyard/#');
  });
  after(async () => {
    await c.close();
    await t.close();
  });

  it('status: retained online/offline on every presence change, including liveness timeouts', async () => {
    const token = await t.api.provision('top-status');
    await c.next(`${P}/top-status/status`, (m) => m.text === 'offline');
    const d = await TestDevice.connect(t.ws, token);
    const from = c.received.length;
    await c.next(`${P}/top-status/status`, (m) => m.text === 'online', from);
    await d.close();
    await c.next(`${P}/top-status/status`, (m) => m.text === 'offline', from);
    // A device that stops answering pings is dropped by the liveness check.
    const silent = await TestDevice.open(t.ws, token, { autoPong: false });
    silent.send({ type: MessageType.Hello, proto: 1, fw: '1.0.0', model: 'm' });
    const from2 = c.received.length;
    await c.next(`${P}/top-status/status`, (m) => m.text === 'online', from2);
    await c.next(`${P}/top-status/status`, (m) => m.text === 'offline', from2, 5_000);
    // Presence history is written once a second: the offline above must be the timeout.
    await eventually(async () => (await t.api.get('/devices/top-status/presence')).body.presence[0]?.reason === 'timeout', 'timeout');
    // A new subscriber gets the last state, retained.
    const late = await TestMqtt.connect(`mqtt://127.0.0.1:${t.hub.mqttPort}`, login);
    await late.subscribe(`${P}/top-status/status`);
    const m = await late.next(`${P}/top-status/status`);
    assert.equal(m.text, 'offline');
    assert.equal(m.retain, true);
    await late.close();
  });

  it('telemetry: SenML JSON with absolute names and times, after commit', async () => {
    const d = await TestDevice.connect(t.ws, await t.api.provision('top-tele'));
    const bt = 1_760_000_000;
    const seq = d.telemetry([
      { bn: 'room.', bt, n: 'temp', u: 'Cel', v: 21.5 },
      { n: 'hum', u: '%RH', v: 40, t: 1.25 },
      { n: 'door', vb: true },
      { n: 'mode', vs: 'eco' },
    ]);
    await d.waitAck(seq);
    const m = await c.next(`${P}/top-tele/telemetry`);
    assert.equal(m.retain, false);
    assert.deepStrictEqual(JSON.parse(m.text), [
      { n: 'room.temp', t: bt, u: 'Cel', v: 21.5 },
      { n: 'room.hum', t: bt + 1.25, u: '%RH', v: 40 },
      { n: 'room.door', t: bt, vb: true },
      { n: 'room.mode', t: bt, vs: 'eco' },
    ]);
    await d.close();
  });

  it('events: the stored event as JSON', async () => {
    const d = await TestDevice.connect(t.ws, await t.api.provision('top-event'));
    d.seq++;
    d.send({ type: MessageType.Event, seq: d.seq, name: 'door.opened', level: 2, data: { by: 'key' }, t: 1_760_000_100 });
    await d.waitAck(d.seq);
    const [e] = (await c.next(`${P}/top-event/events`)) && c.json(`${P}/top-event/events`);
    assert.equal(e?.device, 'top-event');
    assert.equal(e?.name, 'door.opened');
    assert.equal(e?.level, 2);
    assert.deepStrictEqual(e?.data, { by: 'key' });
    assert.equal(e?.time, 1_760_000_100_000);
    assert.equal(typeof e?.id, 'number');
    await d.close();
  });

  it('commands: a request over MQTT reaches the device, and every state change comes back with the id echoed', async () => {
    const d = await TestDevice.connect(t.ws, await t.api.provision('top-cmd'));
    const topic = `${P}/top-cmd/cmd/reboot`;
    await c.publish(topic, JSON.stringify({ params: { delay: 3 }, id: 'req-1', ttl: '1m', timeout: 5000 }));
    const cmd = await d.waitFor((m) => m.type === MessageType.Command);
    assert.equal(cmd.type === MessageType.Command && cmd.name, 'reboot');
    assert.deepStrictEqual(cmd.type === MessageType.Command && cmd.params, { delay: 3 });
    const id = cmd.type === MessageType.Command ? cmd.id : '';
    d.send({ type: MessageType.CmdAccepted, id });
    d.send({ type: MessageType.CmdResult, id, status: 0, body: { uptime: 0 } });
    await c.until(() => c.json(`${topic}/status`).some((s) => s.status === 'succeeded'), 'succeeded');
    const statuses = c.json<{ id: string; command: string; status: string; result?: unknown }>(`${topic}/status`);
    assert.deepStrictEqual(
      statuses.map((s) => s.status),
      ['queued', 'sent', 'accepted', 'succeeded'],
    );
    for (const s of statuses) {
      assert.equal(s.id, 'req-1');
      assert.equal(s.command, id);
    }
    assert.deepStrictEqual(statuses.at(-1)?.result, { uptime: 0 });
    const viaApi = await t.api.get(`/commands/${id}`);
    assert.equal(viaApi.body.createdBy, 'mqtt:svc');
    assert.equal(viaApi.body.key, 'req-1');
    assert.equal(viaApi.body.ttl, 60_000);
    assert.equal(viaApi.body.timeout, 5_000);

    // The same id again is the same command: answered with its current state, not run twice.
    const from = c.received.length;
    await c.publish(topic, JSON.stringify({ params: { delay: 3 }, id: 'req-1' }));
    const again = JSON.parse((await c.next(`${topic}/status`, () => true, from)).text);
    assert.equal(again.command, id);
    assert.equal(again.status, 'succeeded');
    assert.equal(d.received.filter((m) => m.type === MessageType.Command).length, 1);
    const audit = await eventually(async () => {
      const r = await t.api.get('/audit');
      return r.body.entries.find((e: { actor: string; action: string }) => e.actor === 'mqtt:svc' && e.action === 'command.create');
    }, 'the audit entry');
    assert.deepStrictEqual(audit.detail, { command: id, name: 'reboot', via: 'mqtt' });
    await d.close();
  });

  it('commands: a failing device reports failed with its error', async () => {
    const d = await TestDevice.connect(t.ws, await t.api.provision('top-cmd-fail'));
    const topic = `${P}/top-cmd-fail/cmd/flash`;
    await c.publish(topic, '{"params":null}');
    const cmd = await d.waitFor((m) => m.type === MessageType.Command);
    const id = cmd.type === MessageType.Command ? cmd.id : '';
    d.send({ type: MessageType.CmdResult, id, status: 1, body: { reason: 'no space' } });
    const last = JSON.parse((await c.next(`${topic}/status`, (m) => m.text.includes('"failed"'))).text);
    assert.equal(last.id, id, 'without a caller id the hub command id is the id');
    assert.equal(last.error, 'no space');
    await d.close();
  });

  it('rejects malformed requests with a status message and a reason, never silence', async () => {
    await t.api.provision('top-rej');
    const cases: [string, string, string][] = [
      ['cmd/x', 'not json', 'HUB_ERR_BAD_REQUEST'],
      ['cmd/x', '[1,2]', 'HUB_ERR_VALIDATION'],
      ['cmd/x', '{"params":1,"colour":"red","id":"r-2"}', 'HUB_ERR_VALIDATION'],
      ['cmd/x', '{"ttl":"soon","id":"r-3"}', 'HUB_ERR_VALIDATION'],
      ['cmd/x', '{"timeout":0,"id":"r-4"}', 'HUB_ERR_VALIDATION'],
      ['cmd/x', `{"params":"${'a'.repeat(70_000)}"}`, 'HUB_ERR_TOO_LARGE'],
      ['cmd/bad name!', '{}', 'HUB_ERR_VALIDATION'],
    ];
    for (const [suffix, payload, code] of cases) {
      const topic = `${P}/top-rej/${suffix}`;
      const from = c.received.length;
      await c.publish(topic, payload);
      const s = JSON.parse((await c.next(`${topic}/status`, () => true, from)).text);
      assert.equal(s.status, 'rejected', `${suffix} ${payload.slice(0, 40)}`);
      assert.equal(s.code, code, `${suffix} ${payload.slice(0, 40)}: ${s.error}`);
      assert.equal(typeof s.error, 'string');
      assert.equal(s.id, null, 'a rejection is never given a command id');
      assert.equal(s.by, 'mqtt:svc');
      if (payload.includes('"id":"r-')) assert.match(s.request, /^r-\d$/, 'the caller id is echoed as request');
    }
    const unknown = `${P}/no-such-device/cmd/x`;
    await c.publish(unknown, '{"id":"u-1"}');
    const s = JSON.parse((await c.next(`${unknown}/status`)).text);
    assert.deepStrictEqual([s.status, s.code, s.id, s.request, s.by], ['rejected', 'HUB_ERR_DEVICE_UNKNOWN', null, 'u-1', 'mqtt:svc']);

    for (const [payload, code] of [
      ['not json', 'HUB_ERR_BAD_REQUEST'],
      ['"text"', 'HUB_ERR_VALIDATION'],
      ['', 'HUB_ERR_VALIDATION'],
    ] as const) {
      const topic = `${P}/top-rej/twin/desired/set/status`;
      const from = c.received.length;
      await c.publish(`${P}/top-rej/twin/desired/set`, payload);
      const r = JSON.parse((await c.next(topic, () => true, from)).text);
      assert.deepStrictEqual([r.status, r.code], ['rejected', code], payload);
    }
    const metrics = await fetch(`${t.http}/metrics`).then((r) => r.text());
    assert.match(metrics, /halyard_mqtt_requests_total\{kind="command",outcome="rejected"\} 8/);
  });

  it('logs an account’s refused requests 20 to a window of 10 s, and counts every one', async () => {
    await createIntegrator(t.api, 'loud', 'loud-password');
    const loud = await TestMqtt.connect(`mqtt://127.0.0.1:${t.hub.mqttPort}`, { username: 'loud', password: 'loud-password' });
    const topic = `${P}/no-such-device/cmd/x`;
    await loud.subscribe(`${topic}/status`);
    for (let i = 0; i < 30; i++) await loud.publish(topic, `{"id":"loud-${i}"}`);
    await loud.until(() => loud.on(`${topic}/status`).length >= 30, 'thirty refusals');
    await loud.close();
    const lines = t.logs.filter((l) => l.msg === 'mqtt command request rejected' && String(l.actor).includes('loud'));
    assert.equal(lines.length, 20, 'the first 20 each have a line');
    const metrics = await fetch(`${t.http}/metrics`).then((r) => r.text());
    assert.match(metrics, /halyard_mqtt_requests_total\{kind="command",outcome="rejected"\} 38/, 'all counted');
  });

  it('twins: desired/set reaches the device; desired and reported are retained', async () => {
    const d = await TestDevice.connect(t.ws, await t.api.provision('top-twin'));
    await c.publish(`${P}/top-twin/twin/desired/set`, JSON.stringify({ setpoint: 21, fan: { speed: 2 } }));
    const desired = await d.waitFor((m) => m.type === MessageType.Desired);
    assert.deepStrictEqual(desired.type === MessageType.Desired && desired.desired, { setpoint: 21, fan: { speed: 2 } });
    const applied = JSON.parse((await c.next(`${P}/top-twin/twin/desired/set/status`)).text);
    assert.deepStrictEqual([applied.status, applied.version, applied.changed], ['applied', 1, true]);
    const dm = await c.next(`${P}/top-twin/twin/desired`);
    assert.deepStrictEqual(JSON.parse(dm.text), { version: 1, desired: { setpoint: 21, fan: { speed: 2 } } });
    // A merge patch: null removes a key.
    await c.publish(`${P}/top-twin/twin/desired/set`, JSON.stringify({ fan: null }));
    await c.next(`${P}/top-twin/twin/desired`, (m) => JSON.parse(m.text).version === 2);
    d.seq++;
    d.send({ type: MessageType.Reported, seq: d.seq, patch: { setpoint: 21, firmware: 'x' } });
    const rm = await c.next(`${P}/top-twin/twin/reported`);
    assert.deepStrictEqual(JSON.parse(rm.text), { version: 1, reported: { setpoint: 21, firmware: 'x' } });

    const late = await TestMqtt.connect(`mqtt://127.0.0.1:${t.hub.mqttPort}`, login);
    await late.subscribe(`${P}/top-twin/twin/#`);
    const [lateDesired, lateReported] = await Promise.all([
      late.next(`${P}/top-twin/twin/desired`),
      late.next(`${P}/top-twin/twin/reported`),
    ]);
    assert.deepStrictEqual([lateDesired.retain, JSON.parse(lateDesired.text)], [true, { version: 2, desired: { setpoint: 21 } }]);
    assert.equal(lateReported.retain, true);
    await late.close();
    await d.close();
  });

  it("clears a deleted device's retained topics", async () => {
    await t.api.provision('top-gone');
    await t.api.patch('/devices/top-gone/twin/desired', { a: 1 });
    await c.next(`${P}/top-gone/twin/desired`);
    assert.equal((await t.api.delete('/devices/top-gone')).status, 204);
    await c.next(`${P}/top-gone/status`, (m) => m.text === '');
    const late = await TestMqtt.connect(`mqtt://127.0.0.1:${t.hub.mqttPort}`, login);
    await late.subscribe(`${P}/top-gone/#`, 'halyard/hub/status');
    await late.next('halyard/hub/status');
    assert.deepStrictEqual(late.on(`${P}/top-gone/status`), []);
    assert.deepStrictEqual(late.on(`${P}/top-gone/twin/desired`), []);
    await late.close();
  });

  it('republishes the fleet state after a restart, and says offline on shutdown', async () => {
    const dir = t.dir;
    const from = c.received.length;
    await t.stop();
    await c.next('halyard/hub/status', (m) => m.text === 'offline', from);
    t = await startTestHub([], dir);
    const again = await TestMqtt.connect(`mqtt://127.0.0.1:${t.hub.mqttPort}`, login);
    await again.subscribe('halyard/#');
    await again.next('halyard/hub/status', (m) => m.text === 'online');
    await again.next(`${P}/top-twin/twin/desired`, (m) => m.retain && JSON.parse(m.text).version === 2);
    await again.next(`${P}/top-status/status`, (m) => m.retain && m.text === 'offline');
    await again.close();
  });
});
