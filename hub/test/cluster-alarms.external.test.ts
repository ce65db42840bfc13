// Alarms in a cluster (README.md § Alarms and notifications): two hubs in this
// process on one PostgreSQL and one Redis. A rule written on one node evaluates on
// the node holding the device; each condition raises one alarm in the cluster, not
// one per node; steps taken on one node are seen on the other (API and MQTT); and an
// offline deadline survives the leader going away: the node that becomes leader
// raises it.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Hub } from '../src/hub.js';
import { startClusterNode } from './helpers/cluster-node.js';
import { TestDevice } from './helpers/device.js';
import { eventually } from './helpers/eventually.js';
import type { Api, LogLine } from './helpers/hub.js';
import { createIntegrator, TestMqtt } from './helpers/mqtt.js';
import { startPostgres, type TestDatabase, type TestPostgres } from './helpers/postgres.js';
import { startRedis, type TestRedis } from './helpers/redis.js';

// biome-ignore lint/suspicious/noExplicitAny: JSON answers
type Json = any;

const PASSWORD = 'cluster-alarms-password';

interface Node {
  id: string;
  hub: Hub;
  http: string;
  ws: string;
  api: Api;
  logs: LogLine[];
  closed: boolean;
}

async function startNode(id: string, pgUrl: string, redis: TestRedis): Promise<Node> {
  return { ...(await startClusterNode(id, pgUrl, redis, { password: PASSWORD, start: { alarms: { tickMs: 50 } } })), closed: false };
}

async function metric(n: Node, sample: string): Promise<number> {
  const text = await fetch(`${n.http}/metrics`).then((r) => r.text());
  let sum = 0;
  for (const l of text.split('\n')) if (l.startsWith(sample)) sum += Number(l.slice(l.lastIndexOf(' ') + 1));
  return sum;
}

async function alarms(api: Api, query: string): Promise<Json[]> {
  const r = await api.get(`/alarms?${query}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.alarms;
}

describe('cluster: alarms once per device, on one PostgreSQL and one Redis', () => {
  let pg: TestPostgres;
  let db: TestDatabase;
  let redis: TestRedis;
  let a: Node;
  let b: Node;

  before(async () => {
    [pg, redis] = await Promise.all([startPostgres({ fsync: false }), startRedis()]);
    db = await pg.newDatabase();
    a = await startNode('node-a', db.url, redis);
    b = await startNode('node-b', db.url, redis);
  });

  after(async () => {
    await Promise.all([a, b].map((n) => (n === undefined || n.closed ? undefined : n.hub.close())));
    await redis?.stop();
    await pg?.stop();
  });

  it('a rule written on node A raises one alarm for a device on node B; steps taken on A reach B', async () => {
    await createIntegrator(a.api, 'svc', 'svc-password');
    const mq = await TestMqtt.connect(`mqtt://127.0.0.1:${a.hub.mqttPort}`, { username: 'svc', password: 'svc-password' });
    await mq.subscribe('halyard/alarms');
    const token = await a.api.provision('cl-hot', { tags: ['boiler'] });
    const r = await a.api.post('/alarm-rules', {
      name: 'Boiler hot',
      severity: 'critical',
      selector: { tags: ['boiler'] },
      condition: { kind: 'metric', metric: 'temp', above: 80, hysteresis: 5 },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const rule = r.body.id as string;
    // Node B hears of the rule through the bus and reads it from PostgreSQL.
    await eventually(async () => (await b.api.get(`/alarm-rules/${rule}`)).status === 200, 'the rule on node B');
    const d = await eventually(() => TestDevice.connect(b.ws, token).catch(() => undefined), 'the device on node B');
    // Wait until B's evaluator has the rule: the first raise is the proof.
    for (const v of [85, 90, 95]) await d.waitAck(d.telemetry([{ n: 'temp', v }]));
    const raised = await eventually(async () => (await alarms(a.api, `rule=${rule}`))[0], 'the alarm, seen through node A');
    assert.equal(raised.device, 'cl-hot');
    // MQTT on node A carries the change evaluated on node B.
    await mq.next('halyard/alarms', (m) => JSON.parse(m.text).id === raised.id);
    const ack = await a.api.post(`/alarms/${raised.id}/acknowledge`, { note: 'from node A' });
    assert.equal(ack.status, 200);
    // B learns of the acknowledgement from the bus; the clear it then evaluates keeps it.
    await d.waitAck(d.telemetry([{ n: 'temp', v: 70 }]));
    const cleared = await eventually(async () => {
      const x = (await alarms(b.api, `rule=${rule}`))[0];
      return x?.state === 'cleared' ? x : undefined;
    }, 'cleared by node B');
    assert.equal(cleared.acknowledgedBy, 'admin');
    assert.equal(cleared.clearedValue, 70);
    assert.equal((await alarms(a.api, `rule=${rule}`)).length, 1, 'one alarm in the cluster, not one per node');
    assert.equal(
      (await metric(a, 'halyard_alarms_raised_total')) + (await metric(b, 'halyard_alarms_raised_total')),
      1,
      'raised by one node only',
    );
    await mq.close();
    await d.close();
  });

  it('an offline deadline is kept by every node: with the leader gone, the new leader raises it, once', async () => {
    const token = await a.api.provision('cl-off', { tags: ['remote'] });
    const r = await a.api.post('/alarm-rules', {
      name: 'Remote site down',
      severity: 'major',
      selector: { tags: ['remote'] },
      condition: { kind: 'offline', for: '1500ms' },
    });
    const rule = r.body.id as string;
    await eventually(async () => (await b.api.get(`/alarm-rules/${rule}`)).status === 200, 'the rule on node B');
    const leader = a.hub.ctx.leadership.isLeader ? a : b;
    const other = leader === a ? b : a;
    const d = await eventually(() => TestDevice.connect(other.ws, token).catch(() => undefined), 'the device on the other node');
    await d.close();
    // The leader goes before the deadline; the other node takes the leadership and the deadline with it.
    leader.closed = true;
    await leader.hub.close();
    await eventually(() => other.hub.ctx.leadership.isLeader, 'the other node to lead', 10_000);
    const raised = await eventually(async () => (await alarms(other.api, `rule=${rule}`))[0], 'the offline alarm', 10_000);
    assert.equal(raised.device, 'cl-off');
    assert.equal(raised.kind, 'offline');
    assert.equal((await alarms(other.api, `rule=${rule}`)).length, 1);
  });
});
