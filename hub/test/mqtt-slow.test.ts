// The MQTT side must never slow the hub down: a subscriber that stops reading
// loses messages (counted) while a healthy subscriber keeps receiving everything,
// memory stays bounded, and devices keep getting their ACKs.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ResolvedRecord } from '@halyard/firmware-protocol';
import { TestDevice } from './helpers/device.js';
import { eventually } from './helpers/eventually.js';
import { startTestHub, type TestHub } from './helpers/hub.js';
import { createIntegrator, stalledSubscriber, TestMqtt } from './helpers/mqtt.js';

/** Reads one sample of a metric from the Prometheus text. */
async function metric(t: TestHub, name: string): Promise<number> {
  const text = await fetch(`${t.http}/metrics`).then((r) => r.text());
  const line = text.split('\n').find((l) => l.startsWith(name));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('MQTT under a slow subscriber', () => {
  let t: TestHub;
  before(async () => {
    t = await startTestHub(['--log-level', 'info']);
    await createIntegrator(t.api, 'fast', 'fast-password');
    await t.api.provision('flood');
  });
  after(() => t.close());

  /**
   * At QoS 0 both subscribers are clean sessions; at QoS 1 the stalled one holds a
   * persistent session, whose queue is bounded too (--mqtt-queue-messages).
   */
  async function slowSubscriber(ctx: { diagnostic(s: string): void }, qos: 0 | 1): Promise<void> {
    const url = `mqtt://127.0.0.1:${t.hub.mqttPort}`;
    const fast = await TestMqtt.connect(url, { username: 'fast', password: 'fast-password' });
    await fast.subscribeQos(qos, 'halyard/devices/flood/telemetry');
    const stalled = await stalledSubscriber(t.hub.mqttPort, 'fast', 'fast-password', 'halyard/devices/flood/telemetry', {
      qos,
      clean: qos === 0,
    });
    const dropsBefore =
      (await metric(t, 'halyard_mqtt_dropped_total{reason="slow_subscriber"}')) +
      (await metric(t, 'halyard_mqtt_dropped_total{reason="offline_queue_full"}'));

    // ~600-byte SenML messages, produced the way the store's commits produce them: a burst per event-loop turn.
    const total = 40_000;
    const perTurn = 200;
    const records: ResolvedRecord[] = Array.from({ length: 8 }, (_, i) => ({
      name: `sensor.channel${i}.value`,
      time: 1_760_000_000_000,
      unit: 'Cel',
      value: 20 + i / 7,
    }));
    const received = () => fast.received.length;
    global.gc?.();
    const heapBefore = process.memoryUsage().heapUsed;
    let heapPeak = heapBefore;
    const started = performance.now();
    for (let sent = 0; sent < total; sent += perTurn) {
      for (let i = 0; i < perTurn; i++) t.hub.ctx.bus.publish('telemetry', { device: 'flood', records });
      heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
      await turn();
    }
    await fast
      .until(() => received() >= total, `all ${total} messages at the healthy subscriber`, 30_000)
      .catch(async (err) => {
        const m = (await fetch(`${t.http}/metrics`).then((r) => r.text())).split('\n').filter((l) => l.startsWith('halyard_mqtt_'));
        throw new Error(`${(err as Error).message.split(';')[0]}: got ${received()}\n${m.join('\n')}`);
      });
    const seconds = (performance.now() - started) / 1000;
    heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);

    const slowDrops =
      (await metric(t, 'halyard_mqtt_dropped_total{reason="slow_subscriber"}')) +
      (await metric(t, 'halyard_mqtt_dropped_total{reason="offline_queue_full"}')) -
      dropsBefore;
    const queueDrops = await metric(t, 'halyard_mqtt_dropped_total{reason="queue_full"}');
    ctx.diagnostic(
      `${total} msgs in ${seconds.toFixed(2)} s = ${Math.round(total / seconds)} msgs/s to the healthy subscriber; ` +
        `dropped for the stalled one: ${slowDrops}; queue drops: ${queueDrops}; ` +
        `heap ${(heapBefore / 2 ** 20).toFixed(0)} -> peak ${(heapPeak / 2 ** 20).toFixed(0)} MiB`,
    );
    assert.equal(received(), total, 'the healthy subscriber got every message');
    assert.ok(fast.received.every((m) => m.qos === qos));
    assert.equal(queueDrops, 0);
    // The stalled client's socket took a few MiB (kernel buffers + the budget); everything after was dropped.
    assert.ok(slowDrops > total / 2, `most messages dropped for the stalled client (${slowDrops})`);
    // At QoS 1 each message in flight also has aedes's QoS packet and, for the persistent session, its queued
    // copy until dropped: peaks measured 141-144 MiB above the start (84-90 at QoS 0), garbage included.
    const heapBound = (qos === 0 ? 150 : 200) * 2 ** 20;
    assert.ok(heapPeak - heapBefore < heapBound, `heap stayed bounded (${Math.round((heapPeak - heapBefore) / 2 ** 20)} MiB)`);

    // Devices are served meanwhile: a telemetry frame is acknowledged. How promptly is
    // the diagnostic's figure; the wait's bound (it was 2 s) is generous enough not to
    // fail on a loaded machine, and still catches a device starved outright.
    const d = await TestDevice.connect(t.ws, (await t.api.post('/devices/flood/token')).body.token);
    const ackStart = performance.now();
    await d.waitAck(d.telemetry([{ n: 'x', v: 1 }]), 10_000);
    ctx.diagnostic(`device ACK with the stalled subscriber connected: ${(performance.now() - ackStart).toFixed(1)} ms`);
    await d.close();
    stalled.close();
    await fast.close();
    // A waiting session would be someone to publish to: end it for the next test.
    if (qos === 1) assert.equal((await t.api.delete('/integrators/fast/sessions/stalled')).status, 204);
  }

  it('drops for the stalled client, delivers everything to the healthy one, keeps memory bounded', (ctx) => slowSubscriber(ctx, 0));

  it('does the same with QoS 1 subscribers, the stalled one in a persistent session', (ctx) => slowSubscriber(ctx, 1));

  it('costs nothing when nobody listens: stream messages are not even serialised', async () => {
    await eventually(async () => (await metric(t, 'halyard_mqtt_clients')) === 0, 'the clients of the last test to be gone');
    const before = await metric(t, 'halyard_mqtt_published_total{lane="stream"}');
    for (let i = 0; i < 1_000; i++) t.hub.ctx.bus.publish('telemetry', { device: 'flood', records: [{ name: 'x', time: 1, value: 1 }] });
    await turn();
    await turn();
    assert.equal(await metric(t, 'halyard_mqtt_published_total{lane="stream"}'), before);
  });
});
