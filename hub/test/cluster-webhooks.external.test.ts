// Webhooks in a cluster (README.md § Webhooks): two hubs on one PostgreSQL and one
// Redis, a webhook made on one node, a device on the other. Each event is queued
// once, by the node where it happened, and sent once, by the leader alone; a
// receiver in the test counts deliveries by id.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../src/config.js';
import { type Hub, startHub } from '../src/hub.js';
import { createLogger } from '../src/log.js';
import { verify } from '../src/webhooks/signature.js';
import { TestDevice } from './helpers/device.js';
import { eventually } from './helpers/eventually.js';
import { Api } from './helpers/hub.js';
import { startPostgres, type TestDatabase, type TestPostgres } from './helpers/postgres.js';
import { startRedis, type TestRedis } from './helpers/redis.js';

const PASSWORD = 'cluster-webhook-password';

interface Node {
  id: string;
  hub: Hub;
  http: string;
  ws: string;
  api: Api;
}

async function startNode(id: string, pgUrl: string, redis: TestRedis): Promise<Node> {
  const config = loadConfig(
    [
      ...['--port', '0', '--host', '127.0.0.1', '--mqtt-port', '0', '--webhook-allow', '127.0.0.1'],
      ...['--store', pgUrl, '--cluster', `${redis.url}?prefix=${redis.prefix}`, '--node-id', id],
      ...['--admin-password', PASSWORD, '--log-format', 'json', '--log-level', 'warn'],
    ],
    {},
  );
  const sink = new Writable({ write: (_c, _e, cb) => cb() });
  const hub = await startHub(config, createLogger(config, sink), { webhooks: { retryBaseMs: 20, pollMs: 100 } });
  const http = `http://127.0.0.1:${hub.port}`;
  const api = new Api(http);
  await api.login('admin', PASSWORD);
  return { id, hub, http, ws: `ws://127.0.0.1:${hub.port}`, api };
}

async function attempts(n: Node): Promise<number> {
  const text = await fetch(`${n.http}/metrics`).then((r) => r.text());
  return text
    .split('\n')
    .filter((l) => l.startsWith('halyard_webhook_attempts_total{'))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

describe('cluster: webhooks', () => {
  let pg: TestPostgres;
  let db: TestDatabase;
  let redis: TestRedis;
  const nodes: Node[] = [];
  let secret = '';
  const byId = new Map<string, number>();
  const bodies: { type: string; data: { device?: string } }[] = [];
  let bad = 0;
  const receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString();
      if (!verify(secret, String(req.headers['halyard-signature']), text, Math.floor(Date.now() / 1000))) bad++;
      const id = String(req.headers['halyard-webhook-id']);
      byId.set(id, (byId.get(id) ?? 0) + 1);
      bodies.push(JSON.parse(text));
      res.writeHead(204).end();
    });
  });

  before(async () => {
    receiver.listen(0, '127.0.0.1');
    await once(receiver, 'listening');
    pg = await startPostgres({ fsync: false });
    db = await pg.newDatabase();
    redis = await startRedis();
    nodes.push(await startNode('a', db.url, redis));
    nodes.push(await startNode('b', db.url, redis));
  });

  after(async () => {
    for (const n of nodes) await n.hub.close();
    await redis?.stop();
    await db?.drop();
    await pg?.stop();
    receiver.closeAllConnections();
    await new Promise((r) => receiver.close(r));
  });

  it('queues each event once where it happened and sends it once, from the leader', async () => {
    const [a, b] = nodes as [Node, Node];
    const leader = await eventually(() => nodes.find((n) => n.hub.ctx.leadership.isLeader), 'a leader');
    const other = leader === a ? b : a;
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    // Made on the node that does not send; the device connects to it too.
    const made = await other.api.post('/webhooks', { name: 'ops', url, events: ['device.online', 'device.offline'] });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    secret = made.body.secret;
    const token = await other.api.provision('cw-1');
    const d = await TestDevice.connect(other.ws, token);
    await eventually(() => bodies.some((x) => x.type === 'device.online' && x.data.device === 'cw-1'), 'online delivered', 10_000);
    await d.close();
    await eventually(() => bodies.some((x) => x.type === 'device.offline' && x.data.device === 'cw-1'), 'offline delivered', 10_000);
    const log = await eventually(async () => {
      const r = await leader.api.get(`/webhooks/${made.body.id}/deliveries`);
      return r.body.deliveries.length === 2 && r.body.deliveries.every((x: { state: string }) => x.state === 'delivered')
        ? r.body.deliveries
        : undefined;
    }, 'two deliveries, delivered');
    assert.equal(log.length, 2, 'each event queued once in the cluster');
    assert.deepEqual([...byId.values()], [1, 1], 'each delivery received once');
    assert.equal(bad, 0);
    assert.equal(await attempts(other), 0, 'only the leader sends');
    assert.equal(await attempts(leader), 2);
  });
});
