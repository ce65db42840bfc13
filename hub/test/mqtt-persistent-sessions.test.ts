// Persistent MQTT sessions (README.md § MQTT): a clean=false client subscribed at
// QoS 1 gets what the hub published while it was away, in order, up to its
// session's bounds (then the newest, with the drops counted), also after a hub
// restart; messages it had received but not acknowledged come again with DUP.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ResolvedRecord } from '@halyard/firmware-protocol';
import { eventually } from './helpers/eventually.js';
import { Api, metricSample, startTestHub, type TestHub } from './helpers/hub.js';
import { MosquittoSub } from './helpers/mosquitto.js';
import { createIntegrator, TestMqtt } from './helpers/mqtt.js';
import { RawMqtt } from './helpers/raw-mqtt.js';

const BOUND = 10_000;
const FLAGS = ['--mqtt-queue-messages', String(BOUND), '--log-level', 'info'];
const TOPIC = 'halyard/devices/meter/telemetry';
const turn = () => new Promise((resolve) => setImmediate(resolve));

/** Publishes telemetry values from..to-1 on the hub's bus, a burst per event-loop turn, as commits do. */
async function publishValues(t: TestHub, from: number, to: number): Promise<void> {
  for (let v = from; v < to; v++) {
    const records: ResolvedRecord[] = [{ name: 'count', time: 1_760_000_000_000 + v, value: v }];
    t.hub.ctx.bus.publish('telemetry', { device: 'meter', records });
    if (v % 200 === 199) await turn();
  }
}

const countIn = (text: string) => (JSON.parse(text) as { v: number }[])[0]?.v;

/** The account's sessions as GET /integrators shows them. */
async function sessions(
  t: TestHub,
  username: string,
): Promise<{ clientId: string; connected: boolean; queued: number; dropped: number }[]> {
  const r = await t.api.get('/integrators');
  assert.equal(r.status, 200);
  const i = (r.body.integrators as { username: string; sessions: [] }[]).find((x) => x.username === username);
  return i?.sessions ?? [];
}

/** Waits until the session of `clientId` matches `pred` (polling the API: the queue changes without an event to await). */
async function sessionUntil(
  t: TestHub,
  clientId: string,
  pred: (s: { queued: number; connected: boolean; dropped: number }) => boolean,
  what: string,
  username = 'feed',
): Promise<void> {
  await eventually(
    async () => {
      const s = (await sessions(t, username)).find((x) => x.clientId === clientId);
      return s !== undefined && pred(s);
    },
    `${clientId} ${what}`,
    10_000,
  );
}

const queuedFor = (t: TestHub, _user: string, clientId: string, n: number) =>
  sessionUntil(t, clientId, (s) => s.queued === n, `had ${n} messages queued`);

function mqttUrl(t: TestHub): string {
  return `mqtt://127.0.0.1:${t.hub.mqttPort}`;
}

/** Connects clean=false as `clientId`, subscribes at QoS 1 and leaves. */
async function subscribeAndLeave(t: TestHub, clientId: string): Promise<void> {
  const c = await TestMqtt.connect(mqttUrl(t), { username: 'feed', password: 'feed-password', clientId, clean: false });
  assert.deepEqual(await c.subscribeQos(1, TOPIC), [1]);
  await c.close();
}

async function comeBack(t: TestHub, clientId: string, expect: number): Promise<TestMqtt> {
  const c = await TestMqtt.connect(mqttUrl(t), { username: 'feed', password: 'feed-password', clientId, clean: false });
  assert.equal(c.sessionPresent, true, 'the session was kept');
  await c.until(() => c.on(TOPIC).length >= expect, `${expect} messages`, 30_000);
  return c;
}

describe('persistent MQTT sessions', () => {
  let t: TestHub;
  before(async () => {
    t = await startTestHub(FLAGS);
    await createIntegrator(t.api, 'feed', 'feed-password');
    await t.api.provision('meter');
  });
  after(() => t.close());

  it(`gets all ${BOUND} messages published while away, in order, at QoS 1`, async () => {
    await subscribeAndLeave(t, 'billing');
    await publishValues(t, 0, BOUND);
    await queuedFor(t, 'feed', 'billing', BOUND);
    const c = await comeBack(t, 'billing', BOUND);
    const got = c.on(TOPIC);
    assert.deepEqual(
      got.map((m) => countIn(m.text)),
      Array.from({ length: BOUND }, (_, i) => i),
    );
    assert.ok(got.every((m) => m.qos === 1 && !m.retain));
    // Acknowledged: nothing left for the next visit.
    await queuedFor(t, 'feed', 'billing', 0);
    assert.equal(c.on(TOPIC).length, BOUND);
    await c.close();
    // Coming back with a clean session ends the persistent one ([MQTT-3.1.2-6]).
    const clean = await TestMqtt.connect(mqttUrl(t), { username: 'feed', password: 'feed-password', clientId: 'billing', clean: true });
    await clean.close();
    assert.equal(
      (await sessions(t, 'feed')).find((x) => x.clientId === 'billing'),
      undefined,
    );
  });

  it('keeps the newest messages when over the bound, and counts the drops for the session and in the metric', async () => {
    const before = await metricSample(t, 'halyard_mqtt_dropped_total{reason="offline_queue_full"}');
    await subscribeAndLeave(t, 'alerts');
    const total = BOUND + 2_500;
    await publishValues(t, 0, total);
    await queuedFor(t, 'feed', 'alerts', BOUND);
    const s = (await sessions(t, 'feed')).find((x) => x.clientId === 'alerts');
    assert.equal(s?.queued, BOUND);
    assert.equal(s?.dropped, 2_500);
    assert.equal((await metricSample(t, 'halyard_mqtt_dropped_total{reason="offline_queue_full"}')) - before, 2_500);
    const c = await comeBack(t, 'alerts', BOUND);
    // Everything acknowledged: nothing more is on its way.
    await queuedFor(t, 'feed', 'alerts', 0);
    assert.deepEqual(
      c.on(TOPIC).map((m) => countIn(m.text)),
      Array.from({ length: BOUND }, (_, i) => i + 2_500),
    );
    await c.close();
  });

  it('keeps the order when the hub goes on publishing while a returning client is sent its queue', async () => {
    await subscribeAndLeave(t, 'ledger');
    await publishValues(t, 0, 5_000);
    await queuedFor(t, 'feed', 'ledger', 5_000);
    const c = await TestMqtt.connect(mqttUrl(t), { username: 'feed', password: 'feed-password', clientId: 'ledger', clean: false });
    // Published while the queue is being sent.
    assert.ok(c.on(TOPIC).length < 5_000, 'the queue is still on its way');
    await publishValues(t, 5_000, 7_000);
    await c.until(() => c.on(TOPIC).length >= 7_000, '7,000 messages', 30_000);
    await queuedFor(t, 'feed', 'ledger', 0);
    assert.deepEqual(
      c.on(TOPIC).map((m) => countIn(m.text)),
      Array.from({ length: 7_000 }, (_, i) => i),
    );
    await c.close();
    const clean = await TestMqtt.connect(mqttUrl(t), { username: 'feed', password: 'feed-password', clientId: 'ledger', clean: true });
    await clean.close();
  });

  it('keeps the order when the hub publishes while the end of a short queue is still on its way', async () => {
    await subscribeAndLeave(t, 'tail');
    // 12 messages of 1.3 MB: more than the sockets between hub and client hold, fewer than the streams read ahead.
    const pad = 'x'.repeat(1_300_000);
    for (let v = 0; v < 12; v++) {
      const records: ResolvedRecord[] = [
        { name: 'count', time: 1_760_000_000_000 + v, value: v },
        { name: 'pad', time: 1_760_000_000_000 + v, stringValue: pad },
      ];
      t.hub.ctx.bus.publish('telemetry', { device: 'meter', records });
    }
    await queuedFor(t, 'feed', 'tail', 12);
    const back = await RawMqtt.connect(t.hub.mqttPort, { username: 'feed', password: 'feed-password', clientId: 'tail', clean: false });
    assert.equal(back.sessionPresent, true);
    const raw = back.raw;
    // The client stops reading: the hub is still writing the queue when it publishes more.
    raw.socket.pause();
    await publishValues(t, 12, 17);
    raw.socket.resume();
    await raw.until(() => raw.publishes().length >= 17, '17 messages', 30_000);
    const got = raw.publishes();
    assert.deepEqual(
      got.map((p) => countIn(p.payload)),
      Array.from({ length: 17 }, (_, i) => i),
    );
    for (const p of got) raw.puback(p.messageId as number);
    await queuedFor(t, 'feed', 'tail', 0);
    assert.equal(raw.publishes().length, 17, 'each once');
    raw.close();
  });

  it('redelivers, with DUP set, what a crashed subscriber received but never acknowledged', async () => {
    const first = await RawMqtt.connect(t.hub.mqttPort, { username: 'feed', password: 'feed-password', clientId: 'crashy', clean: false });
    assert.equal(await first.raw.subscribe(TOPIC, 1), 1);
    await publishValues(t, 0, 50);
    await first.raw.until(() => first.raw.publishes().length >= 50, '50 publishes');
    const unacked = first.raw.publishes();
    // Acknowledge the first 20, then crash.
    for (const p of unacked.slice(0, 20)) first.raw.puback(p.messageId as number);
    await queuedFor(t, 'feed', 'crashy', 30);
    first.raw.close();

    const again = await RawMqtt.connect(t.hub.mqttPort, { username: 'feed', password: 'feed-password', clientId: 'crashy', clean: false });
    assert.equal(again.sessionPresent, true);
    await again.raw.until(() => again.raw.publishes().length >= 30, '30 redeliveries');
    const redelivered = again.raw.publishes();
    assert.deepEqual(
      redelivered.map((p) => countIn(p.payload)),
      Array.from({ length: 30 }, (_, i) => i + 20),
    );
    assert.ok(redelivered.every((p) => p.dup && p.qos === 1));
    assert.deepEqual(
      redelivered.map((p) => p.messageId),
      unacked.slice(20).map((p) => p.messageId),
      'sent again under the same packet ids',
    );
    for (const p of redelivered) again.raw.puback(p.messageId as number);
    again.raw.close();
  });

  it('mosquitto_sub with a persistent session (-c) gets what it missed', async () => {
    const args = ['-h', '127.0.0.1', '-p', String(t.hub.mqttPort), '-u', 'feed', '-P', 'feed-password', '-i', 'mosq', '-c', '-q', '1'];
    const first = MosquittoSub.start([...args, '-t', TOPIC]);
    // Subscribed once a message arrives.
    for (let v = 0; first.lines.length === 0 && v < 200; v++) {
      await publishValues(t, 500, 501);
      await first.until(() => first.lines.length > 0, 'a first message', 50).catch(() => {});
    }
    first.stop();
    await first.exited();
    await sessionUntil(t, 'mosq', (s) => !s.connected && s.queued === 0, 'went away with nothing queued');
    await publishValues(t, 1_000, 1_100);
    await queuedFor(t, 'feed', 'mosq', 100);
    const back = MosquittoSub.start([...args, '-t', TOPIC, '-C', '100']);
    assert.equal(await back.exited(15_000), 0, back.stderr);
    assert.deepEqual(
      back.lines.map((l) => countIn(l.payload)),
      Array.from({ length: 100 }, (_, i) => i + 1_000),
    );
  });

  it('an admin drops a session: its queue is freed and the drop is audited', async () => {
    await subscribeAndLeave(t, 'gone');
    await publishValues(t, 0, 10);
    await queuedFor(t, 'feed', 'gone', 10);
    await t.api.post('/operators', { username: 'op', password: 'operator-pass', role: 'operator' });
    const operator = new Api(t.http);
    await operator.login('op', 'operator-pass');
    assert.equal((await operator.delete('/integrators/feed/sessions/gone')).status, 403, 'admins only');
    const r = await t.api.delete('/integrators/feed/sessions/gone');
    assert.equal(r.status, 204);
    assert.equal((await t.api.delete('/integrators/feed/sessions/gone')).status, 404);
    assert.equal(
      (await sessions(t, 'feed')).find((s) => s.clientId === 'gone'),
      undefined,
    );
    const audit = await t.api.get('/audit');
    assert.ok(JSON.stringify(audit.body).includes('integrator.session.drop'));
    const c = await TestMqtt.connect(mqttUrl(t), { username: 'feed', password: 'feed-password', clientId: 'gone', clean: false });
    assert.equal(c.sessionPresent, false);
    await c.close();
  });
});

describe('persistent MQTT sessions across a hub restart', () => {
  it(`a session away while the hub restarts gets all ${BOUND} messages, in order`, async () => {
    let t = await startTestHub(FLAGS);
    try {
      await createIntegrator(t.api, 'feed', 'feed-password');
      await t.api.provision('meter');
      await subscribeAndLeave(t, 'erp');
      await publishValues(t, 0, BOUND);
      await queuedFor(t, 'feed', 'erp', BOUND);
      await t.stop();
      t = await startTestHub(FLAGS, t.dir);
      const s = (await sessions(t, 'feed')).find((x) => x.clientId === 'erp');
      assert.equal(s?.queued, BOUND);
      assert.equal(s?.connected, false);
      const c = await comeBack(t, 'erp', BOUND);
      assert.deepEqual(
        c.on(TOPIC).map((m) => countIn(m.text)),
        Array.from({ length: BOUND }, (_, i) => i),
      );
      await c.close();
    } finally {
      await t.close();
    }
  });
});

describe('all persistent sessions together', () => {
  it('keeps at most --mqtt-queue-total: the largest queue drops its oldest, a small one keeps everything, counted and logged once', async () => {
    let t = await startTestHub(['--mqtt-queue-total', '1MiB', '--log-level', 'info']);
    try {
      await createIntegrator(t.api, 'feed', 'feed-password');
      await t.api.provision('meter');
      await t.api.provision('pump');
      const small = await TestMqtt.connect(mqttUrl(t), { username: 'feed', password: 'feed-password', clientId: 'small', clean: false });
      assert.deepEqual(await small.subscribeQos(1, TOPIC), [1]);
      await small.close();
      const hog = await TestMqtt.connect(mqttUrl(t), { username: 'feed', password: 'feed-password', clientId: 'hog', clean: false });
      assert.deepEqual(await hog.subscribeQos(1, 'halyard/devices/+/telemetry'), [1]);
      await hog.close();
      // Both sessions get the meter's 5 small messages; only the hog the pump's 5 of 300 kB (1.5 MB in all).
      await publishValues(t, 0, 5);
      const pad = 'x'.repeat(300_000);
      for (let v = 0; v < 5; v++) {
        const records: ResolvedRecord[] = [{ name: 'pad', time: 1_760_000_000_000 + v, stringValue: pad }];
        t.hub.ctx.bus.publish('telemetry', { device: 'pump', records });
      }
      await sessionUntil(t, 'hog', (s) => s.dropped > 0, 'dropped its oldest');
      const all = await sessions(t, 'feed');
      const hogNow = all.find((s) => s.clientId === 'hog');
      const smallNow = all.find((s) => s.clientId === 'small');
      assert.deepEqual(
        { queued: smallNow?.queued, dropped: smallNow?.dropped },
        { queued: 5, dropped: 0 },
        'the small one keeps everything',
      );
      // Cut to nine tenths of 1 MiB: the meter's five went first (the oldest), then the pump's oldest.
      assert.equal(hogNow?.dropped, 7);
      assert.equal(hogNow?.queued, 3);
      assert.equal(await metricSample(t, 'halyard_mqtt_dropped_total{reason="offline_queue_total"}'), 7);
      const bytes = await metricSample(t, 'halyard_mqtt_session_queue_bytes');
      assert.ok(bytes > 900_000 && bytes <= 0.9 * 1024 * 1024, `the total after the cut: ${bytes}`);
      // Two cuts (at the pump's fourth and fifth message), one warning line.
      const lines = t.logs.filter((l) => l.msg.includes('--mqtt-queue-total'));
      assert.equal(lines.length, 1);
      assert.deepEqual([lines[0]?.level, lines[0]?.sessions, lines[0]?.messages, lines[0]?.limit], [40, 1, 6, 1024 * 1024]);

      // The hog gets what is left, newest last.
      const back = await TestMqtt.connect(mqttUrl(t), { username: 'feed', password: 'feed-password', clientId: 'hog', clean: false });
      await back.until(() => back.on('halyard/devices/pump/telemetry').length >= 3, 'three messages');
      assert.equal(back.on(TOPIC).length, 0);
      await back.close();

      // Read back under a smaller bound: the drops are counted on top of those before.
      await t.stop();
      t = await startTestHub(['--mqtt-queue-messages', '2'], t.dir);
      const restored = (await sessions(t, 'feed')).find((x) => x.clientId === 'small');
      assert.deepEqual({ queued: restored?.queued, dropped: restored?.dropped }, { queued: 2, dropped: 3 });
    } finally {
      await t.close();
    }
  });
});

describe('a persistent session of an account with a narrow ACL', () => {
  it('queues only what the account may read, so the rest cannot push it out, also after a restart', async () => {
    const flags = ['--mqtt-queue-messages', '10'];
    let t = await startTestHub(flags);
    try {
      await createIntegrator(t.api, 'narrow', 'narrow-password', { subscribe: ['halyard/devices/d1/#'], publish: [] });
      await t.api.provision('d1');
      await t.api.provision('d2');
      const login = { username: 'narrow', password: 'narrow-password', clientId: 'wide', clean: false };
      const first = await TestMqtt.connect(mqttUrl(t), login);
      // Granted: the filter can match something the account may read; delivery is filtered.
      assert.deepEqual(await first.subscribeQos(1, 'halyard/#'), [1]);
      await first.close();
      const send = (device: string, from: number, to: number) => {
        for (let v = from; v < to; v++) {
          t.hub.ctx.bus.publish('telemetry', { device, records: [{ name: 'count', time: 1_760_000_000_000 + v, value: v }] });
        }
      };
      send('d1', 0, 5);
      send('d2', 100, 150);
      await sessionUntil(t, 'wide', (s) => s.queued === 5, 'holding the five of d1', 'narrow');
      const s = (await sessions(t, 'narrow')).find((x) => x.clientId === 'wide');
      assert.equal(s?.dropped, 0, "d2's fifty were never queued, so none of d1's was dropped");

      // Restarted: the session's account ACL is read again for what it queues.
      await t.stop();
      t = await startTestHub(flags, t.dir);
      // (Its 50 would overflow the bound of 10 if they were queued.)
      send('d2', 200, 250);
      send('d1', 5, 6);
      const back = await TestMqtt.connect(mqttUrl(t), login);
      await back.until(() => back.on('halyard/devices/d1/telemetry').length >= 6, "d1's six");
      assert.equal(back.on('halyard/devices/d2/telemetry').length, 0);
      const after = (await sessions(t, 'narrow')).find((x) => x.clientId === 'wide');
      assert.equal(after?.dropped, 0);
      await back.close();
    } finally {
      await t.close();
    }
  });
});

describe('QoS per topic class', () => {
  it('with --mqtt-qos 1,telemetry=0 a session queues events but not telemetry, and live telemetry arrives at QoS 0', async () => {
    const t = await startTestHub(['--mqtt-qos', '1,telemetry=0', '--log-level', 'info']);
    try {
      await createIntegrator(t.api, 'feed', 'feed-password');
      await t.api.provision('meter');
      const events = 'halyard/devices/meter/events';
      const opts = { username: 'feed', password: 'feed-password', clientId: 'mixed', clean: false };
      const first = await TestMqtt.connect(mqttUrl(t), opts);
      assert.deepEqual(await first.subscribeQos(1, TOPIC, events), [1, 1]);
      await first.close();
      await publishValues(t, 0, 5);
      for (let id = 1; id <= 5; id++) {
        t.hub.ctx.bus.publish('event', {
          event: { id, device: 'meter', name: 'door', level: 1, data: null, time: 1_760_000_000_000 + id, receivedAt: Date.now() },
        });
      }
      await queuedFor(t, 'feed', 'mixed', 5);
      const back = await TestMqtt.connect(mqttUrl(t), opts);
      await back.until(() => back.on(events).length === 5, 'the 5 queued events');
      assert.ok(back.on(events).every((m) => m.qos === 1));
      assert.equal(back.on(TOPIC).length, 0, 'telemetry at QoS 0 is live-only');
      await publishValues(t, 5, 6);
      const live = await back.next(TOPIC);
      assert.equal(live.qos, 0, 'min(publish QoS 0, subscription QoS 1)');
      await back.close();
    } finally {
      await t.close();
    }
  });
});
