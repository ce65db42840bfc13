// An admin's view of MQTT integrators in a cluster (README.md § Running a cluster):
// two hub processes on one PostgreSQL and one Redis (helpers/cluster.ts), clients
// and persistent sessions on each. GET /api/v1/integrators through node 1 lists
// node 2's clients and sessions, with their queues; a session node 2 holds is
// dropped through node 1, away or connected; --mqtt-max-sessions and
// --mqtt-account-conns hold across both nodes; and a node that stops answering is
// named as missing, and a drop of its session is refused rather than left hanging.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { startTestCluster, type TestCluster } from './helpers/cluster.js';
import { TestDevice } from './helpers/device.js';
import { eventually } from './helpers/eventually.js';
import { Api } from './helpers/hub.js';
import { createIntegrator, TestMqtt } from './helpers/mqtt.js';
import { RawMqtt } from './helpers/raw-mqtt.js';

const ERP = { username: 'erp', password: 'erp-password' };
const CAPPED = { username: 'capped', password: 'capped-password' };
const GREEDY = { username: 'greedy', password: 'greedy-password' };
const MAX_SESSIONS = 2;
const ACCOUNT_CONNS = 3;
const PUMP = 'halyard/devices/pump/telemetry';

interface Listed {
  username: string;
  clients: number;
  connections: { clientId: string; node: string }[];
  sessions: { clientId: string; connected: boolean; queued: number; queuedBytes: number; dropped: number; node: string }[];
}

describe('MQTT integrators seen and managed through any node of a cluster', { timeout: 180_000 }, () => {
  let c: TestCluster;
  let db: pg.Client;
  let api1: Api;
  let pump: TestDevice;
  const open: { close(): unknown }[] = [];
  const node = (i: number) => {
    const n = c.nodes[i];
    assert.ok(n);
    return n.hub;
  };
  const mqttUrl = (i: number) => `mqtt://127.0.0.1:${node(i).mqttPort}`;
  const connect = async (i: number, login: typeof ERP, clientId: string, clean: boolean) => {
    const m = await TestMqtt.connect(mqttUrl(i), { ...login, clientId, clean });
    open.push({ close: () => m.client.end(true) });
    return m;
  };
  const rawConnect = async (i: number, login: typeof ERP, clientId: string, clean: boolean) => {
    const r = await RawMqtt.connect(node(i).mqttPort, { ...login, clientId, clean });
    open.push(r.raw);
    return r;
  };
  const listed = async (api: Api) => {
    const r = await api.get('/integrators');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body as { integrators: Listed[]; missingNodes: string[] };
  };
  const account = async (api: Api, username: string) => {
    const a = (await listed(api)).integrators.find((i) => i.username === username);
    assert.ok(a, username);
    return a;
  };
  const row = async (clientId: string) =>
    (await db.query<{ holder: string }>('SELECT holder FROM mqtt_sessions WHERE client_id = $1', [clientId])).rows[0];

  before(async () => {
    c = await startTestCluster({
      nodes: 2,
      fsync: false,
      hubFlags: ['--mqtt-max-sessions', String(MAX_SESSIONS), '--mqtt-account-conns', String(ACCOUNT_CONNS)],
    });
    db = new pg.Client({ connectionString: c.pg.url });
    await db.connect();
    api1 = new Api(`http://127.0.0.1:${node(0).port}`);
    await api1.login('admin', c.adminPassword);
    for (const login of [ERP, CAPPED, GREEDY]) await createIntegrator(api1, login.username, login.password);
    pump = await TestDevice.connect(`ws://127.0.0.1:${node(0).port}`, await api1.provision('pump'));
  });

  after(async () => {
    for (const o of open) o.close();
    pump?.ws.terminate();
    await db?.end();
    await c?.stop();
  });

  it("lists through node 1 node 2's connected clients and sessions, with the node and the queue of each", async () => {
    // On node 2: a session that goes away (and queues), and one that stays connected; on node 1 a clean client.
    const away = await connect(1, ERP, 'away', false);
    assert.deepEqual(await away.subscribeQos(1, PUMP), [1]);
    await away.close();
    const live = await connect(1, ERP, 'live', false);
    assert.deepEqual(await live.subscribeQos(1, PUMP), [1]);
    await connect(0, ERP, 'plain', true);
    for (let v = 1; v <= 5; v++) await pump.waitAck(pump.telemetry([{ n: 'flow', v }]));
    await live.until(() => live.on(PUMP).length === 5, 'five messages live');

    let erp: Listed | undefined;
    await eventually(async () => {
      erp = await account(api1, 'erp');
      const queued = (id: string) => erp?.sessions.find((s) => s.clientId === id)?.queued;
      // The live client's acknowledgements reach PostgreSQL with node 2's next write.
      return erp.clients === 2 && queued('away') === 5 && queued('live') === 0;
    }, "node 2's client and queue, seen through node 1");
    assert.ok(erp);
    assert.deepEqual(
      erp.connections.sort((a, b) => a.clientId.localeCompare(b.clientId)),
      [
        { clientId: 'live', node: 'node2' },
        { clientId: 'plain', node: 'node1' },
      ],
    );
    const sessions = erp.sessions.sort((a, b) => a.clientId.localeCompare(b.clientId));
    assert.deepEqual(
      sessions.map((s) => [s.clientId, s.connected, s.queued, s.node]),
      [
        ['away', false, 5, 'node2'],
        ['live', true, 0, 'node2'],
      ],
    );
    assert.ok((sessions[0]?.queuedBytes ?? 0) > 5 * PUMP.length, 'bytes of topics and payloads');
    assert.deepEqual((await listed(api1)).missingNodes, []);
  });

  it('drops through node 1 a session node 2 holds: away, and connected (its client is disconnected), audited', async () => {
    assert.equal((await api1.delete('/integrators/erp/sessions/away')).status, 204);
    // Answered once node 2 has ended it and written its end.
    assert.equal(await row('erp:away'), undefined, 'gone from PostgreSQL');
    const live = (await account(api1, 'erp')).sessions.find((s) => s.clientId === 'live');
    assert.equal(live?.node, 'node2');

    const back = await TestMqtt.connect(mqttUrl(1), { ...ERP, clientId: 'live', clean: false });
    open.push({ close: () => back.client.end(true) });
    assert.equal(back.sessionPresent, true);
    assert.equal((await api1.delete('/integrators/erp/sessions/live')).status, 204);
    assert.equal(await row('erp:live'), undefined, 'the connected session gone from PostgreSQL');
    assert.deepEqual((await account(api1, 'erp')).sessions, [], 'no session listed');
    await back.until(() => back.closed, 'the client disconnected by node 2');
    assert.equal((await api1.delete('/integrators/erp/sessions/live')).status, 404, 'gone everywhere');

    const audit = JSON.stringify((await api1.get('/audit')).body);
    assert.ok(audit.includes('integrator.session.drop') && audit.includes('node2'), audit.slice(0, 500));
  });

  it('counts --mqtt-max-sessions across both nodes: refused while all are connected, the oldest away one ends to make room', async () => {
    await connect(0, CAPPED, 's1', false);
    const s2 = await connect(1, CAPPED, 's2', false);
    // Node 1 holds one session of the account; node 2 the other: a third is one too many.
    const third = await rawConnect(0, CAPPED, 's3', false);
    assert.equal(third.returnCode, 3, 'refused on node 1, counting node 2');
    assert.equal(await row('capped:s3'), undefined, 'nothing left behind');
    await s2.close();
    await eventually(async () => (await account(api1, 'capped')).sessions.some((s) => s.clientId === 's2' && !s.connected), 's2 away');
    const again = await rawConnect(0, CAPPED, 's3', false);
    assert.equal(again.returnCode, 0);
    assert.equal(await row('capped:s2'), undefined, 'the away session on node 2 ended for it');
    await eventually(async () => {
      const s = (await account(api1, 'capped')).sessions.map((x) => x.clientId).sort();
      return JSON.stringify(s) === JSON.stringify(['s1', 's3']);
    }, 'the sessions s1 and s3 listed');
    // Node 2 forgot it too (told through Redis): its client comes back to a new session, which the bound refuses.
    await eventually(async () => {
      const text = await fetch(`http://127.0.0.1:${node(1).port}/metrics`).then((r) => r.text());
      return text
        .split('\n')
        .some((l) => l.startsWith('halyard_mqtt_sessions_ended_total{') && l.includes('"too_many"') && l.endsWith(' 1'));
    }, 'node 2 ending s2');
    const s2back = await rawConnect(1, CAPPED, 's2', false);
    assert.equal(s2back.returnCode, 3);
  });

  it('counts --mqtt-account-conns across both nodes', async () => {
    const first = await connect(0, GREEDY, 'g1', true);
    const second = await connect(0, GREEDY, 'g2', true);
    await connect(1, GREEDY, 'g3', true);
    const api2 = new Api(`http://127.0.0.1:${node(1).port}`);
    await api2.login('admin', c.adminPassword);
    const clientsOn = async (api: Api) => (await account(api, 'greedy')).clients;
    // Each node knows the other's clients once their lists have gone round.
    await eventually(async () => (await clientsOn(api2)) === 3, "node 1's clients seen on node 2");
    await eventually(async () => (await clientsOn(api1)) === 3, "node 2's clients seen on node 1");
    assert.equal((await rawConnect(1, GREEDY, 'g4', true)).returnCode, 3, 'refused on node 2, counting node 1');
    assert.equal((await rawConnect(0, GREEDY, 'g4', true)).returnCode, 3, 'refused on node 1, counting node 2');
    await first.close();
    await eventually(async () => (await rawConnect(1, GREEDY, 'g4', true)).returnCode === 0, "node 1's freed place taken on node 2");

    // At the bound, a persistent client that moves from node 1 to node 2 replaces its connection there.
    await second.close();
    const mover = await connect(0, GREEDY, 'mover', false);
    // (aedes says a session is present when it has subscriptions.)
    assert.deepEqual(await mover.subscribeQos(1, PUMP), [1]);
    await eventually(async () => (await clientsOn(api2)) === 3, 'the mover seen on node 2');
    assert.equal((await rawConnect(1, GREEDY, 'g5', true)).returnCode, 3, 'at the bound');
    const moved = await connect(1, GREEDY, 'mover', false);
    assert.equal(moved.sessionPresent, true);
    await mover.until(() => mover.closed, 'its old connection on node 1 closed');
    await eventually(async () => (await clientsOn(api1)) === 3 && (await clientsOn(api2)) === 3, 'still three');
  });

  it('names a node that stopped answering, and refuses to drop its session rather than hang', async () => {
    const held = await connect(1, ERP, 'held', false);
    await held.subscribeQos(1, PUMP);
    await held.close();
    await eventually(async () => (await row('erp:held'))?.holder === 'node2', 'the session written by node 2');
    node(1).proc.kill('SIGSTOP');
    try {
      // Its list lapses (3 s) before its heartbeat does (5 s).
      await eventually(async () => (await listed(api1)).missingNodes.includes('node2'), 'node 2 named missing', 10_000);
      // Asked while its heartbeat is current (about 2 s more), node 2 is asked and cannot answer; after, node 1 adopts and drops it.
      const alive = await db.query("SELECT 1 FROM mqtt_session_nodes WHERE node = 'node2' AND alive_until > now()");
      const dropped = await api1.delete('/integrators/erp/sessions/held');
      assert.equal(dropped.status, alive.rowCount === 1 ? 503 : 204, JSON.stringify(dropped.body));
    } finally {
      node(1).proc.kill('SIGCONT');
    }
  });
});
