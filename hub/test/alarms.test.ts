// Alarms end to end (README.md § Alarms and notifications): rules over the API, real
// devices driving conditions in and out, the lifecycle with hysteresis, flapping and
// deadlines, the audit log, metrics, and a restart on the same data. Runs on the test
// store (SQLite, or PostgreSQL with HALYARD_TEST_STORE=postgres).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MessageType } from '@halyard/firmware-protocol';
import { TestDevice } from './helpers/device.js';
import { eventually } from './helpers/eventually.js';
import { Api, metricSample, startTestHub, type TestHub } from './helpers/hub.js';
import { createIntegrator, TestMqtt } from './helpers/mqtt.js';

// biome-ignore lint/suspicious/noExplicitAny: JSON answers
type Json = any;

/** Deadline checks every 50 ms, so the tests' short durations are acted on promptly. */
const FAST = { alarms: { tickMs: 50 } };

async function alarmsOf(api: Api, query: string): Promise<Json[]> {
  const r = await api.get(`/alarms?${query}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.alarms;
}

/** The one alarm of (rule, device) once `pred` holds for it. */
function alarmWhen(api: Api, rule: string, device: string, pred: (a: Json) => boolean, what: string): Promise<Json> {
  return eventually(async () => {
    const list = await alarmsOf(api, `rule=${rule}&device=${device}`);
    const a = list[0];
    return a !== undefined && pred(a) ? a : undefined;
  }, what);
}

async function rule(api: Api, doc: Record<string, unknown>): Promise<string> {
  const r = await api.post('/alarm-rules', doc);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.id as string;
}

describe('alarms', () => {
  let t: TestHub;
  let operator: Api;
  let viewer: Api;
  let dev: TestDevice;
  let mq: TestMqtt;
  const mqttLogin = { username: 'svc', password: 'svc-password' };
  const tokens: Record<string, string> = {};

  before(async () => {
    t = await startTestHub([], undefined, FAST);
    await t.api.post('/operators', { username: 'op', password: 'operator-pass', role: 'operator' });
    await t.api.post('/operators', { username: 'vi', password: 'viewer-pass', role: 'viewer' });
    operator = new Api(t.http);
    await operator.login('op', 'operator-pass');
    viewer = new Api(t.http);
    await viewer.login('vi', 'viewer-pass');
    for (const id of ['therm-1', 'therm-2', 'door-1']) tokens[id] = await t.api.provision(id, { tags: ['site-a'] });
    dev = await TestDevice.connect(t.ws, tokens['therm-1'] as string, { model: 'thermostat' });
    await createIntegrator(t.api, 'svc', 'svc-password');
    mq = await TestMqtt.connect(`mqtt://127.0.0.1:${t.hub.mqttPort}`, mqttLogin);
    await mq.subscribe('halyard/alarms', 'halyard/devices/+/alarms');
  });
  after(async () => {
    await mq?.close();
    await dev?.close().catch(() => {});
    await t?.close();
  });

  /** Sends one temperature and waits for its ACK (the alarm follows the commit). */
  async function temp(d: TestDevice, v: number): Promise<void> {
    await d.waitAck(d.telemetry([{ n: 'temp', u: 'Cel', v }]));
  }

  it('rules: viewers read, operators write, bad rules are refused naming the field', async () => {
    assert.equal((await viewer.get('/alarm-rules')).status, 200);
    const refused = await viewer.post('/alarm-rules', { name: 'x', severity: 'minor', condition: { kind: 'offline', for: '1m' } });
    assert.equal(refused.status, 403);
    const bad = await operator.post('/alarm-rules', { name: 'x', severity: 'minor', condition: { kind: 'metric', metric: 'temp' } });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /above/);
    const badSeverity = await operator.post('/alarm-rules', { name: 'x', severity: 'huge', condition: { kind: 'offline', for: '1m' } });
    assert.equal(badSeverity.status, 400);
    assert.equal(badSeverity.body.error.field, 'severity');
    const range = await operator.post('/alarm-rules', {
      name: 'x',
      severity: 'minor',
      condition: { kind: 'metric', metric: 'temp', above: 10, below: 20 },
    });
    assert.equal(range.status, 400);
    assert.equal((await operator.get('/alarm-rules/r-nope')).status, 404);
  });

  it('metric above with hysteresis: raised above 30, acknowledged, cleared only at 28 or below; one alarm at a time', async () => {
    const id = await rule(operator, {
      name: 'Too hot',
      severity: 'critical',
      selector: { devices: ['therm-1'] },
      condition: { kind: 'metric', metric: 'temp', above: 30, hysteresis: 2 },
    });
    await temp(dev, 25);
    await temp(dev, 31.5);
    const raised = await alarmWhen(operator, id, 'therm-1', (a) => a.state === 'active', 'the alarm raised');
    assert.equal(raised.raisedValue, 31.5);
    assert.equal(raised.severity, 'critical');
    assert.match(raised.message, /temp 31.5 above 30/);
    // MQTT: the change on the stream, the device's current alarms retained.
    await mq.next('halyard/alarms', (m) => JSON.parse(m.text).id === raised.id && JSON.parse(m.text).state === 'active');
    await mq.next('halyard/devices/therm-1/alarms', (m) => JSON.parse(m.text).some((a: Json) => a.id === raised.id));
    // Still above, then within the hysteresis band: the same alarm, never a second.
    await temp(dev, 33);
    await temp(dev, 29);
    const ack = await operator.post(`/alarms/${raised.id}/acknowledge`, { note: 'fan checked' });
    assert.equal(ack.status, 200, JSON.stringify(ack.body));
    assert.equal(ack.body.state, 'acknowledged');
    assert.equal(ack.body.acknowledgedBy, 'op');
    assert.equal((await operator.post(`/alarms/${raised.id}/acknowledge`, {})).status, 409);
    assert.equal((await viewer.post(`/alarms/${raised.id}/acknowledge`, {})).status, 403);
    await temp(dev, 28.5);
    assert.equal((await alarmsOf(operator, `rule=${id}`)).length, 1);
    assert.equal((await operator.get(`/alarms/${raised.id}`)).body.state, 'acknowledged', 'inside the hysteresis band it stays');
    await temp(dev, 27.5);
    const cleared = await alarmWhen(operator, id, 'therm-1', (a) => a.state === 'cleared', 'the alarm cleared');
    assert.equal(cleared.clearedValue, 27.5);
    assert.equal(cleared.clearedBy, null);
    assert.deepEqual(
      cleared.history.map((h: Json) => h.action),
      ['raised', 'acknowledged', 'cleared'],
    );
    await mq.next('halyard/alarms', (m) => JSON.parse(m.text).id === raised.id && JSON.parse(m.text).state === 'cleared');
    await mq.next('halyard/devices/therm-1/alarms', (m) => m.text === '[]');
    // Raised again: a new alarm, the old one stays in the history.
    await temp(dev, 35);
    const again = await alarmWhen(operator, id, 'therm-1', (a) => a.state === 'active', 'raised again');
    assert.notEqual(again.id, raised.id);
    assert.equal((await alarmsOf(operator, `rule=${id}`)).length, 2);
    assert.equal((await alarmsOf(operator, `rule=${id}&state=active,acknowledged`)).length, 1);
    // A subscriber arriving now gets the current alarms, retained.
    const late = await TestMqtt.connect(`mqtt://127.0.0.1:${t.hub.mqttPort}`, mqttLogin);
    await late.subscribe('halyard/devices/therm-1/alarms');
    const retained = await late.next('halyard/devices/therm-1/alarms', (m) => m.retain && JSON.parse(m.text)[0]?.id === again.id);
    assert.equal(JSON.parse(retained.text).length, 1);
    await late.close();
    const counts = (await viewer.get('/alarms/counts')).body;
    assert.equal(counts.critical, 1);
    assert.equal(await metricSample(t, 'halyard_alarms_active{severity="critical"}'), 1);
    // Cleared by hand, with a note; twice is refused.
    const byHand = await operator.post(`/alarms/${again.id}/clear`, { note: 'sensor replaced' });
    assert.equal(byHand.status, 200);
    assert.equal(byHand.body.clearedBy, 'op');
    assert.equal((await operator.post(`/alarms/${again.id}/clear`, {})).status, 409);
    // The audit log has the rule's creation, the acknowledgement and the clear.
    const audit = (await t.api.get('/audit?limit=50')).body.entries as Json[];
    const actions = audit.map((e) => e.action);
    for (const a of ['alarm.rule.create', 'alarm.acknowledge', 'alarm.clear']) assert.ok(actions.includes(a), `${a} in ${actions}`);
    await operator.delete(`/alarm-rules/${id}`);
  });

  it('flapping is damped: a condition that ends within minDuration is counted, the clear waits for it', async () => {
    const id = await rule(operator, {
      name: 'Flappy',
      severity: 'minor',
      selector: { devices: ['therm-1'] },
      condition: { kind: 'metric', metric: 'temp', above: 50 },
      minDuration: '600ms',
    });
    const flapsBefore = await metricSample(t, 'halyard_alarm_flaps_total');
    await temp(dev, 51);
    const a = await alarmWhen(operator, id, 'therm-1', (x) => x.state === 'active', 'raised');
    await temp(dev, 49);
    await temp(dev, 52);
    await temp(dev, 48);
    const flapped = await alarmWhen(operator, id, 'therm-1', (x) => x.flaps === 2, 'two flaps counted');
    assert.equal(flapped.state, 'active', 'not cleared within minDuration');
    assert.equal(flapped.id, a.id);
    const cleared = await alarmWhen(operator, id, 'therm-1', (x) => x.state === 'cleared', 'cleared once minDuration passed');
    assert.ok(cleared.clearedAt - cleared.raisedAt >= 600, `held ${cleared.clearedAt - cleared.raisedAt} ms`);
    assert.equal(cleared.clearedValue, 48);
    assert.equal((await alarmsOf(operator, `rule=${id}`)).length, 1);
    assert.equal(await metricSample(t, 'halyard_alarm_flaps_total'), flapsBefore + 2);
    await operator.delete(`/alarm-rules/${id}`);
  });

  it('offline for a duration: raised after it, cleared when the device is back', async () => {
    const id = await rule(operator, {
      name: 'Gone',
      severity: 'major',
      selector: { tags: ['site-a'] },
      condition: { kind: 'offline', for: '300ms' },
    });
    const d = await TestDevice.connect(t.ws, tokens['door-1'] as string);
    await d.close();
    const raised = await alarmWhen(operator, id, 'door-1', (a) => a.state === 'active', 'offline alarm');
    assert.equal(raised.kind, 'offline');
    // Devices never seen are not deployed yet: no alarm for therm-2.
    assert.equal((await alarmsOf(operator, `rule=${id}&device=therm-2`)).length, 0);
    const back = await TestDevice.connect(t.ws, tokens['door-1'] as string);
    const cleared = await alarmWhen(operator, id, 'door-1', (a) => a.state === 'cleared', 'cleared when back online');
    assert.equal(cleared.clearedValue, 'online');
    await back.close();
    await operator.delete(`/alarm-rules/${id}`);
  });

  it('events by name and level, commands that failed, twin keys not applied, no data', async () => {
    const ev = await rule(operator, {
      name: 'Overheat event',
      severity: 'warning',
      selector: { model: 'thermostat' },
      condition: { kind: 'event', name: 'overheat', minLevel: 2, clearName: 'cooled' },
    });
    const cmd = await rule(operator, {
      name: 'Reboot failed',
      severity: 'minor',
      selector: { devices: ['therm-1'] },
      condition: { kind: 'command', name: 'reboot' },
    });
    const twin = await rule(operator, {
      name: 'Mode not applied',
      severity: 'major',
      selector: { devices: ['therm-1'] },
      condition: { kind: 'twin', key: 'mode', within: '300ms' },
    });

    dev.send({ type: MessageType.Event, seq: ++dev.seq, name: 'overheat', level: 1 });
    dev.send({ type: MessageType.Event, seq: ++dev.seq, name: 'overheat', level: 3, data: { t: 71 } });
    const e = await alarmWhen(operator, ev, 'therm-1', (a) => a.state === 'active', 'event alarm');
    assert.deepEqual(e.raisedValue, { t: 71 });
    dev.send({ type: MessageType.Event, seq: ++dev.seq, name: 'cooled' });
    await alarmWhen(operator, ev, 'therm-1', (a) => a.state === 'cleared', 'event alarm cleared');

    const sent = await operator.post('/devices/therm-1/commands', { name: 'reboot', params: {} });
    assert.equal(sent.status, 201, JSON.stringify(sent.body));
    const c = await dev.waitFor((m) => m.type === MessageType.Command && m.id === sent.body.id);
    assert.equal(c.type, MessageType.Command);
    dev.send({ type: MessageType.CmdResult, id: sent.body.id, status: 1, body: 'flash busy' });
    const failed = await alarmWhen(operator, cmd, 'therm-1', (a) => a.state === 'active', 'command alarm');
    assert.match(failed.message, /reboot failed/);
    const ok = await operator.post('/devices/therm-1/commands', { name: 'reboot', params: {} });
    await dev.waitFor((m) => m.type === MessageType.Command && m.id === ok.body.id);
    dev.send({ type: MessageType.CmdResult, id: ok.body.id, status: 0 });
    await alarmWhen(operator, cmd, 'therm-1', (a) => a.state === 'cleared', 'cleared by a success');

    assert.equal((await operator.patch('/devices/therm-1/twin/desired', { mode: 'eco' })).status, 200);
    await alarmWhen(operator, twin, 'therm-1', (a) => a.state === 'active', 'twin alarm');
    dev.send({ type: MessageType.Reported, seq: ++dev.seq, patch: { mode: 'eco' } });
    await alarmWhen(operator, twin, 'therm-1', (a) => a.state === 'cleared', 'twin alarm cleared once reported');

    // Counted from the device's last frame until its first point of the metric, then from each point.
    await dev.waitAck(dev.telemetry([{ n: 'temp', v: 20 }]));
    const quiet = await rule(operator, {
      name: 'No humidity',
      severity: 'warning',
      selector: { devices: ['therm-1'] },
      condition: { kind: 'no_data', metric: 'hum', for: '2s' },
    });
    await dev.waitAck(dev.telemetry([{ n: 'hum', v: 40 }]));
    await alarmWhen(operator, quiet, 'therm-1', (a) => a.state === 'active', 'no-data alarm');
    await dev.waitAck(dev.telemetry([{ n: 'hum', v: 41 }]));
    const back = await alarmWhen(operator, quiet, 'therm-1', (a) => a.state === 'cleared', 'data again');
    assert.equal(back.clearedValue, 41);
    for (const id of [ev, cmd, twin, quiet]) assert.equal((await operator.delete(`/alarm-rules/${id}`)).status, 200);
  });

  it('rules and alarms survive a restart; deadlines are re-armed from what is stored', async () => {
    const hot = await rule(operator, {
      name: 'Hot after restart',
      severity: 'major',
      selector: { devices: ['therm-1'] },
      condition: { kind: 'metric', metric: 'temp', above: 40, hysteresis: 1 },
    });
    const gone = await rule(operator, {
      name: 'Gone after restart',
      severity: 'warning',
      selector: { devices: ['therm-1'] },
      condition: { kind: 'offline', for: '500ms' },
    });
    await temp(dev, 45);
    const raised = await alarmWhen(operator, hot, 'therm-1', (a) => a.state === 'active', 'raised before the restart');
    await dev.close();
    await t.stop();
    // The device went offline with the hub; the offline deadline comes from its last-seen time.
    t = await startTestHub([], t.dir, FAST);
    operator = new Api(t.http);
    await operator.login('op', 'operator-pass');
    assert.equal((await operator.get(`/alarm-rules/${hot}`)).status, 200);
    assert.equal((await operator.get(`/alarms/${raised.id}`)).body.state, 'active');
    await alarmWhen(operator, gone, 'therm-1', (a) => a.state === 'active', 'offline alarm after the restart');
    dev = await TestDevice.connect(t.ws, tokens['therm-1'] as string, { model: 'thermostat' });
    await alarmWhen(operator, gone, 'therm-1', (a) => a.state === 'cleared', 'back online');
    await temp(dev, 38.5);
    const cleared = await alarmWhen(operator, hot, 'therm-1', (a) => a.state === 'cleared', 'cleared after the restart');
    assert.equal(cleared.id, raised.id, 'the alarm raised before the restart is the one cleared');
  });
});
