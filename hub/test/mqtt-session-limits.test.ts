// Persistent sessions (clean=false) abandoned by their clients: QoS 2 publishes whose
// PUBREL never comes, under several client ids, are bounded per client id (across
// reconnects) and in total, refusals end the connection and are counted,
// retransmissions are answered without being carried out twice, an abandoned
// session is freed when it expires, and an account keeps only so many waiting.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually } from './helpers/eventually.js';
import { metricSample, startTestHub, type TestHub } from './helpers/hub.js';
import { createIntegrator, TestMqtt } from './helpers/mqtt.js';
import { RawMqtt } from './helpers/raw-mqtt.js';

const PER_CLIENT = 8;
const MAX_SESSIONS = 3;
const TOTAL = 20;
const TOPIC = 'halyard/devices/q2-d1/cmd/noop';
const LOGIN = { username: 'q2', password: 'q2-password' };

/**
 * A command request padded to about `bytes`, with its own idempotency key. The pad is
 * strings of 8 KiB, since one string longer than a device decodes is refused
 * (SPEC.md §9).
 */
function request(key: string, bytes = 32 * 1024): string {
  const pad = Array.from({ length: Math.ceil(bytes / 8192) }, (_, i) => 'x'.repeat(Math.min(8192, bytes - i * 8192)));
  return JSON.stringify({ id: key, params: { pad } });
}

describe('MQTT QoS 2 publishes awaiting PUBREL', () => {
  let t: TestHub;
  before(async () => {
    t = await startTestHub([
      '--mqtt-max-inflight',
      String(PER_CLIENT),
      '--mqtt-inflight-total',
      String(TOTAL),
      '--mqtt-session-expiry',
      '3s',
      '--mqtt-max-sessions',
      String(MAX_SESSIONS),
    ]);
    await createIntegrator(t.api, 'many', 'many-password');
    await createIntegrator(t.api, LOGIN.username, LOGIN.password);
    await t.api.provision('q2-d1');
  });
  after(() => t.close());

  const accepted = () => metricSample(t, 'halyard_mqtt_requests_total{kind="command",outcome="accepted"}');
  const inflight = () => metricSample(t, 'halyard_mqtt_inflight_messages');
  const refused = () => metricSample(t, 'halyard_mqtt_disconnects_total{reason="inflight_limit"}');

  /** Connects `clientId` with clean=false and sends QoS 2 publishes `ids`, waiting for each PUBREC. */
  async function halfOpen(clientId: string, ids: number[]): Promise<RawMqtt> {
    const { raw, returnCode } = await RawMqtt.connect(t.hub.mqttPort, { ...LOGIN, clientId, clean: false });
    assert.equal(returnCode, 0);
    for (const id of ids) raw.publishQos2(TOPIC, request(`${clientId}-${id}`), id);
    await raw.until(() => ids.every((id) => raw.pubrecs().includes(id)), `PUBRECs ${ids.join(',')}`);
    return raw;
  }

  it('ends the connection of a client id past its bound, across reconnects, and counts it', async () => {
    const ids = Array.from({ length: PER_CLIENT }, (_, i) => i + 1);
    const a = await halfOpen('half-open-a', ids);
    assert.equal(await accepted(), PER_CLIENT);
    assert.equal(await inflight(), PER_CLIENT);
    // One more is refused: MQTT 3.1.1 has no refusal for a PUBLISH but the connection's end.
    a.publishQos2(TOPIC, request('half-open-a-over'), 100);
    await a.waitClosed();
    assert.ok(!a.pubrecs().includes(100), 'no PUBREC for the refused publish');
    assert.equal(await refused(), 1);
    assert.equal(await metricSample(t, 'halyard_mqtt_dropped_total{reason="inflight_limit"}'), 1);
    assert.equal(await accepted(), PER_CLIENT, 'the refused request was not carried out');
    assert.ok(t.logs.some((l) => l.msg.startsWith('mqtt QoS 2 publish refused') && l.limit === PER_CLIENT));

    // Back with the same id: a retransmission is answered without a second command, a new one is refused.
    const { raw: again, returnCode } = await RawMqtt.connect(t.hub.mqttPort, { ...LOGIN, clientId: 'half-open-a', clean: false });
    assert.equal(returnCode, 0);
    again.publishQos2(TOPIC, request('half-open-a-3-retry'), 3, true);
    await again.next(0x5, (p) => p.body.readUInt16BE(0) === 3);
    again.publishQos2(TOPIC, request('half-open-a-new'), 200);
    await again.waitClosed();
    assert.equal(await refused(), 2);
    assert.equal(await accepted(), PER_CLIENT, 'neither the retransmission nor the refused one was carried out');
    assert.equal(await inflight(), PER_CLIENT);
  });

  it('bounds them across client ids, then frees an abandoned session when it expires', async () => {
    const b = await halfOpen(
      'half-open-b',
      Array.from({ length: PER_CLIENT }, (_, i) => i + 1),
    );
    const rest = TOTAL - 2 * PER_CLIENT;
    const c = await halfOpen(
      'half-open-c',
      Array.from({ length: rest }, (_, i) => i + 1),
    );
    assert.equal(await inflight(), TOTAL);
    c.publishQos2(TOPIC, request('half-open-c-over'), 1000);
    await c.waitClosed();
    assert.equal(await refused(), 3);
    assert.ok(t.logs.some((l) => l.msg.startsWith('mqtt QoS 2 publish refused') && l.limit === TOTAL && l.scope === 'all clients'));
    b.close();
    await b.waitClosed();

    // Nobody comes back: the sessions expire and what they held is freed and counted.
    await eventually(async () => (await inflight()) === 0, 'the abandoned sessions to expire', 15_000);
    assert.equal(await metricSample(t, 'halyard_mqtt_dropped_total{reason="session_ended"}'), TOTAL);
    assert.ok((await metricSample(t, 'halyard_mqtt_sessions_ended_total{reason="expired"}')) >= 3);
    assert.equal(await metricSample(t, 'halyard_mqtt_sessions_waiting'), 0);
    assert.ok(t.logs.some((l) => l.msg.startsWith('mqtt session ended') && l.client === 'q2:half-open-a' && l.why === 'expired'));

    // A client that completes its exchanges is never near the bound.
    const ok = await TestMqtt.connect(`mqtt://127.0.0.1:${t.hub.mqttPort}`, { ...LOGIN, clientId: 'well-behaved', clean: false });
    for (let i = 0; i < 3 * TOTAL; i++) await ok.client.publishAsync(TOPIC, request(`ok-${i}`, 100), { qos: 2 });
    assert.equal(await inflight(), 0);
    assert.equal(ok.closed, false);
    await ok.close();
  });

  it('carries out a QoS 2 will without holding a place for a PUBREL that cannot come', async () => {
    const before = await accepted();
    const will = { topic: 'halyard/devices/q2-d1/cmd/from-will', payload: Buffer.from('{}'), qos: 2 as const, retain: false };
    const c = await TestMqtt.connect(`mqtt://127.0.0.1:${t.hub.mqttPort}`, { ...LOGIN, clientId: 'with-will', clean: false, will });
    c.client.stream.destroy(); // gone without DISCONNECT: the will is published
    await eventually(async () => (await accepted()) === before + 1, 'the will to be carried out');
    assert.equal(await inflight(), 0);
  });

  it("keeps --mqtt-max-sessions of an account's sessions waiting, ending the oldest first", async () => {
    const url = `mqtt://127.0.0.1:${t.hub.mqttPort}`;
    const login = { username: 'many', password: 'many-password', clean: false };
    const tooMany = () => metricSample(t, 'halyard_mqtt_sessions_ended_total{reason="too_many"}');
    for (let i = 0; i < MAX_SESSIONS + 2; i++) {
      const c = await TestMqtt.connect(url, { ...login, clientId: `many-${i}` });
      await c.subscribe('halyard/hub/status');
      await c.close();
    }
    await eventually(async () => (await tooMany()) === 2, 'the two oldest sessions to end');
    assert.ok(t.logs.some((l) => l.msg.startsWith('mqtt session ended') && l.client === 'many:many-0' && l.why === 'too_many'));
    const oldest = await TestMqtt.connect(url, { ...login, clientId: 'many-0' });
    assert.equal(oldest.sessionPresent, false, 'the oldest session was ended');
    await oldest.close();
    const newest = await TestMqtt.connect(url, { ...login, clientId: `many-${MAX_SESSIONS + 1}` });
    assert.equal(newest.sessionPresent, true, 'the newest session waited for its client');
    await newest.close();
  });
});
