// A Redis outage under a cluster behind HAProxy (README.md, Running a cluster,
// degraded mode): Redis holds hints, PostgreSQL the truth, so every node keeps
// serving. Redis is killed for longer than the balancer's health checks take to mark
// a server down (deploy/haproxy.cfg: fall 2): HAProxy keeps every hub in (it checks
// /readyz, which a Redis outage leaves at 200, while /healthz says 503 for
// monitoring), devices that connect meanwhile through HAProxy get WELCOME and their
// ACKs, and once Redis is back the nodes announce their leases again. Nothing
// acknowledged is lost or stored twice. A device that moves to another node during
// the outage is served there at once (no takeover without Redis), and once Redis is
// back the session its lease does not name ends with 4409.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CloseCode } from '@halyard/firmware-protocol';
import { Redis } from 'ioredis';
import { startTestCluster, type TestCluster } from './helpers/cluster.js';
import { TestDevice } from './helpers/device.js';
import { eventually } from './helpers/eventually.js';
import { Api } from './helpers/hub.js';
import { seededRandom, testSeed } from './helpers/random.js';
import { ReliableDevice } from './helpers/reliable-device.js';

const CHECK_MS = 200;
const SEED = testSeed(0x4ed15);

describe('a cluster whose Redis goes away', { timeout: 180_000 }, () => {
  let c: TestCluster;
  let lb: Api;
  const devices: ReliableDevice[] = [];
  const random = seededRandom(SEED);

  before(async () => {
    c = await startTestCluster({ nodes: 2, fsync: false, checkIntervalMs: CHECK_MS });
    lb = new Api(c.urls.http);
    await lb.login('admin', c.adminPassword);
    for (let i = 0; i < 6; i++) {
      const id = `outage-${i}`;
      devices.push(new ReliableDevice(id, await lb.provision(id), `ws://127.0.0.1:${c.lb.httpPort}`, random));
    }
  });

  after(async () => {
    for (const d of devices) d.stop();
    await c?.stop();
  });

  // biome-ignore lint/suspicious/noExplicitAny: the test reads the JSON answer
  async function get(i: number, path: string): Promise<{ status: number; body: any }> {
    const r = await fetch(`http://127.0.0.1:${c.nodes[i]?.hub.port}${path}`);
    return { status: r.status, body: await r.json() };
  }

  async function untilRedisSeen(up: boolean): Promise<void> {
    await eventually(
      async () => (await Promise.all(c.nodes.map((_, i) => get(i, '/healthz')))).every((h) => h.body.cluster.redis.up === up),
      `every node seeing Redis ${up ? 'back' : 'away'}`,
    );
  }

  function stream(list: ReliableDevice[], frames: number): void {
    for (const d of list) for (let k = 0; k < frames; k++) d.telemetry([{ n: 'v', v: d.seq + 1 }]);
  }

  it('keeps every hub in the balancer, serves new devices, and recovers the leases after', async () => {
    const early = devices.slice(0, 3);
    const late = devices.slice(3);
    for (const d of early) d.start();
    await eventually(() => early.every((d) => d.isOnline), 'the first devices online');
    stream(early, 5);
    await eventually(() => early.every((d) => d.outbox.size === 0), 'their frames acknowledged');

    await c.redis.kill();
    await eventually(async () => {
      const all = await Promise.all(c.nodes.map((_, i) => get(i, '/healthz')));
      return all.every((h) => h.status === 503 && h.body.cluster.redis.up === false);
    }, 'every node reporting Redis away on /healthz');
    const noticed = Date.now();
    // The scenario: an outage longer than the checks that mark a server down (fall x inter), twice over.
    const fall = Number(/\bfall (\d+)/.exec(c.lb.config)?.[1]);
    assert.ok(fall >= 1, 'deploy/haproxy.cfg names a fall count');
    const outageMs = 2 * (fall + 1) * CHECK_MS;
    for (const i of c.nodes.keys()) {
      const r = await get(i, '/readyz');
      assert.deepEqual([r.status, r.body.status], [200, 'ready'], `node ${i} ready without Redis`);
    }

    // New connections through HAProxy during the outage: WELCOME, then ACKs.
    for (const d of late) d.start();
    await eventually(() => late.every((d) => d.isOnline), 'devices connecting during the outage welcomed');
    stream(devices, 10);
    await eventually(() => devices.every((d) => d.outbox.size === 0), 'every frame sent during the outage acknowledged');
    await eventually(() => Date.now() - noticed >= outageMs, `the outage lasting ${outageMs} ms`, outageMs + 5_000);
    const states = await c.lb.servers();
    assert.deepEqual(
      states.filter((s) => s.backend === 'hubs').map((s) => s.status),
      c.nodes.map(() => 'UP'),
      `every hub still in the balancer after ${outageMs} ms without Redis: ${JSON.stringify(states)}`,
    );
    // And a new API session through the balancer still works.
    const api = new Api(c.urls.http);
    await api.login('admin', c.adminPassword);

    await c.redis.restart();
    await eventually(async () => {
      const all = await Promise.all(c.nodes.map((_, i) => get(i, '/healthz')));
      return all.every((h) => h.status === 200);
    }, 'every node healthy again');
    // Redis came back empty: each node announces the leases of the devices it serves again.
    const redis = new Redis(c.redis.url, { maxRetriesPerRequest: 1 });
    try {
      await eventually(async () => {
        const owners = await redis.mget(...devices.map((d) => `${c.redis.prefix}own:${d.id}`));
        return owners.every((o) => o !== null && /^node\d /.test(o));
      }, 'every lease announced again');
    } finally {
      redis.disconnect();
    }

    // Exactly once: each device's values are 1..seq.
    stream(devices, 3);
    await eventually(() => devices.every((d) => d.outbox.size === 0), 'frames after the outage acknowledged');
    for (const d of devices) {
      const r = await lb.get(`/devices/${d.id}/telemetry?name=v&from=0&limit=1000`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const values = (r.body.series[0]?.points ?? []).map((p: { v: number }) => p.v);
      assert.deepEqual(
        values,
        Array.from({ length: d.seq }, (_, k) => k + 1),
        `${d.id}: stored once each`,
      );
    }
  });

  it('a device that moves during the outage: served by both, then the session its lease does not name ends with 4409', async () => {
    const token = await lb.provision('mover');
    const port = (i: number) => `ws://127.0.0.1:${c.nodes[i]?.hub.port}`;
    await c.redis.kill();
    await untilRedisSeen(false);
    const first = await TestDevice.connect(port(0), token);
    await first.waitAck(first.telemetry([{ n: 'v', v: 1 }]));
    // The new node cannot ask the old one to let go: it answers at once, acked read from PostgreSQL.
    const second = await TestDevice.connect(port(1), token);
    assert.equal(second.welcome?.acked, 1);
    second.seq = 1;
    await second.waitAck(second.telemetry([{ n: 'v', v: 2 }]));
    assert.equal(first.closed, undefined, 'the old session stands meanwhile');

    await c.redis.restart();
    await untilRedisSeen(true);
    // Each node announces its session's lease again; the one that finds the other's ends its own.
    const closed = await Promise.race([first.waitClosed(20_000), second.waitClosed(20_000)]);
    assert.equal(closed.code, CloseCode.Replaced);
    const survivor = first.closed === undefined ? first : second;
    assert.equal(survivor.closed, undefined, 'one session left');
    survivor.seq = 2;
    await survivor.waitAck(survivor.telemetry([{ n: 'v', v: 3 }]));
    const r = await lb.get('/devices/mover/telemetry?name=v&from=0');
    assert.deepEqual(
      (r.body.series[0]?.points ?? []).map((p: { v: number }) => p.v),
      [1, 2, 3],
      'each frame stored once',
    );
    first.ws.terminate();
    second.ws.terminate();
  });
});
