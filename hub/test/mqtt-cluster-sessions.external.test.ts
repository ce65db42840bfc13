// Persistent MQTT sessions in a cluster whose node dies (README.md § Running a
// cluster): hub processes behind HAProxy on one PostgreSQL and one Redis
// (helpers/cluster.ts). Two clients leave persistent QoS 1 sessions on node 1, one
// with a message it received and never acknowledged; node 1 is killed (SIGKILL);
// node 2 adopts the sessions once node 1's heartbeat lapses and queues what is
// published meanwhile. Through HAProxy each client gets everything, in order, the
// unacknowledged message again with DUP, and the one over its bound exactly the
// newest --mqtt-queue-messages with the drops counted; one that comes back at
// once, before node 1's heartbeat lapsed, waits for its session. Then the whole cluster
// stops and a node with a new id starts: the sessions are still there.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { startTestCluster, type TestCluster } from './helpers/cluster.js';
import { TestDevice } from './helpers/device.js';
import { eventually } from './helpers/eventually.js';
import { Api } from './helpers/hub.js';
import { createIntegrator, TestMqtt } from './helpers/mqtt.js';
import { type HubProcess, spawnHub } from './helpers/process.js';
import { RawMqtt, type RawPublish } from './helpers/raw-mqtt.js';

const BOUND = 20;
const LOGIN = { username: 'erp', password: 'erp-password' };
/** The heartbeat's lapse (NODE_TTL_MS, 5 s), a look a second, and slack for a busy machine. */
const ADOPTION_MS = 20_000;
const PUMP = 'halyard/devices/pump/telemetry';
const METER = 'halyard/devices/meter/telemetry';

const flowOf = (payload: string) => (JSON.parse(payload) as { v: number }[])[0]?.v;
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('persistent MQTT sessions when the node holding them dies', { timeout: 180_000 }, () => {
  let c: TestCluster;
  let db: pg.Client;
  let api2: Api;
  let pump: TestDevice;
  let meter: TestDevice;
  let fresh: HubProcess | undefined;
  let hastyBack: Promise<TestMqtt>;
  const lbMqtt = () => {
    assert.ok(c.lb.mqttPort);
    return c.lb.mqttPort;
  };
  const node = (i: number) => {
    const n = c.nodes[i];
    assert.ok(n);
    return n.hub;
  };

  /** Messages of `clientId` written to PostgreSQL, and how many carry a packet id (sent, unacknowledged). */
  async function stored(clientId: string): Promise<{ messages: number; sent: number; holder: string | undefined }> {
    const r = await db.query<{ messages: number; sent: number; holder: string | null }>(
      `SELECT (SELECT count(*)::int FROM mqtt_session_messages m WHERE m.client_id = $1) AS messages,
              (SELECT count(*)::int FROM mqtt_session_messages m WHERE m.client_id = $1 AND m.message_id IS NOT NULL) AS sent,
              (SELECT holder FROM mqtt_sessions s WHERE s.client_id = $1) AS holder`,
      [`erp:${clientId}`],
    );
    const row = r.rows[0];
    return { messages: row?.messages ?? 0, sent: row?.sent ?? 0, holder: row?.holder ?? undefined };
  }

  async function send(device: TestDevice, values: number[]): Promise<void> {
    for (const v of values) await device.waitAck(device.telemetry([{ n: 'flow', v }]));
  }

  before(async () => {
    c = await startTestCluster({ nodes: 2, fsync: false, hubFlags: ['--mqtt-queue-messages', String(BOUND)] });
    db = new pg.Client({ connectionString: c.pg.url });
    await db.connect();
    api2 = new Api(`http://127.0.0.1:${node(1).port}`);
    await api2.login('admin', c.adminPassword);
    await createIntegrator(api2, LOGIN.username, LOGIN.password);
    // The devices live on node 2, the one that survives.
    const ws2 = `ws://127.0.0.1:${node(1).port}`;
    pump = await TestDevice.connect(ws2, await api2.provision('pump'));
    meter = await TestDevice.connect(ws2, await api2.provision('meter'));

    // Both clients leave their sessions on node 1.
    const ledger = await RawMqtt.connect(node(0).mqttPort, { ...LOGIN, clientId: 'ledger', clean: false });
    assert.equal(await ledger.raw.subscribe(PUMP, 1), 1);
    await send(pump, [1]);
    await ledger.raw.until(() => ledger.raw.publishes().length === 1, 'the first message');
    // Received, never acknowledged: in flight when the client goes.
    ledger.raw.close();
    const overflow = await TestMqtt.connect(`mqtt://127.0.0.1:${node(0).mqttPort}`, { ...LOGIN, clientId: 'overflow', clean: false });
    assert.deepEqual(await overflow.subscribeQos(1, METER), [1]);
    await overflow.close();
    const hasty = await TestMqtt.connect(`mqtt://127.0.0.1:${node(0).mqttPort}`, { ...LOGIN, clientId: 'hasty', clean: false });
    assert.deepEqual(await hasty.subscribeQos(1, PUMP), [1]);
    await hasty.close();

    await send(pump, range(2, 6));
    await send(meter, range(1, 15));
    // Node 1 wrote them (every 50 ms): the in-flight one with its packet id.
    await eventually(async () => {
      const [l, o, h] = await Promise.all([stored('ledger'), stored('overflow'), stored('hasty')]);
      return l.messages === 6 && l.sent === 1 && o.messages === 15 && h.messages === 5;
    }, "node 1's queues in PostgreSQL");

    await c.kill(0);
    // One client comes back at once, before node 1's heartbeat has lapsed: its CONNACK waits for its session.
    hastyBack = TestMqtt.connect(`mqtt://127.0.0.1:${node(1).mqttPort}`, {
      ...LOGIN,
      clientId: 'hasty',
      clean: false,
      // mqtt.js's own default (30 s), not the helper's 5 s: the lapse takes up to 6 s.
      connectTimeout: 30_000,
    });
    hastyBack.catch(() => {});
    await eventually(
      async () => (await stored('ledger')).holder === 'node2' && (await stored('overflow')).holder === 'node2',
      'node 2 adopting the sessions of dead node 1',
      ADOPTION_MS,
    );
    // Published while node 1 is dead: queued by node 2.
    await send(pump, range(7, 11));
    await send(meter, range(16, 30));
  });

  after(async () => {
    for (const d of [pump, meter]) d?.ws.terminate();
    if (fresh !== undefined && fresh.proc.exitCode === null) {
      fresh.proc.kill('SIGTERM');
      await fresh.exited;
    }
    await db?.end();
    await c?.stop();
  });

  it('gives a client, through HAProxy, what was queued before and after its node died, in order, the unacknowledged one with DUP', async () => {
    // HAProxy has taken node 1 out by now (its checks every 500 ms); a connection it still sent there would fail.
    let back: Awaited<ReturnType<typeof RawMqtt.connect>> | undefined;
    await eventually(async () => {
      back = await RawMqtt.connect(lbMqtt(), { ...LOGIN, clientId: 'ledger', clean: false }).catch(() => undefined);
      return back?.returnCode === 0;
    }, 'a connection through HAProxy');
    assert.ok(back);
    assert.equal(back.sessionPresent, true, 'the session was there');
    const raw = back.raw;
    await raw.until(() => raw.publishes().length >= 11, 'eleven messages', 10_000);
    const got: RawPublish[] = raw.publishes();
    assert.deepEqual(
      got.map((p) => flowOf(p.payload)),
      range(1, 11),
    );
    assert.deepEqual(
      got.map((p) => p.dup),
      [true, ...Array(10).fill(false)],
      'the one sent before is sent again with DUP, only it',
    );
    assert.ok(got.every((p) => p.qos === 1));
    for (const p of got) raw.puback(p.messageId as number);
    await eventually(async () => (await stored('ledger')).messages === 0, 'the acknowledged messages gone from PostgreSQL');
    raw.close();
  });

  it('makes a client that comes back at once, through another node, wait for its session rather than start without it', async () => {
    const back = await hastyBack;
    assert.equal(back.sessionPresent, true);
    await back.until(() => back.on(PUMP).length >= 10, 'ten messages');
    assert.deepEqual(
      back.on(PUMP).map((m) => flowOf(m.text)),
      range(2, 11),
    );
    await back.close();
  });

  it('keeps exactly the newest --mqtt-queue-messages of a session over its bound, and counts the drops', async () => {
    const back = await TestMqtt.connect(`mqtt://127.0.0.1:${lbMqtt()}`, { ...LOGIN, clientId: 'overflow', clean: false });
    assert.equal(back.sessionPresent, true);
    await back.until(() => back.on(METER).length >= BOUND, `${BOUND} messages`, 10_000);
    // One more after them: anything beyond the bound would have come before it.
    await send(meter, [31]);
    await back.until(() => back.on(METER).some((m) => flowOf(m.text) === 31), 'a live one');
    assert.deepEqual(
      back.on(METER).map((m) => flowOf(m.text)),
      [...range(11, 30), 31],
    );
    const sessions = (await api2.get('/integrators')).body.integrators[0].sessions as { clientId: string; dropped: number }[];
    assert.equal(sessions.find((s) => s.clientId === 'overflow')?.dropped, 10, 'the session counts its drops');
    const metrics = await fetch(`http://127.0.0.1:${node(1).port}/metrics`).then((r) => r.text());
    const line = metrics.split('\n').find((l) => l.startsWith('halyard_mqtt_dropped_total{') && l.includes('reason="offline_queue_full"'));
    assert.equal(Number(line?.split(' ').pop()), 10, `node 2 dropped the ten oldest: ${line}`);
    await back.close();
  });

  it('keeps the sessions across a stop of the whole cluster, for a node with a new id', async () => {
    const keeper = await TestMqtt.connect(`mqtt://127.0.0.1:${node(1).mqttPort}`, { ...LOGIN, clientId: 'keeper', clean: false });
    await keeper.subscribeQos(1, PUMP);
    await keeper.close();
    await send(pump, range(100, 102));
    await eventually(async () => (await stored('keeper')).messages === 3, 'the three in PostgreSQL');
    pump.ws.terminate();
    meter.ws.terminate();
    await c.terminate(1);

    const flags = c.flags(1);
    flags[flags.indexOf('--node-id') + 1] = 'node9';
    fresh = await spawnHub(flags);
    await eventually(async () => (await stored('keeper')).holder === 'node9', 'the new node adopting the sessions', ADOPTION_MS);
    const again = await TestMqtt.connect(`mqtt://127.0.0.1:${fresh.mqttPort}`, { ...LOGIN, clientId: 'keeper', clean: false });
    assert.equal(again.sessionPresent, true);
    await again.until(() => again.on(PUMP).length === 3, 'the three queued before the stop');
    assert.deepEqual(
      again.on(PUMP).map((m) => flowOf(m.text)),
      [100, 101, 102],
    );
    await again.close();
  });
});
