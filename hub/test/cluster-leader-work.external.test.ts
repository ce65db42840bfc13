// Singleton work follows the leadership in a cluster (README.md, Running a cluster):
// two hubs in this process on one PostgreSQL and one Redis. Only the leader announces
// Home Assistant discovery; when it goes, the other node takes the leadership and
// announces from the store. A command no node watches (its node died before ending
// it; written here behind every node's back) is ended by the leader's sweep.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Hub } from '../src/hub.js';
import { PostgresStore } from '../src/store/postgres/postgres-store.js';
import { startClusterNode } from './helpers/cluster-node.js';
import { TestDevice } from './helpers/device.js';
import { eventually } from './helpers/eventually.js';
import type { Api } from './helpers/hub.js';
import { createIntegrator, TestMqtt } from './helpers/mqtt.js';
import { startPostgres, type TestDatabase, type TestPostgres } from './helpers/postgres.js';
import { startRedis, type TestRedis } from './helpers/redis.js';

const PASSWORD = 'leader-work-password';

interface Node {
  hub: Hub;
  api: Api;
  http: string;
}

function startNode(id: string, url: string, redis: TestRedis): Promise<Node> {
  return startClusterNode(id, url, redis, { password: PASSWORD, flags: ['--ha-discovery'], logLevel: 'warn' });
}

async function role(n: Node): Promise<string> {
  const body = (await (await fetch(`${n.http}/healthz`)).json()) as { cluster: { role: string } };
  return body.cluster.role;
}

describe('singleton work in a cluster', () => {
  let pg: TestPostgres;
  let db: TestDatabase;
  let redis: TestRedis;
  let a: Node;
  let b: Node;

  before(async () => {
    [pg, redis] = await Promise.all([startPostgres({ fsync: false }), startRedis()]);
    db = await pg.newDatabase();
    // A first: it takes the leadership at start; B finds it taken.
    a = await startNode('lw-a', db.url, redis);
    b = await startNode('lw-b', db.url, redis);
  });

  after(async () => {
    await Promise.all([a?.hub.close(), b?.hub.close()]);
    await redis?.stop();
    await pg?.stop();
  });

  it('only the leader announces discovery; the next leader announces from the store', async () => {
    assert.deepEqual([await role(a), await role(b)], ['leader', 'follower']);
    await createIntegrator(a.api, 'ha', 'ha-password-123');
    const token = await a.api.provision('lw-dev');
    const d = await TestDevice.connect(`ws://127.0.0.1:${b.hub.port}`, token);
    const config = (m: { topic: string }) => m.topic.startsWith('homeassistant/sensor/') && m.topic.endsWith('/temp/config');
    const onA = await TestMqtt.connect(`mqtt://127.0.0.1:${a.hub.mqttPort}`, { username: 'ha', password: 'ha-password-123' });
    const onB = await TestMqtt.connect(`mqtt://127.0.0.1:${b.hub.mqttPort}`, { username: 'ha', password: 'ha-password-123' });
    try {
      await onA.subscribe('homeassistant/#');
      await onB.subscribe('homeassistant/#', 'halyard/devices/+/telemetry');
      d.telemetry([{ n: 'temp', u: 'Cel', v: 21.5 }]);
      await onA.until(() => onA.received.some(config), 'the discovery config on the leader', 10_000);
      // The brokers share publishes (MQTT in a cluster): an integrator on either node sees
      // the config, once; B, serving the device, announced nothing itself. A second
      // frame through B to its subscriber is the barrier: B's own announcement, had it
      // made one, would have come with the first.
      await onB.until(() => onB.received.some(config), 'the config on the other node too', 10_000);
      const telemetry = 'halyard/devices/lw-dev/telemetry';
      await onB.next(telemetry, () => true, 0, 10_000);
      const seen = onB.on(telemetry).length;
      d.telemetry([{ n: 'temp', u: 'Cel', v: 22 }]);
      await onB.until(() => onB.on(telemetry).length > seen, 'the second frame', 10_000);
      assert.equal(onA.received.filter(config).length, 1, 'announced once, by the leader');
      assert.equal(onB.received.filter(config).length, 1, 'announced once, by the leader');
      await a.hub.close();
      await eventually(async () => (await role(b)) === 'leader', 'b to lead', 10_000);
      // Announced again from the store by the new leader.
      await onB.until(() => onB.received.filter(config).length >= 2, 'the discovery config from the new leader', 10_000);
    } finally {
      d.ws.terminate();
      await onA.close().catch(() => {});
      await onB.close();
    }
  });

  it("the leader ends a command no node watches (a dead node's)", async () => {
    const store = await PostgresStore.open({
      url: db.url,
      commitIntervalMs: 5,
      maxBatchFrames: 100,
      maxFrame: 65_536,
      retentionMs: 0,
      maintenanceIntervalMs: 0,
    });
    try {
      const device = (await store.listDevices()).find((r) => r.id === 'lw-dev');
      assert.ok(device);
      await store.op('createCommand', {
        command: {
          id: 'cmd-orphan-1',
          device: device.rowid,
          name: 'forgotten',
          params: null,
          key: null,
          createdAt: Date.now() - 60_000,
          createdBy: 'test',
          ttl: 1_000,
          timeout: 1_000,
        },
        maxOpen: 100,
        keyTtl: 86_400_000,
      });
    } finally {
      await store.close();
    }
    // B leads now (previous test); its sweep runs every 10 s.
    const ended = await eventually(
      async () => {
        const r = await b.api.get('/commands/cmd-orphan-1');
        return r.body.state === 'expired' && r.body;
      },
      'the orphaned command expired by the leader',
      25_000,
    );
    assert.match(ended.error, /not delivered within its ttl/);
  });
});
