// Red team, wave 2: one integrator account holding persistent MQTT sessions. The
// bound of --mqtt-max-sessions applied only to sessions whose clients were away, so
// an account could keep any number connected, each clean=false client that never
// acknowledges pinning a full QoS 1 queue (--mqtt-queue-bytes) in the hub's memory.
//
// And the broker's connections: 1,000 per listener for everybody, with no share per
// account, so one integrator (even a read-only one) holding them all locked every
// other integrator out. --mqtt-account-conns bounds each account's.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually } from './helpers/eventually.js';
import { metricSample, startTestHub, type TestHub } from './helpers/hub.js';
import { createIntegrator } from './helpers/mqtt.js';
import { RawMqtt } from './helpers/raw-mqtt.js';

const MAX_SESSIONS = 3;
const LOGIN = { username: 'hog', password: 'hog-password' };

describe('red team: persistent MQTT sessions per account, connected or away', () => {
  let t: TestHub;
  const open: RawMqtt[] = [];
  before(async () => {
    t = await startTestHub(['--mqtt-max-sessions', String(MAX_SESSIONS), '--mqtt-queue-bytes', '64KiB']);
    await createIntegrator(t.api, LOGIN.username, LOGIN.password);
    await createIntegrator(t.api, 'other', 'other-password');
  });
  after(async () => {
    for (const r of open) r.close();
    await t.close();
  });

  const connect = async (clientId: string, clean = false, login = LOGIN) => {
    const c = await RawMqtt.connect(t.hub.mqttPort, { ...login, clientId, clean });
    open.push(c.raw);
    return c;
  };
  const sessionsOf = async (username: string) =>
    (
      (await t.api.get('/integrators')).body.integrators as { username: string; sessions: { clientId: string; connected: boolean }[] }[]
    ).find((i) => i.username === username)?.sessions ?? [];

  it('refuses a new persistent client id past the bound while all are connected (CONNACK 3), however many log in at once (8, within --mqtt-pending-per-ip)', async () => {
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => connect(`burst-${i}`)));
    assert.equal(answers.filter((a) => a.returnCode === 0).length, MAX_SESSIONS, JSON.stringify(answers.map((a) => a.returnCode)));
    for (const a of answers.filter((x) => x.returnCode !== 0)) {
      assert.equal(a.returnCode, 3);
      await a.raw.waitClosed();
    }
    assert.equal((await sessionsOf(LOGIN.username)).length, MAX_SESSIONS);
    assert.equal(await metricSample(t, 'halyard_mqtt_disconnects_total{reason="too_many_sessions"}'), 8 - MAX_SESSIONS);
    assert.ok(t.logs.some((l) => l.msg.startsWith('mqtt persistent session refused') && l.username === LOGIN.username));
    // Clean sessions keep nothing once gone: still welcome; and another account has its own bound.
    assert.equal((await connect('clean-1', true)).returnCode, 0);
    assert.equal((await connect('o-1', false, { username: 'other', password: 'other-password' })).returnCode, 0);
    // A connected client id taking its own session over is not a new session.
    const held = (await sessionsOf(LOGIN.username)).map((s) => s.clientId);
    const again = await connect(held[0] as string);
    assert.equal(again.returnCode, 0);
  });

  it('a new persistent client id ends the oldest session that waits, so connected and away stay within the bound', async () => {
    for (const r of open) r.close();
    open.length = 0;
    await eventually(async () => (await sessionsOf(LOGIN.username)).every((s) => !s.connected), 'every session to wait');
    const before = await sessionsOf(LOGIN.username);
    assert.equal(before.length, MAX_SESSIONS);
    for (let i = 0; i < MAX_SESSIONS; i++) assert.equal((await connect(`fresh-${i}`)).returnCode, 0);
    await eventually(async () => {
      const now = await sessionsOf(LOGIN.username);
      return now.length === MAX_SESSIONS && now.every((s) => s.connected && s.clientId.startsWith('fresh-'));
    }, 'the waiting sessions to end for the new ones');
  });
});

describe('red team: MQTT connections per account', () => {
  const PER_ACCOUNT = 4;
  let t: TestHub;
  const open: RawMqtt[] = [];
  before(async () => {
    t = await startTestHub(['--mqtt-account-conns', String(PER_ACCOUNT)]);
    await createIntegrator(t.api, 'greedy', 'greedy-password');
    await createIntegrator(t.api, 'polite', 'polite-password');
  });
  after(async () => {
    for (const r of open) r.close();
    await t.close();
  });

  const connect = async (username: string, clientId: string) => {
    const c = await RawMqtt.connect(t.hub.mqttPort, { username, password: `${username}-password`, clientId, clean: true });
    open.push(c.raw);
    return c;
  };

  it('one account cannot take every connection: past its share it gets CONNACK 3, others still connect', async () => {
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => connect('greedy', `g-${i}`)));
    const admitted = answers.filter((a) => a.returnCode === 0);
    assert.equal(admitted.length, PER_ACCOUNT, JSON.stringify(answers.map((a) => a.returnCode)));
    for (const a of answers.filter((x) => x.returnCode !== 0)) {
      assert.equal(a.returnCode, 3);
      await a.raw.waitClosed();
    }
    assert.equal(await metricSample(t, 'halyard_mqtt_disconnects_total{reason="too_many_connections"}'), 8 - PER_ACCOUNT);
    assert.ok(t.logs.some((l) => l.msg.startsWith('mqtt connection refused: the account') && l.username === 'greedy'));
    assert.equal((await connect('polite', 'p-1')).returnCode, 0);
    // Taking over one's own client id at the bound replaces a connection: admitted.
    const ids = answers.flatMap((a, i) => (a.returnCode === 0 ? [`g-${i}`] : []));
    const again = await connect('greedy', ids[0] as string);
    assert.equal(again.returnCode, 0);
    await admitted[0]?.raw.waitClosed();
    // One gone, one more may come.
    admitted[1]?.raw.close();
    await eventually(async () => (await connect('greedy', 'g-late')).returnCode === 0, 'a freed place to be taken');
  });
});

describe('red team: MQTT subscription filters past the topic filter limits', () => {
  let t: TestHub;
  before(async () => {
    t = await startTestHub();
    await createIntegrator(t.api, 'longsub', 'longsub-password');
  });
  after(() => t.close());

  it('a filter over 1,024 characters is refused (SUBACK 0x80) and logged; one at the limit is granted', async () => {
    const { raw, returnCode } = await RawMqtt.connect(t.hub.mqttPort, {
      username: 'longsub',
      password: 'longsub-password',
      clientId: 'long',
      clean: false,
    });
    assert.equal(returnCode, 0);
    // 256 such filters of 60 KB per persistent session were 15 MB each in memory and in mqtt-sessions.db.
    assert.equal(await raw.subscribe(`halyard/${'x'.repeat(60_000)}/#`, 1, 1), 0x80);
    assert.equal(await raw.subscribe(`halyard/${'x'.repeat(1_025 - 'halyard/'.length - 2)}/#`, 1, 2), 0x80);
    assert.equal(await raw.subscribe(`halyard/${'x'.repeat(1_024 - 'halyard/'.length - 2)}/#`, 1, 3), 1);
    assert.ok(t.logs.some((l) => l.msg === 'mqtt subscription refused: not a valid topic filter' && l.username === 'longsub'));
    raw.close();
  });
});
