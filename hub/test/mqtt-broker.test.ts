// The embedded broker's rules with real mqtt.js clients: authentication, ACLs on
// SUBSCRIBE and on retained delivery, publish restrictions, $SYS, deep topics,
// oversized packets, and MQTT over WebSocket at /mqtt.

import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { TestDevice } from './helpers/device.js';
import { eventually } from './helpers/eventually.js';
import { metricSample, startTestHub, type TestHub } from './helpers/hub.js';
import { createIntegrator, TestMqtt } from './helpers/mqtt.js';
import { RawMqtt } from './helpers/raw-mqtt.js';

describe('embedded MQTT broker', () => {
  let t: TestHub;
  let url: string;
  before(async () => {
    t = await startTestHub();
    url = `mqtt://127.0.0.1:${t.hub.mqttPort}`;
    await createIntegrator(t.api, 'alice', 'alice-password');
    await createIntegrator(t.api, 'only-d1', 'only-d1-password', {
      subscribe: ['halyard/devices/acl-d1/#', 'halyard/hub/status'],
      publish: ['halyard/devices/acl-d1/cmd/+'],
    });
    await t.api.provision('acl-d1');
    await t.api.provision('acl-d2');
  });
  after(() => t.close());

  it('listens on the reported port and publishes hub/status online, retained', async () => {
    assert.ok(t.hub.mqttPort > 0);
    const c = await TestMqtt.connect(url, { username: 'alice', password: 'alice-password' });
    await c.subscribe('halyard/hub/status');
    const m = await c.next('halyard/hub/status');
    assert.equal(m.text, 'online');
    assert.equal(m.retain, true);
    await c.close();
  });

  it('refuses anonymous clients, unknown users and wrong passwords', async () => {
    await assert.rejects(TestMqtt.connect(url), /Not authorized/i);
    await assert.rejects(TestMqtt.connect(url, { username: 'nobody', password: 'whatever-123' }), /Bad username or password/i);
    await assert.rejects(TestMqtt.connect(url, { username: 'alice', password: 'wrong-password' }), /Bad username or password/i);
    const metrics = await fetch(`${t.http}/metrics`).then((r) => r.text());
    assert.match(metrics, /halyard_mqtt_auth_failures_total [3-9]/);
  });

  it('grants subscriptions that can match something readable and refuses the rest', async () => {
    const c = await TestMqtt.connect(url, { username: 'only-d1', password: 'only-d1-password' });
    assert.deepEqual(
      await c.subscribe('halyard/devices/acl-d1/status', '#', 'halyard/devices/acl-d2/status', '$SYS/#', 'other/#'),
      [0, 0, 128, 128, 128],
    );
    await c.close();
  });

  it('filters retained deliveries by the ACL: a # subscriber sees only what it may read', async () => {
    const d = await TestMqtt.connect(url, { username: 'alice', password: 'alice-password' });
    await d.subscribe('halyard/devices/+/status');
    // Both devices' retained status exists before the restricted client subscribes.
    await d.until(
      () => d.on('halyard/devices/acl-d1/status').length > 0 && d.on('halyard/devices/acl-d2/status').length > 0,
      'both statuses',
    );
    await d.close();

    const c = await TestMqtt.connect(url, { username: 'only-d1', password: 'only-d1-password' });
    await c.subscribe('#');
    await c.next('halyard/devices/acl-d1/status', (m) => m.retain && m.text === 'offline');
    await c.next('halyard/hub/status', (m) => m.retain);
    // Live traffic is filtered too: acl-d2 comes online, acl-d1 after it; only acl-d1's reaches this client.
    const d2 = await TestDevice.connect(t.ws, (await t.api.post('/devices/acl-d2/token')).body.token);
    const d1 = await TestDevice.connect(t.ws, (await t.api.post('/devices/acl-d1/token')).body.token);
    await c.next('halyard/devices/acl-d1/status', (m) => !m.retain && m.text === 'online');
    assert.deepEqual(
      c.received.filter((m) => !m.topic.startsWith('halyard/devices/acl-d1/') && m.topic !== 'halyard/hub/status'),
      [],
      'nothing outside the ACL',
    );
    await d1.close();
    await d2.close();
    await c.close();
  });

  /** Does `act`, then checks the hub closed `c` for it: a `forbidden` disconnect counted and logged with `topic`. */
  async function closedAsForbidden(c: TestMqtt, username: string, topic: string, act: () => void): Promise<void> {
    const forbidden = () => metricSample(t, 'halyard_mqtt_disconnects_total{reason="forbidden"}');
    const before = await forbidden();
    act();
    await c.waitClosed();
    assert.equal(await forbidden(), before + 1, `closed as forbidden after publishing to ${topic}`);
    assert.ok(
      t.logs.some((l) => l.msg.startsWith('mqtt publish refused') && l.username === username && l.topic === topic),
      `the refusal of ${topic} logged`,
    );
  }

  it('disconnects a client publishing to a topic only the hub publishes to', async () => {
    for (const topic of ['halyard/devices/acl-d1/status', 'halyard/devices/acl-d1/telemetry', 'halyard/hub/status', 'other/topic']) {
      const c = await TestMqtt.connect(url, { username: 'alice', password: 'alice-password' });
      await closedAsForbidden(c, 'alice', topic, () => c.client.publish(topic, 'forged', { qos: 0, retain: true }));
    }
    const watcher = await TestMqtt.connect(url, { username: 'alice', password: 'alice-password' });
    await watcher.subscribe('halyard/#');
    await watcher.next('halyard/hub/status');
    assert.equal(watcher.received.filter((m) => m.text === 'forged').length, 0, 'no forged message was stored or delivered');
    await watcher.close();
  });

  it('disconnects a client whose topic name holds U+0000 ([MQTT-4.7.3-2]), even one its ACL would allow', async () => {
    const topic = 'halyard/devices/acl-d1\u0000/cmd/reboot';
    const c = await TestMqtt.connect(url, { username: 'alice', password: 'alice-password' });
    await closedAsForbidden(c, 'alice', topic, () => c.client.publish(topic, '{}', { qos: 1 }));
    assert.ok(t.logs.some((l) => String(l.msg).includes('U+0000') && l.topic === topic));
  });

  it('never stores a request as a retained message, nor shows it to other clients', async () => {
    const watcher = await TestMqtt.connect(url, { username: 'alice', password: 'alice-password' });
    await watcher.subscribe('halyard/devices/acl-d1/cmd/#');
    const c = await TestMqtt.connect(url, { username: 'alice', password: 'alice-password' });
    await c.publish('halyard/devices/acl-d1/cmd/retained', '{"id":"keep-me"}', { qos: 1, retain: true });
    // The request is answered (its status), but the request itself reaches nobody.
    await watcher.next('halyard/devices/acl-d1/cmd/retained/status');
    assert.deepStrictEqual(watcher.on('halyard/devices/acl-d1/cmd/retained'), []);
    const late = await TestMqtt.connect(url, { username: 'alice', password: 'alice-password' });
    await late.subscribe('halyard/devices/acl-d1/cmd/retained', 'halyard/hub/status');
    await late.next('halyard/hub/status');
    assert.deepStrictEqual(late.on('halyard/devices/acl-d1/cmd/retained'), [], 'not retained');
    for (const x of [watcher, c, late]) await x.close();
  });

  it("enforces an account's publish ACL on command topics", async () => {
    const c = await TestMqtt.connect(url, { username: 'only-d1', password: 'only-d1-password' });
    const topic = 'halyard/devices/acl-d2/cmd/reboot';
    await closedAsForbidden(c, 'only-d1', topic, () => c.client.publish(topic, '{}', { qos: 0 }));
    // The line says why: a command topic, refused by the account's ACL.
    assert.ok(t.logs.some((l) => l.topic === topic && l.msg === "mqtt publish refused: the account's ACL does not allow this topic"));
  });

  it('answers an empty client id with a persistent session CONNACK 2 ([MQTT-3.1.3-8]); with a clean one it is let in', async () => {
    const persistent = await RawMqtt.connect(t.hub.mqttPort, { username: 'alice', password: 'alice-password', clientId: '', clean: false });
    assert.equal(persistent.returnCode, 2);
    assert.ok(t.logs.some((l) => l.msg === 'mqtt client refused: an empty client id needs a clean session' && l.username === 'alice'));
    persistent.raw.socket.destroy();
    const clean = await RawMqtt.connect(t.hub.mqttPort, { username: 'alice', password: 'alice-password', clientId: '', clean: true });
    assert.equal(clean.returnCode, 0);
    clean.raw.socket.destroy();
  });

  it('refuses $SYS publishes and topics deeper than 32 levels', async () => {
    const a = await TestMqtt.connect(url, { username: 'alice', password: 'alice-password' });
    await closedAsForbidden(a, 'alice', '$SYS/x', () => a.client.publish('$SYS/x', 'y', { qos: 0 }));
    // Too deep is aedes's own refusal (maxTopicLevels): the hub logs its reason.
    const b = await TestMqtt.connect(url, { username: 'alice', password: 'alice-password', clientId: 'too-deep' });
    b.client.subscribe(`halyard/${Array.from({ length: 40 }, (_, i) => `l${i}`).join('/')}`);
    await b.waitClosed();
    assert.ok(
      t.logs.some((l) => l.msg === 'mqtt client error' && l.client === 'alice:too-deep' && l.err === 'topic has too many levels'),
      'closed for the depth of its filter',
    );
  });

  it('disconnects a packet over the size limit before buffering it', async () => {
    const c = await TestMqtt.connect(url, { username: 'alice', password: 'alice-password' });
    // The limit is twice --max-frame (64 KiB): a request bigger than a device frame cannot be carried out anyway.
    const tooLarge = () => metricSample(t, 'halyard_mqtt_disconnects_total{reason="too_large"}');
    const before = await tooLarge();
    c.client.publish('halyard/devices/acl-d1/cmd/big', Buffer.alloc(130 * 1024, 0x20), { qos: 0 });
    await c.waitClosed();
    assert.equal(await tooLarge(), before + 1);
    assert.ok(t.logs.some((l) => l.msg.startsWith('mqtt packet over the size limit') && l.limit === 128 * 1024));
    // An unauthenticated peer announcing a 200 MB CONNECT is cut off as soon as the header arrives.
    const sock = connect(t.hub.mqttPort, '127.0.0.1');
    await new Promise<void>((resolve) => sock.once('connect', () => resolve()));
    sock.write(Buffer.from([0x10, 0xff, 0xff, 0xff, 0x5f]));
    await new Promise<void>((resolve) => sock.once('close', () => resolve()));
    assert.equal(await tooLarge(), before + 2, 'closed for its size');
  });

  it('answers an MQTT 5 CONNECT, properties and login included, with CONNACK 1 (unacceptable protocol version)', async () => {
    const sock = connect(t.hub.mqttPort, '127.0.0.1');
    const got: Buffer[] = [];
    sock.on('data', (d: Buffer) => got.push(d));
    // "MQTT", level 5, username + password + clean start, keep-alive 60, a Session Expiry
    // Interval of 3600 s, client id "a", username "u", password "p".
    const body = Buffer.from([0, 4, 0x4d, 0x51, 0x54, 0x54, 5, 0xc2, 0, 60, 5, 0x11, 0, 0, 0x0e, 0x10, 0, 1, 0x61, 0, 1, 0x75, 0, 1, 0x70]);
    sock.write(Buffer.concat([Buffer.from([0x10, body.length]), body]));
    await new Promise<void>((resolve) => sock.once('close', () => resolve()));
    // A 3.1.1 CONNACK (what an MQTT 5 client reads as "unsupported protocol version"), then the close.
    assert.equal(Buffer.concat(got).toString('hex'), '20020001');
  });

  it('takes MQTT over WebSocket at /mqtt with the same login', async () => {
    await assert.rejects(TestMqtt.connect(`ws://127.0.0.1:${t.hub.port}/mqtt`), /Not authorized/i);
    const c = await TestMqtt.connect(`ws://127.0.0.1:${t.hub.port}/mqtt`, { username: 'alice', password: 'alice-password' });
    await c.subscribe('halyard/hub/status');
    assert.equal((await c.next('halyard/hub/status')).text, 'online');
    await c.close();
  });

  it('ends the connections of a deleted account', async () => {
    await createIntegrator(t.api, 'temp', 'temp-password');
    // A persistent session the account left behind ends with the account, not an hour later.
    const waiting = () => metricSample(t, 'halyard_mqtt_sessions_waiting');
    const before = await waiting();
    const left = await TestMqtt.connect(url, { username: 'temp', password: 'temp-password', clientId: 'left-behind', clean: false });
    await left.subscribe('halyard/hub/status');
    await left.close();
    await eventually(async () => (await waiting()) === before + 1, 'the session to wait for its client');
    const watcher = await TestMqtt.connect(url, { username: 'alice', password: 'alice-password' });
    await watcher.subscribe('halyard/devices/acl-d1/cmd/+/status');
    // Its last will is a command: a deleted account's will must not run.
    const will = { topic: 'halyard/devices/acl-d1/cmd/from-will', payload: Buffer.from('{}'), qos: 0 as const, retain: false };
    const c = await TestMqtt.connect(url, { username: 'temp', password: 'temp-password', will });
    const deleted = () => metricSample(t, 'halyard_mqtt_disconnects_total{reason="account_deleted"}');
    const deletedBefore = await deleted();
    assert.equal((await t.api.delete('/integrators/temp')).status, 204);
    await c.waitClosed();
    assert.equal(await deleted(), deletedBefore + 1, 'closed because its account was deleted');
    await watcher.publish('halyard/devices/acl-d1/cmd/after-delete', '{}');
    await watcher.next('halyard/devices/acl-d1/cmd/after-delete/status');
    assert.deepStrictEqual(watcher.on('halyard/devices/acl-d1/cmd/from-will/status'), []);
    await watcher.close();
    await assert.rejects(TestMqtt.connect(url, { username: 'temp', password: 'temp-password' }), /Bad username or password/i);
    await eventually(async () => (await waiting()) === before, "the deleted account's sessions to end");
    assert.ok(t.logs.some((l) => l.msg.startsWith('mqtt session ended') && l.client === 'temp:left-behind' && l.why === 'account_deleted'));
  });

  it('scopes client ids per account: another account can neither take over nor lock out nor resume a session', async () => {
    const owner = { username: 'alice', password: 'alice-password', clientId: 'shared-id', clean: false };
    const other = { username: 'only-d1', password: 'only-d1-password', clientId: 'shared-id', clean: false };
    // A read-only account takes the id first: the owner still gets in, and the squatter is not kicked either.
    const squatter = await TestMqtt.connect(url, { ...other, clean: true });
    const a = await TestMqtt.connect(url, owner);
    await a.subscribe('halyard/hub/status');
    await squatter.subscribe('halyard/devices/acl-d1/status');
    assert.equal(squatter.closed, false);
    await squatter.close();
    // The other account presents the same id while the owner is connected: its own session, the owner keeps its connection.
    const b = await TestMqtt.connect(url, other);
    assert.equal(b.client.connected, true);
    await a.subscribe('halyard/devices/acl-d1/status'); // a round trip after b's CONNACK: a kick would have landed by now
    assert.equal(a.closed, false, "the owner's connection was not taken over");
    await b.close();
    await a.close();
    // The owner's persistent session is there for the owner only.
    const b2 = await TestMqtt.connect(url, other);
    assert.equal(b2.sessionPresent, false, "the other account did not resume the owner's session");
    await b2.close();
    const a2 = await TestMqtt.connect(url, owner);
    assert.equal(a2.sessionPresent, true, 'the owner resumes its session');
    // Within one account the id still means one connection: the newer one takes over ([MQTT-3.1.4-2]).
    const a3 = await TestMqtt.connect(url, owner);
    await a2.waitClosed();
    await a3.close();
  });
});
