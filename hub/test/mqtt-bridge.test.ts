// An outbound bridge to another broker (here a bare aedes, which speaks only MQTT
// 3.1.1, so the bridge must fall back from 5): mirroring under the bridge prefix,
// commands carried back, retained requests ignored, reconnect after the broker
// restarts with the retained state republished, a bounded offline queue with its
// drops counted, and hub/status offline on shutdown. The same against Mosquitto
// runs in mqtt-bridge.external.test.ts.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Command, MessageType } from '@halyard/firmware-protocol';
import { TestDevice } from './helpers/device.js';
import { eventually } from './helpers/eventually.js';
import { startTestHub, type TestHub } from './helpers/hub.js';
import { startPlainBroker, TestMqtt } from './helpers/mqtt.js';

type Stats = { url: string; state: string; queued: number; dropped: number };

/** One sample from /metrics (read live, unlike /hub/stats, which is sampled once a second). */
async function metric(t: TestHub, sample: string): Promise<number> {
  const text = await fetch(`${t.http}/metrics`).then((r) => r.text());
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
  return line === undefined ? Number.NaN : Number(line.slice(sample.length + 1));
}

async function bridgeStats(t: TestHub): Promise<Stats> {
  const r = await t.api.get('/hub/stats');
  return r.body.bridges[0] as Stats;
}

describe('outbound MQTT bridge', () => {
  let remote: Awaited<ReturnType<typeof startPlainBroker>>;
  let t: TestHub;
  let w: TestMqtt;
  let url: string;
  before(async () => {
    remote = await startPlainBroker();
    url = `mqtt://127.0.0.1:${remote.port}`;
    t = await startTestHub(['--bridge', `mqtt://bridge-user:s3cret@127.0.0.1:${remote.port}?prefix=site1&qos=1`]);
    w = await TestMqtt.connect(url);
    await w.subscribe('site1/#');
  });
  after(async () => {
    await w.close();
    await t.close();
    await remote.close();
  });

  it('falls back to MQTT 3.1.1, connects, and reports its state without the password', async () => {
    const s = await eventually(async () => {
      const b = await bridgeStats(t);
      return b.state === 'connected' ? b : undefined;
    }, 'the bridge to connect');
    assert.equal(s.url, `mqtt://bridge-user:***@127.0.0.1:${remote.port}?prefix=site1&qos=1`);
    assert.ok(t.logs.some((l) => l.msg === 'mqtt bridge: the broker refused MQTT 5; using 3.1.1'));
  });

  it("mirrors the hub's topics under the bridge prefix, retained state retained", async () => {
    await w.next('site1/halyard/hub/status', (m) => m.text === 'online');
    const token = await t.api.provision('br-1');
    await w.next('site1/halyard/devices/br-1/status', (m) => m.text === 'offline');
    const d = await TestDevice.connect(t.ws, token);
    await w.next('site1/halyard/devices/br-1/status', (m) => m.text === 'online');
    await d.waitAck(d.telemetry([{ n: 'temp', u: 'Cel', v: 20, t: 1_760_000_000 }]));
    const tele = await w.next('site1/halyard/devices/br-1/telemetry');
    assert.deepStrictEqual(JSON.parse(tele.text), [{ n: 'temp', t: 1_760_000_000, u: 'Cel', v: 20 }]);
    const late = await TestMqtt.connect(url);
    await late.subscribe('site1/halyard/devices/br-1/status');
    assert.deepStrictEqual([(await late.next('site1/halyard/devices/br-1/status')).retain, late.received[0]?.text], [true, 'online']);
    await late.close();
    await d.close();
  });

  it('carries commands and desired-set patches from the remote broker into the hub', async () => {
    const d = await TestDevice.connect(t.ws, (await t.api.post('/devices/br-1/token')).body.token);
    await w.publish('site1/halyard/devices/br-1/cmd/ping', JSON.stringify({ params: { n: 1 }, id: 'remote-1' }));
    const cmd = (await d.waitFor((m) => m.type === MessageType.Command)) as Command;
    d.send({ type: MessageType.CmdResult, id: cmd.id, status: 0, body: { pong: 1 } });
    const done = await w.next('site1/halyard/devices/br-1/cmd/ping/status', (m) => m.text.includes('succeeded'));
    assert.deepStrictEqual(JSON.parse(done.text).id, 'remote-1');
    assert.equal((await t.api.get(`/commands/${cmd.id}`)).body.createdBy, `bridge:127.0.0.1:${remote.port}`);

    await w.publish('site1/halyard/devices/br-1/twin/desired/set', '{"led":"on"}');
    const desired = await d.waitFor((m) => m.type === MessageType.Desired);
    assert.deepStrictEqual(desired.type === MessageType.Desired && desired.desired, { led: 'on' });
    await w.next('site1/halyard/devices/br-1/twin/desired', (m) => JSON.parse(m.text).version === 1);
    await d.close();
  });

  it('reconnects after the broker restarts, resubscribes, and republishes the retained state', async () => {
    await remote.close();
    await w.waitClosed();
    await eventually(async () => (await bridgeStats(t)).state === 'reconnecting', 'the bridge to notice');
    // State changes while the remote is away: the newest values must reach it after the reconnect.
    await t.api.patch('/devices/br-1/twin/desired', { led: 'off' });
    remote = await startPlainBroker(remote.port);
    w = await TestMqtt.connect(url);
    await w.subscribe('site1/#');
    await eventually(async () => (await bridgeStats(t)).state === 'connected', 'the bridge to reconnect', 10_000);
    const [hub, dev, desired] = await Promise.all([
      w.next('site1/halyard/hub/status'),
      w.next('site1/halyard/devices/br-1/status'),
      w.next('site1/halyard/devices/br-1/twin/desired'),
    ]);
    assert.deepStrictEqual([hub.text, dev.text, JSON.parse(desired.text)], ['online', 'offline', { version: 2, desired: { led: 'off' } }]);
    // Commands work again over the new connection.
    const d = await TestDevice.connect(t.ws, (await t.api.post('/devices/br-1/token')).body.token);
    await w.publish('site1/halyard/devices/br-1/cmd/again', '{"id":"again-1"}');
    await d.waitFor((m) => m.type === MessageType.Command && m.name === 'again');
    await d.close();
  });

  it('keeps a bounded offline queue and counts what it drops', async () => {
    await remote.close();
    await w.waitClosed();
    await eventually(async () => (await bridgeStats(t)).state === 'reconnecting', 'the bridge to notice');
    const records = [{ name: 'x', time: 1_760_000_000_000, value: 1 }];
    for (let i = 0; i < 25_000; i++) t.hub.ctx.bus.publish('telemetry', { device: 'br-1', records });
    const label = `bridge="127.0.0.1:${remote.port}"`;
    const queued = await metric(t, `halyard_mqtt_bridge_queued_messages{${label}}`);
    const dropped = await metric(t, `halyard_mqtt_bridge_dropped_total{${label}}`);
    // 20,000 stream messages fit (send-queue.ts); the 5,000 oldest went, counted.
    assert.ok(queued <= 20_000 + 50, `at most the stream limit queued, plus retained state (${queued})`);
    assert.equal(dropped, 5_000);
    await eventually(async () => (await bridgeStats(t)).dropped === 5_000, 'the stats to show the drops');
    remote = await startPlainBroker(remote.port);
    w = await TestMqtt.connect(url);
    await w.subscribe('site1/halyard/devices/br-1/telemetry');
    await eventually(async () => (await metric(t, `halyard_mqtt_bridge_queued_messages{${label}}`)) === 0, 'the queue to drain', 20_000);
    await w.until(() => w.received.length >= 1, 'queued telemetry delivered');
  });

  it('says hub/status offline on the remote broker when the hub stops', async () => {
    await w.subscribe('site1/halyard/hub/status');
    await w.next('site1/halyard/hub/status', (m) => m.text === 'online');
    const from = w.received.length;
    await t.stop();
    await w.next('site1/halyard/hub/status', (m) => m.text === 'offline', from);
  });
});

describe('outbound MQTT bridge and retained requests', () => {
  it('ignores a request that is retained on the remote broker: it would run again on every reconnect', async () => {
    const remote = await startPlainBroker();
    const w = await TestMqtt.connect(`mqtt://127.0.0.1:${remote.port}`);
    await w.publish('halyard/devices/ret-1/cmd/reboot', '{"id":"stale"}', { retain: true });
    const t = await startTestHub(['--bridge', `mqtt://127.0.0.1:${remote.port}?version=3.1.1`]);
    try {
      const d = await TestDevice.connect(t.ws, await t.api.provision('ret-1'));
      await eventually(async () => t.logs.some((l) => l.msg.startsWith('mqtt bridge: retained request ignored')), 'the warning');
      // A live request after it is carried out: the retained one was not.
      await w.publish('halyard/devices/ret-1/cmd/live', '{"id":"live"}');
      await d.waitFor((m) => m.type === MessageType.Command);
      assert.deepStrictEqual(
        d.received.filter((m) => m.type === MessageType.Command).map((m) => (m as Command).name),
        ['live'],
      );
      await d.close();
    } finally {
      await w.close();
      await t.close();
      await remote.close();
    }
  });
});
