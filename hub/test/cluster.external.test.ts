// Cluster mode with the real engines (docs/architecture.md § Cluster): three hubs
// in this process (startHub, each its own node id and ports) on one PostgreSQL and
// one Redis, each started by the test on free ports. Devices, consoles and API
// clients talk to different nodes on purpose: a command made on one node reaches a
// device on another and comes back; desired changes likewise; a console sees
// presence from a third; a device that moves (or connects twice at once) ends up
// with one session, every acknowledged frame stored once; and Redis restarting
// loses nothing acknowledged. The process-level test behind HAProxy is elsewhere.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CloseCode, type ConsoleUpdate, MessageType } from '@halyard/firmware-protocol';
import { Redis } from 'ioredis';
import pgDriver from 'pg';
import { sha256 } from '../src/auth/secrets.js';
import { loadConfig } from '../src/config.js';
import { type Hub, startHub } from '../src/hub.js';
import { createLogger } from '../src/log.js';
import { ConsoleClient } from './console-client.js';
import { startClusterNode } from './helpers/cluster-node.js';
import { TestDevice } from './helpers/device.js';
import { eventually } from './helpers/eventually.js';
import { freePort } from './helpers/free-port.js';
import { Api, type LogLine } from './helpers/hub.js';
import { startPostgres, type TestDatabase, type TestPostgres } from './helpers/postgres.js';
import { startRedis, type TestRedis } from './helpers/redis.js';

const PASSWORD = 'cluster-test-password';

type Of<T extends ConsoleUpdate['t']> = Extract<ConsoleUpdate, { t: T }>;

interface Node {
  id: string;
  hub: Hub;
  http: string;
  ws: string;
  api: Api;
  logs: LogLine[];
}

function startNode(id: string, pgUrl: string, redis: TestRedis): Promise<Node> {
  return startClusterNode(id, pgUrl, redis, { password: PASSWORD });
}

/** Answers every COMMAND with CMD_ACCEPTED then CMD_RESULT succeeded, echoing the params. */
function obey(d: TestDevice): void {
  d.ws.on('message', () => {
    for (const m of d.received) {
      if (m.type !== MessageType.Command || (m as { answered?: boolean }).answered) continue;
      (m as { answered?: boolean }).answered = true;
      d.send({ type: MessageType.CmdAccepted, id: m.id });
      d.send({ type: MessageType.CmdResult, id: m.id, status: 0, body: { echo: m.params } });
    }
  });
}

/** A sample's name and labels: `m{a="1"}` -> ['m', ['a="1"']]. */
function parseSample(sample: string): [string, string[]] {
  const brace = sample.indexOf('{');
  if (brace < 0) return [sample, []];
  return [sample.slice(0, brace), sample.slice(brace + 1, -1).split(',')];
}

/** One sample from a node's /metrics (0 when absent); the node's own label (every series carries it in cluster mode) need not be named. */
async function metric(n: Node, sample: string): Promise<number> {
  const text = await fetch(`${n.http}/metrics`).then((r) => r.text());
  const [name, labels] = parseSample(sample);
  for (const line of text.split('\n')) {
    const space = line.lastIndexOf(' ');
    if (space < 0 || line.startsWith('#')) continue;
    const [lineName, lineLabels] = parseSample(line.slice(0, space));
    if (lineName === name && labels.every((l) => lineLabels.includes(l))) return Number(line.slice(space + 1));
  }
  return 0;
}

async function points(api: Api, device: string, name: string): Promise<number[]> {
  const r = await api.get(`/devices/${device}/telemetry?name=${name}&from=0`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return (r.body.series[0]?.points ?? []).map((p: { v: number }) => p.v);
}

describe('cluster: three hubs on one PostgreSQL and one Redis', () => {
  let pg: TestPostgres;
  let db: TestDatabase;
  let redis: TestRedis;
  let a: Node;
  let b: Node;
  let c: Node;
  let probe: Redis;

  before(async () => {
    [pg, redis] = await Promise.all([startPostgres({ fsync: false }), startRedis()]);
    db = await pg.newDatabase();
    // All three at once on an empty database: one creates the schema and the admin, the others find them.
    [a, b, c] = await Promise.all([
      startNode('node-a', db.url, redis),
      startNode('node-b', db.url, redis),
      startNode('node-c', db.url, redis),
    ]);
    probe = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    // Redis restarts in the last test: the probe reconnects like the nodes.
    probe.on('error', () => {});
    await probe.connect();
  });

  after(async () => {
    probe?.disconnect();
    await Promise.all([a, b, c].map((n) => n?.hub.close()));
    await redis?.stop();
    await pg?.stop();
  });

  it('reports its node and Redis on /healthz', async () => {
    const r = await fetch(`${b.http}/healthz`);
    const body = (await r.json()) as { status: string; cluster: { node: string; redis: { up: boolean } } };
    assert.equal(r.status, 200);
    assert.deepEqual([body.status, body.cluster.node, body.cluster.redis.up], ['ok', 'node-b', true]);
    assert.equal(await metric(b, 'halyard_cluster_redis_up'), 1);
  });

  it('a node that cannot reach Redis at start refuses to start, naming it (password hidden)', async () => {
    const port = await freePort();
    const config = loadConfig(
      [
        ...['--port', '0', '--host', '127.0.0.1', '--mqtt-port', '0', '--log-level', 'silent'],
        ...['--store', db.url, '--cluster', `redis://:s3cret@127.0.0.1:${port}`, '--node-id', 'node-x'],
      ],
      {},
    );
    await assert.rejects(
      startHub(config, createLogger(config)),
      (err: Error) =>
        /--cluster redis:\/\/:\*\*\*@127\.0\.0\.1:\d+: cannot reach Redis/.test(err.message) && !err.message.includes('s3cret'),
    );
  });

  it('drops what does not belong on its Redis channels with a log line, and goes on', async () => {
    await probe.publish(`${redis.prefix}bus`, '{"v":1,"node":"intruder","events":[{"t":"presence","p":{"presence":"x"}}]}');
    await probe.publish(`${redis.prefix}bus`, 'garbage');
    await probe.publish(`${redis.prefix}node:node-a`, '{"t":"release","device":"x"}');
    await eventually(() => a.logs.some((l) => l.msg === 'cluster: dropped a bus message from Redis'), 'the bus drop line');
    await eventually(() => a.logs.some((l) => l.msg === 'cluster: dropped a node message that failed its checks'), 'the node drop line');
    assert.equal((await fetch(`${a.http}/healthz`)).status, 200);
  });

  it('logging out on node A ends that session on node B: its console closes, its token is refused', async () => {
    const api = new Api(a.http);
    await api.login('admin', PASSWORD);
    const token = api.token as string;
    const onB = b.api.as(token);
    assert.equal((await onB.get('/devices')).status, 200);
    const console = await ConsoleClient.open(b.ws, { token });
    await console.waitFor((m) => m.t === 'welcome');
    assert.equal((await api.post('/logout')).status, 204);
    const closed = await console.waitClosed();
    assert.equal(closed.code, CloseCode.Unauthorized);
    await eventually(async () => (await onB.get('/devices')).status === 401, 'node B to refuse the token');
    assert.equal((await b.api.get('/devices')).status, 200, "the admin's other session lives on");
  });

  it('a device provisioned on one node can connect to another, and a session made by a login on one node works on another', async () => {
    const token = await a.api.provision('cl-prov');
    // At once: node C knows the device from its creation event, or else from the store when the device asks.
    const d = await TestDevice.connect(c.ws, token);
    assert.equal(d.welcome?.acked, 0);
    const onB = b.api.as(a.api.token as string);
    const r = await onB.get('/devices/cl-prov');
    assert.equal(r.status, 200, 'the token from a login on node A is accepted by node B');
    await d.close();
  });

  it('revoking a device on node A ends its session on node B (4403); a token rotated on node C works on B, the old one nowhere', async () => {
    const token = await a.api.provision('cl-revoke');
    const d = await eventually(() => TestDevice.connect(b.ws, token).catch(() => undefined), 'the device on node B');
    assert.equal((await a.api.post('/devices/cl-revoke/revoke')).status, 200);
    assert.equal((await d.waitClosed()).code, CloseCode.Revoked);
    const rotated = await c.api.post('/devices/cl-revoke/token', { reinstate: true });
    assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
    const again = await eventually(
      () => TestDevice.connect(b.ws, rotated.body.token).catch(() => undefined),
      'node B to take the new token',
    );
    await assert.rejects(TestDevice.open(a.ws, token), (err: { status?: number }) => err.status === 401);
    await again.close();
  });

  it('a device no node has heard of yet (its creation event lost) is read from the store when it connects, or when a request names it', async () => {
    // Written to the database behind every node's back, as if the event announcing it had been lost.
    const client = new pgDriver.Client({ connectionString: db.url });
    await client.connect();
    try {
      await client.query('INSERT INTO devices (id, name, model, tags, secret_hash, created_at) VALUES ($1, NULL, NULL, $2, $3, $4)', [
        'cl-unheard',
        '[]',
        Buffer.from(sha256('unheard-secret-0123456789')),
        Date.now(),
      ]);
    } finally {
      await client.end();
    }
    assert.equal((await b.api.get('/devices/cl-unheard')).status, 200, 'node B reads it for the request');
    const d = await TestDevice.connect(c.ws, 'cl-unheard.unheard-secret-0123456789');
    assert.equal(d.welcome?.acked, 0);
    await d.close();
    await assert.rejects(TestDevice.open(a.ws, 'no-such-device.secret-0123456789abc'), (err: { status?: number }) => err.status === 401);
  });

  it('a command created on node A reaches the device on node B and ?wait on A returns succeeded', async () => {
    const token = await a.api.provision('cl-cmd');
    const d = await eventually(() => TestDevice.connect(b.ws, token).catch(() => undefined), 'the device to connect to node B');
    obey(d);
    const r = await a.api.post('/devices/cl-cmd/commands?wait=10', { name: 'reboot', params: { delay: 1 } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.state, 'succeeded');
    assert.deepEqual(r.body.result, { echo: { delay: 1 } });
    assert.deepEqual(
      r.body.history.map((h: { state: string }) => h.state),
      ['queued', 'sent', 'accepted', 'succeeded'],
    );
    // Delivered once: one COMMAND frame, though three nodes know the command.
    assert.equal(d.received.filter((m) => m.type === MessageType.Command).length, 1);
    // Every node sees the outcome.
    for (const n of [b, c]) {
      const got = await eventually(async () => {
        const x = await n.api.get(`/commands/${r.body.id}`);
        return x.body.state === 'succeeded' ? x.body : undefined;
      }, `node ${n.id} to see the result`);
      assert.equal(got.state, 'succeeded');
    }
    await d.close();
  });

  it('commands created on each node reach a device on every other node and come back succeeded', async () => {
    const nodes = [a, b, c];
    const devices = await Promise.all(
      nodes.map(async (n, i) => {
        const token = await a.api.provision(`cl-each-${i}`);
        const d = await eventually(() => TestDevice.connect(n.ws, token).catch(() => undefined), `device ${i} on ${n.id}`);
        obey(d);
        return d;
      }),
    );
    const results = await Promise.all(
      nodes.flatMap((from) =>
        nodes.map(async (_on, i) => {
          const r = await from.api.post(`/devices/cl-each-${i}/commands?wait=10`, { name: 'ping', params: from.id });
          return [from.id, i, r.status, r.body.state] as const;
        }),
      ),
    );
    for (const [from, i, status, state] of results) assert.deepEqual([status, state], [201, 'succeeded'], `from ${from} to device ${i}`);
    for (const d of devices) {
      assert.equal(d.received.filter((m) => m.type === MessageType.Command).length, 3, 'three commands, each delivered once');
      await d.close();
    }
  });

  it('a desired patch made on node C reaches the device on node A at once', async () => {
    const token = await a.api.provision('cl-twin');
    const d = await TestDevice.connect(a.ws, token);
    // Node C has not necessarily seen the device's creation event yet: it asks the store.
    const r = await c.api.patch('/devices/cl-twin/twin/desired', { led: 'on', rate: 5 });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const m = (await d.waitFor((x) => x.type === MessageType.Desired)) as { version: number; desired: Record<string, unknown> };
    assert.equal(m.version, r.body.desiredVersion);
    assert.deepEqual(m.desired, { led: 'on', rate: 5 });
    await d.close();
  });

  it('a console on node B sees the presence of a device on node C, and the fleet shows it online there', async () => {
    const token = await a.api.provision('cl-pres');
    const console = await ConsoleClient.open(b.ws, { token: b.api.token as string });
    console.send({ t: 'sub', stream: 'fleet' });
    await console.waitFor((m) => m.t === 'fleet');
    const d = await eventually(() => TestDevice.connect(c.ws, token).catch(() => undefined), 'the device on node C');
    const on = (await console.waitFor((m) => m.t === 'presence' && m.presence.device === 'cl-pres' && m.presence.online)) as Of<'presence'>;
    assert.equal(on.presence.reason, 'connected');
    const r = await eventually(async () => {
      const x = await b.api.get('/devices/cl-pres');
      return x.body.online === true ? x.body : undefined;
    }, 'node B to show the device online');
    assert.equal(r.online, true);
    await d.close();
    const off = (await console.waitFor(
      (m) => m.t === 'presence' && m.presence.device === 'cl-pres' && !m.presence.online,
    )) as Of<'presence'>;
    assert.equal(off.presence.reason, 'closed');
    await eventually(async () => (await b.api.get('/devices/cl-pres')).body.online === false, 'node B to show it offline');
    await console.close();
  });

  it('takeover from node A to node B with frames in flight: old socket 4409, WELCOME acked covers every ACK, each frame stored once', async () => {
    const token = await a.api.provision('cl-move');
    const first = await TestDevice.connect(a.ws, token);
    const N = 1_200;
    const BURST = 1_000;
    const t0 = Math.floor(Date.now() / 1000) - 10_000;
    // One burst, twice what --device-rate (100/s, bursts of 5 s) lets node A read at once: when node B takes
    // over, some frames are committed and acknowledged, the rest are still in flight (held or unread).
    for (let s = 1; s <= BURST; s++) first.send({ type: MessageType.Telemetry, seq: s, pack: [{ n: 'v', v: s, t: t0 + s }] });
    await first.waitAck(1);
    const second = await TestDevice.connect(b.ws, token);
    const closed = await first.waitClosed();
    assert.equal(closed.code, CloseCode.Replaced);
    const acked = (second.welcome as { acked: number }).acked;
    assert.ok(acked >= first.acked, `WELCOME acked ${acked} covers node A's last ACK ${first.acked}`);
    assert.ok(acked < BURST, `frames were in flight at the takeover (acked ${acked} of ${BURST})`);
    // The device resends what was not acknowledged, then goes on.
    for (let s = acked + 1; s <= N; s++) second.send({ type: MessageType.Telemetry, seq: s, pack: [{ n: 'v', v: s, t: t0 + s }] });
    await second.waitAck(N, 20_000);
    const stored = await points(c.api, 'cl-move', 'v');
    assert.equal(stored.length, N, 'every frame stored exactly once');
    assert.deepEqual(
      [...stored].sort((x, y) => x - y),
      Array.from({ length: N }, (_, i) => i + 1),
    );
    assert.ok(!b.logs.some((l) => /did not let go in time/.test(l.msg)), 'node A answered the takeover (it did not run out the wait)');
    assert.equal(await metric(b, 'halyard_cluster_takeovers_total{outcome="answered"}'), 1);
    const lease = await probe.get(`${redis.prefix}own:cl-move`);
    assert.match(lease ?? '', /^node-b /, 'node B holds the lease');
    await eventually(async () => (await c.api.get('/devices/cl-move')).body.online === true, 'node C to show it online');
    await second.close();
  });

  it('one device connecting through two nodes at once ends with one session', async () => {
    const token = await a.api.provision('cl-twice');
    await eventually(async () => (await c.api.get('/devices/cl-twice')).status === 200, 'node C to know the device');
    const [x, y] = await Promise.all([TestDevice.open(a.ws, token), TestDevice.open(c.ws, token)]);
    const hello = { type: MessageType.Hello, proto: 1, fw: '1.0.0', model: 'm' } as const;
    x.send(hello);
    y.send(hello);
    // One of them is closed with 4409 (before or after its WELCOME); the other stays, welcomed.
    await Promise.race([x.waitClosed(10_000), y.waitClosed(10_000)]);
    const [loser, winner] = x.closed !== undefined ? [x, y] : [y, x];
    assert.equal(loser.closed?.code, CloseCode.Replaced);
    await winner.waitFor((m) => m.type === MessageType.Welcome);
    assert.equal(winner.closed, undefined, 'the winner stays connected');
    const node = winner === x ? 'node-a' : 'node-c';
    const lease = await probe.get(`${redis.prefix}own:cl-twice`);
    assert.match(lease ?? '', new RegExp(`^${node} `));
    winner.telemetry([{ n: 'w', v: 1 }]);
    await winner.waitAck(1);
    assert.equal(winner.closed, undefined);
    await winner.close();
    // Twice at once through the same node: the same, whichever claim settles first.
    const [p, q] = await Promise.all([TestDevice.open(b.ws, token), TestDevice.open(b.ws, token)]);
    p.send(hello);
    q.send(hello);
    await Promise.race([p.waitClosed(10_000), q.waitClosed(10_000)]);
    const [lost, kept] = p.closed !== undefined ? [p, q] : [q, p];
    assert.equal(lost.closed?.code, CloseCode.Replaced);
    await kept.waitFor((m) => m.type === MessageType.Welcome);
    kept.telemetry([{ n: 'w', v: 2 }]);
    await kept.waitAck(kept.seq);
    assert.equal(kept.closed, undefined, 'the newer one stays connected');
    await kept.close();
  });

  it('takeover from a node that is gone goes ahead at once; from one that is silent, after the release wait', async () => {
    const token = await a.api.provision('cl-orphan');
    await eventually(async () => (await b.api.get('/devices/cl-orphan')).status === 200, 'node B to know the device');
    // A lease of a node whose heartbeat is gone (killed): no one to ask.
    await probe.set(`${redis.prefix}own:cl-orphan`, 'node-dead s-1', 'PX', 60_000);
    const d1 = await TestDevice.connect(b.ws, token);
    assert.ok(!b.logs.some((l) => /did not let go in time/.test(l.msg)));
    await d1.close();
    // A node that still beats but never answers (stalled, or cut off from Redis's other side).
    await probe.set(`${redis.prefix}alive:node-silent`, '1', 'PX', 60_000);
    await probe.set(`${redis.prefix}own:cl-orphan`, 'node-silent s-2', 'PX', 60_000);
    const started = Date.now();
    const d2 = await TestDevice.open(b.ws, token);
    d2.send({ type: MessageType.Hello, proto: 1, fw: '1.0.0', model: 'm' });
    await d2.waitFor((m) => m.type === MessageType.Welcome, 15_000);
    assert.ok(Date.now() - started >= 4_500, 'WELCOME waited for the release wait (5 s)');
    assert.ok(b.logs.some((l) => /did not let go in time/.test(l.msg)));
    assert.match((await probe.get(`${redis.prefix}own:cl-orphan`)) ?? '', /^node-b /);
    assert.equal(await metric(b, 'halyard_cluster_takeovers_total{outcome="gone"}'), 1);
    assert.equal(await metric(b, 'halyard_cluster_takeovers_total{outcome="unanswered"}'), 1);
    await d2.close();
  });

  it('a node that dies without a word: its devices show offline once their leases lapse, announced once', async () => {
    const device = 'cl-ghost';
    await a.api.provision(device);
    await eventually(async () => (await c.api.get(`/devices/${device}`)).status === 200, 'node C to know the device');
    const console = await ConsoleClient.open(c.ws, { token: c.api.token as string });
    console.send({ t: 'sub', stream: 'fleet' });
    await console.waitFor((m) => m.t === 'fleet');
    // What a node "node-ghost" would have left behind before dying: its presence on the bus, a short lease, no heartbeat.
    const at = Date.now();
    await probe.set(`${redis.prefix}own:${device}`, 'node-ghost s-9', 'PX', 500);
    const presence = { presence: { device, online: true, reason: 'connected', code: null, at }, rtt: null, lastSeen: at };
    await probe.publish(`${redis.prefix}bus`, JSON.stringify({ v: 1, node: 'node-ghost', events: [{ t: 'presence', p: presence }] }));
    await eventually(async () => (await c.api.get(`/devices/${device}`)).body.online === true, 'node C to show it online');
    // The lease lapses; within the lease TTL (15 s) plus a sweep (5 s) every node shows it offline.
    const off = (await console.waitFor(
      (m) => m.t === 'presence' && m.presence.device === device && !m.presence.online,
      25_000,
    )) as Of<'presence'>;
    assert.equal(off.presence.reason, 'timeout');
    for (const n of [a, b, c])
      await eventually(async () => (await n.api.get(`/devices/${device}`)).body.online === false, `${n.id} offline`);
    const announcements = [a, b, c].flatMap((n) => n.logs).filter((l) => /the node serving it is gone/.test(l.msg) && l.device === device);
    assert.equal(announcements.length, 1, 'one node announced it');
    await console.close();
  });

  it('Redis restarts: nodes reconnect and announce their leases again, nothing acknowledged is lost, commands flow again', async (t) => {
    if (redis.external) return t.skip('HALYARD_TEST_REDIS_URL: not our own server');
    const token = await a.api.provision('cl-redis');
    const d = await eventually(() => TestDevice.connect(b.ws, token).catch(() => undefined), 'the device on node B');
    obey(d);
    const t0 = Math.floor(Date.now() / 1000) - 2_000;
    for (let s = 1; s <= 50; s++) d.send({ type: MessageType.Telemetry, seq: s, pack: [{ n: 'r', v: s, t: t0 + s }] });
    await redis.restart();
    for (let s = 51; s <= 100; s++) d.send({ type: MessageType.Telemetry, seq: s, pack: [{ n: 'r', v: s, t: t0 + s }] });
    await d.waitAck(100, 15_000);
    // Every node is back (healthz 200), and node B's lease is in the new, empty Redis again.
    for (const n of [a, b, c]) await eventually(async () => (await fetch(`${n.http}/healthz`)).status === 200, `${n.id} healthy`, 15_000);
    const lease = await eventually(() => probe.get(`${redis.prefix}own:cl-redis`).catch(() => undefined), 'the lease again', 15_000);
    assert.match(lease ?? '', /^node-b /);
    assert.equal(d.closed, undefined, 'the device stayed connected through the restart');
    const stored = await points(a.api, 'cl-redis', 'r');
    assert.equal(stored.length, 100);
    const r = await c.api.post('/devices/cl-redis/commands?wait=10', { name: 'after-restart' });
    assert.equal(r.body.state, 'succeeded', JSON.stringify(r.body));
    const lines = b.logs.filter((l) => /^cluster: Redis (unreachable|reachable again)/.test(l.msg)).map((l) => l.msg.split(';')[0]);
    assert.deepEqual(lines, ['cluster: Redis unreachable', 'cluster: Redis reachable again'], 'one line each way');
    await d.close();
  });
});
