// MQTT in cluster mode with the real engines (README.md § Running a cluster): two
// hubs on one PostgreSQL and one Redis. An integrator on node A sees, exactly once,
// what the hub publishes for a device on node B; retained state from B is there for
// a new subscriber on A; a command an integrator publishes on A for B's device is
// carried out once; a persistent session waiting on A gets B's messages, and moves
// to B with its client; a clean session on B ends it; a node whose heartbeat lapsed
// lets go of what another adopted; and after Redis restarts, messages flow between
// the nodes again.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MessageType } from '@halyard/firmware-protocol';
import pgDriver from 'pg';
import type { Hub } from '../src/hub.js';
import { startClusterNode } from './helpers/cluster-node.js';
import { TestDevice } from './helpers/device.js';
import { eventually } from './helpers/eventually.js';
import type { Api, LogLine } from './helpers/hub.js';
import { createIntegrator, startPlainBroker, TestMqtt } from './helpers/mqtt.js';
import { startPostgres, type TestDatabase, type TestPostgres } from './helpers/postgres.js';
import { startRedis, type TestRedis } from './helpers/redis.js';

const PASSWORD = 'cluster-test-password';

interface Node {
  hub: Hub;
  ws: string;
  api: Api;
  mqtt: string;
  logs: LogLine[];
}

function startNode(id: string, pgUrl: string, redis: TestRedis, dataDir: string, extra: string[] = []): Promise<Node> {
  return startClusterNode(id, pgUrl, redis, { password: PASSWORD, flags: [...extra, '--data-dir', dataDir] });
}

const LOGIN = { username: 'erp', password: 'erp-password' };
const values = (c: TestMqtt, topic: string) => c.json<{ v: number }[]>(topic).map((r) => r[0]?.v);

describe('MQTT in a cluster: two hubs on one PostgreSQL and one Redis', () => {
  let pg: TestPostgres;
  let db: TestDatabase;
  let redis: TestRedis;
  let a: Node;
  let b: Node;
  let dir: string;
  let device: TestDevice;

  before(async () => {
    [pg, redis] = await Promise.all([startPostgres({ fsync: false }), startRedis()]);
    db = await pg.newDatabase();
    dir = mkdtempSync(join(tmpdir(), 'halyard-mqtt-cluster-'));
    a = await startNode('node-a', db.url, redis, dir);
    b = await startNode('node-b', db.url, redis, dir);
    await createIntegrator(a.api, LOGIN.username, LOGIN.password);
    const token = await a.api.provision('pump');
    // The device lives on node B.
    device = await TestDevice.connect(b.ws, token);
  });

  after(async () => {
    await device?.close();
    await Promise.all([a, b].map((n) => n?.hub.close()));
    await redis?.stop();
    await pg?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("an integrator on node A gets node B's telemetry exactly once, and B's retained status", async () => {
    const sub = await TestMqtt.connect(a.mqtt, LOGIN);
    await sub.subscribeQos(1, 'halyard/devices/pump/telemetry', 'halyard/devices/pump/status');
    // Retained, published by node B when the device came online.
    const status = await sub.next('halyard/devices/pump/status');
    assert.deepEqual([status.text, status.retain], ['online', true]);
    for (let v = 1; v <= 3; v++) await device.waitAck(device.telemetry([{ n: 'flow', v }]));
    await sub.until(() => sub.on('halyard/devices/pump/telemetry').length >= 3, 'three telemetry messages');
    // A fourth frame after the three: any duplicate of them would have come before it.
    await device.waitAck(device.telemetry([{ n: 'flow', v: 4 }]));
    await sub.until(() => values(sub, 'halyard/devices/pump/telemetry').includes(4), 'the fourth');
    assert.deepEqual(values(sub, 'halyard/devices/pump/telemetry'), [1, 2, 3, 4]);
    await sub.close();
  });

  it("a command an integrator publishes on node A reaches node B's device once", async () => {
    const sub = await TestMqtt.connect(a.mqtt, LOGIN);
    await sub.subscribeQos(1, 'halyard/devices/pump/cmd/+/status');
    const from = device.received.length;
    await sub.publish('halyard/devices/pump/cmd/flush', JSON.stringify({ id: 'flush-1', params: { s: 5 } }), { qos: 1 });
    const cmd = await device.waitFor((m) => m.type === MessageType.Command, 10_000, from);
    device.send({ type: MessageType.CmdAccepted, id: (cmd as { id: string }).id });
    device.send({ type: MessageType.CmdResult, id: (cmd as { id: string }).id, status: 0 });
    await sub.next('halyard/devices/pump/cmd/flush/status', (m) => m.text.includes('"succeeded"'), 0, 10_000);
    const listed = await b.api.get('/devices/pump/commands');
    assert.equal(listed.status, 200);
    const commands = listed.body.commands as { name: string }[];
    assert.equal(commands.filter((c) => c.name === 'flush').length, 1, JSON.stringify(listed.body));
    assert.equal(device.received.slice(from).filter((m) => m.type === MessageType.Command).length, 1);
    // Each status change published once, by the node where it happened.
    const statuses = sub.json<{ status: string }>('halyard/devices/pump/cmd/flush/status').map((s) => s.status);
    assert.equal(new Set(statuses).size, statuses.length, `no status twice: ${statuses.join(', ')}`);
    await sub.close();
  });

  it('a persistent session waiting on node A gets what node B published meanwhile, in order', async () => {
    const first = await TestMqtt.connect(a.mqtt, { ...LOGIN, clientId: 'feed', clean: false });
    await first.subscribeQos(1, 'halyard/devices/pump/telemetry');
    await first.close();
    for (let v = 10; v < 15; v++) await device.waitAck(device.telemetry([{ n: 'flow', v }]));
    const back = await TestMqtt.connect(a.mqtt, { ...LOGIN, clientId: 'feed', clean: false });
    assert.equal(back.sessionPresent, true);
    await back.until(() => back.on('halyard/devices/pump/telemetry').length >= 5, 'the five queued');
    assert.deepEqual(values(back, 'halyard/devices/pump/telemetry'), [10, 11, 12, 13, 14]);
    await back.close();
  });

  it('a persistent session left on node A moves to node B when its client comes back there', async () => {
    const first = await TestMqtt.connect(a.mqtt, { ...LOGIN, clientId: 'roamer', clean: false });
    await first.subscribeQos(1, 'halyard/devices/pump/telemetry');
    await first.close();
    for (let v = 20; v < 23; v++) await device.waitAck(device.telemetry([{ n: 'flow', v }]));
    const onA = async () =>
      ((await a.api.get('/integrators')).body.integrators[0].sessions as { clientId: string; queued: number; node: string }[]).find(
        (x) => x.clientId === 'roamer',
      );
    await eventually(async () => (await onA())?.queued === 3, 'three queued on node A');
    const back = await TestMqtt.connect(b.mqtt, { ...LOGIN, clientId: 'roamer', clean: false });
    assert.equal(back.sessionPresent, true, 'node B had the session');
    await back.until(() => back.on('halyard/devices/pump/telemetry').length >= 3, 'the three queued on node A');
    assert.deepEqual(values(back, 'halyard/devices/pump/telemetry'), [20, 21, 22]);
    // Node A lists every node's sessions: this one, node B holds now.
    await eventually(async () => (await onA())?.node === 'node-b', 'node A listing it held by node B');
    // And it is live on node B.
    await device.waitAck(device.telemetry([{ n: 'flow', v: 23 }]));
    await back.until(() => values(back, 'halyard/devices/pump/telemetry').includes(23), 'a live one');
    await back.close();
  });

  it('a session moving from node A to node B while the device goes on publishing misses none of its messages', async () => {
    const topic = 'halyard/devices/pump/telemetry';
    const first = await TestMqtt.connect(a.mqtt, { ...LOGIN, clientId: 'mover', clean: false });
    await first.subscribeQos(1, topic);
    await first.close();
    // The device (on node B) sends a reading after another, each stored and published, all through the move.
    let sending = true;
    let sent = 0;
    const pump = (async () => {
      while (sending) {
        sent++;
        await device.waitAck(device.telemetry([{ n: 'flow', v: 1000 + sent }]));
      }
    })();
    await eventually(async () => sent >= 20, 'twenty readings before the move');
    const back = await TestMqtt.connect(b.mqtt, { ...LOGIN, clientId: 'mover', clean: false });
    assert.equal(back.sessionPresent, true);
    const atMove = sent;
    await eventually(async () => sent >= atMove + 20, 'twenty readings after the move');
    sending = false;
    await pump;
    const got = () => values(back, topic).map((v) => (v ?? 0) - 1000);
    await back.until(() => got().includes(sent), `reading ${sent}`, 10_000);
    const firsts = got().filter((n, i, all) => all.indexOf(n) === i);
    assert.deepEqual(
      firsts,
      Array.from({ length: sent }, (_, i) => i + 1),
      'every reading, in order (a resend may repeat one)',
    );
    await back.close();
  });

  it('a client that connects to node B while its old connection on node A is still up takes its session along', async () => {
    const old = await TestMqtt.connect(a.mqtt, { ...LOGIN, clientId: 'switcher', clean: false });
    await old.subscribeQos(1, 'halyard/devices/pump/events');
    const now = await TestMqtt.connect(b.mqtt, { ...LOGIN, clientId: 'switcher', clean: false });
    assert.equal(now.sessionPresent, true, 'the session came along');
    await old.waitClosed();
    const onA = (await a.api.get('/integrators')).body.integrators[0].sessions as { clientId: string; node: string }[];
    assert.equal(onA.find((x) => x.clientId === 'switcher')?.node, 'node-b', 'listed through node A, held by node B');
    await now.close();
  });

  it('a clean-session client on node B ends the session its client id left on node A ([MQTT-3.1.2-6])', async () => {
    const first = await TestMqtt.connect(a.mqtt, { ...LOGIN, clientId: 'restart-clean', clean: false });
    await first.subscribeQos(1, 'halyard/devices/pump/telemetry');
    await first.close();
    const clean = await TestMqtt.connect(b.mqtt, { ...LOGIN, clientId: 'restart-clean', clean: true });
    assert.equal(clean.sessionPresent, false);
    await clean.close();
    const later = await TestMqtt.connect(a.mqtt, { ...LOGIN, clientId: 'restart-clean', clean: false });
    assert.equal(later.sessionPresent, false, 'the old session is gone on every node');
    await later.close();
  });

  it('a node cut off longer than its heartbeat lets go of the sessions another node adopted, and its client finds them there', async () => {
    const pool = new pgDriver.Client({ connectionString: db.url });
    await pool.connect();
    try {
      const holder = async () =>
        (await pool.query<{ holder: string }>("SELECT holder FROM mqtt_sessions WHERE client_id = 'erp:stray'")).rows[0]?.holder;
      const first = await TestMqtt.connect(a.mqtt, { ...LOGIN, clientId: 'stray', clean: false });
      await first.subscribeQos(1, 'halyard/devices/pump/telemetry');
      await first.close();
      await eventually(async () => (await holder()) === 'node-a', 'node A holding it');
      // Node A's heartbeat made to lapse (as if it had been cut off) until node B adopts.
      await eventually(async () => {
        await pool.query(`UPDATE mqtt_session_nodes SET alive_until = now() - interval '1 second' WHERE node = 'node-a'`);
        return (await holder()) === 'node-b';
      }, 'node B adopting it');
      await eventually(
        () => a.logs.some((l) => String(l.msg).startsWith('mqtt: this node could not beat its heartbeat')),
        'node A letting go',
      );
      await device.waitAck(device.telemetry([{ n: 'flow', v: 40 }]));
      const back = await TestMqtt.connect(a.mqtt, { ...LOGIN, clientId: 'stray', clean: false });
      assert.equal(back.sessionPresent, true, 'node A brought it back from node B');
      await back.until(() => values(back, 'halyard/devices/pump/telemetry').includes(40), 'what node B queued');
      assert.deepEqual(values(back, 'halyard/devices/pump/telemetry'), [40]);
      await back.close();
    } finally {
      await pool.end();
    }
  });

  it('after Redis restarts, node B publishes its retained state again and messages flow again', async () => {
    await redis.restart();
    await eventually(
      () => a.logs.some((l) => l.msg === "mqtt: the broker reaches the cluster's Redis again"),
      "node A's broker back on Redis",
      15_000,
    );
    await eventually(
      () => b.logs.some((l) => l.msg === "mqtt: the broker reaches the cluster's Redis again"),
      "node B's broker back on Redis",
      15_000,
    );
    const sub = await TestMqtt.connect(a.mqtt, LOGIN);
    await sub.subscribeQos(1, 'halyard/devices/pump/telemetry', 'halyard/devices/pump/status');
    await sub.next('halyard/devices/pump/status', (m) => m.text === 'online');
    await eventually(
      async () => {
        await device.waitAck(device.telemetry([{ n: 'flow', v: 99 }]));
        return values(sub, 'halyard/devices/pump/telemetry').includes(99);
      },
      'telemetry from node B on node A again',
      15_000,
    );
    await sub.close();
  });
});

describe("MQTT bridges in a cluster: only the leader bridges, and it carries every node's messages once", () => {
  let pg: TestPostgres;
  let redis: TestRedis;
  let remote: Awaited<ReturnType<typeof startPlainBroker>>;
  let nodes: Node[] = [];
  let dir: string;
  let device: TestDevice | undefined;

  before(async () => {
    [pg, redis, remote] = await Promise.all([startPostgres({ fsync: false }), startRedis(), startPlainBroker()]);
    const db = await pg.newDatabase();
    dir = mkdtempSync(join(tmpdir(), 'halyard-mqtt-cluster-bridge-'));
    const bridge = ['--bridge', `mqtt://127.0.0.1:${remote.port}?prefix=site/&qos=1&version=3.1.1`];
    nodes = [await startNode('node-a', db.url, redis, dir, bridge), await startNode('node-b', db.url, redis, dir, bridge)];
  });

  after(async () => {
    await device?.close();
    await Promise.all(nodes.map((n) => n.hub.close()));
    await remote?.close();
    await redis?.stop();
    await pg?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("telemetry of a device on the node that does not lead reaches the remote broker once, through the leader's bridge", async () => {
    const leads = (n: Node) => n.logs.some((l) => l.msg === 'this node leads the cluster');
    await eventually(() => nodes.some(leads), 'a leader', 15_000);
    const follower = nodes.find((n) => !leads(n));
    assert.ok(follower !== undefined, 'one node does not lead');
    const token = await follower.api.provision('far-pump');
    device = await TestDevice.connect(follower.ws, token);
    const sub = await TestMqtt.connect(`mqtt://127.0.0.1:${remote.port}`, { protocolVersion: 4 });
    await sub.subscribeQos(1, 'site/halyard/devices/far-pump/telemetry');
    // The bridge connects on the leader's start; wait until a frame gets through, then count.
    await eventually(
      async () => {
        await device?.waitAck(device.telemetry([{ n: 'flow', v: 0 }]));
        return values(sub, 'site/halyard/devices/far-pump/telemetry').includes(0);
      },
      "the follower's telemetry on the remote broker",
      15_000,
    );
    const from = sub.on('site/halyard/devices/far-pump/telemetry').length;
    for (let v = 1; v <= 3; v++) await device.waitAck(device.telemetry([{ n: 'flow', v }]));
    await sub.until(() => values(sub, 'site/halyard/devices/far-pump/telemetry').includes(3), 'the third frame');
    // A marker after the three: a second copy of any of them would have arrived before it.
    await device.waitAck(device.telemetry([{ n: 'flow', v: 4 }]));
    await sub.until(() => values(sub, 'site/halyard/devices/far-pump/telemetry').includes(4), 'the marker');
    // Warm-up frames (0) still on their way may arrive late; the counted ones must not repeat.
    const after = values(sub, 'site/halyard/devices/far-pump/telemetry')
      .slice(from)
      .filter((v) => v !== 0);
    assert.deepEqual(after, [1, 2, 3, 4]);
    await sub.close();
  });
});
