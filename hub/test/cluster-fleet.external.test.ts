// A cluster as it runs in production (README.md, Running a cluster): three hub
// processes on one PostgreSQL and one Redis, behind HAProxy with deploy/haproxy.cfg,
// started by the same code as `npm run cluster` (helpers/cluster.ts). 300 devices
// connect through the balancer and end up spread over the nodes; commands made on
// each node reach devices held by the others; an MQTT client on one node sees the
// telemetry of devices on the others. Then, under load: the leader is killed with
// SIGKILL (its devices reconnect elsewhere within 10 s, its leader work moves, nothing
// acknowledged is lost or stored twice, no command is lost or run twice, its devices
// that do not come back are offline once their lease lapses), PostgreSQL is restarted
// and Redis is restarted (nodes degrade as documented, recover, and lose nothing
// acknowledged). The in-process cluster tests are cluster.external.test.ts.
//
// Descriptors: 300 devices hold about 1,200 (client, HAProxy both sides, hub), well
// within this machine's 20,000; HAProxy's maxconn follows the limit (helpers/haproxy.ts).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import mqtt from 'mqtt';
import pg from 'pg';
import { startTestCluster, type TestCluster } from './helpers/cluster.js';
import { eventually } from './helpers/eventually.js';
import { Api } from './helpers/hub.js';
import { seededRandom, testSeed } from './helpers/random.js';
import { ReliableDevice } from './helpers/reliable-device.js';

const DEVICES = 300;
/** Lease TTL of a device's owner (SPEC.md §2.4: 15 s) plus the sweep that announces it. */
const LEASE_LAPSE_MS = 25_000;
const SEED = testSeed(0x5eed16);

describe('a cluster of three hub processes behind HAProxy', { timeout: 600_000 }, () => {
  let c: TestCluster;
  let lb: Api;
  /** The API of each node directly, by node index. */
  const direct: Api[] = [];
  const devices: ReliableDevice[] = [];
  let redis: Redis;
  /** The test's own view of the ledger; a pool, so it reconnects after the PostgreSQL restart. */
  let db: pg.Pool;
  let load: NodeJS.Timeout | undefined;
  const created: string[] = [];
  /** Devices whose network went with the killed node: they never reconnect. */
  const gone = new Set<ReliableDevice>();
  const random = seededRandom(SEED);

  before(async () => {
    c = await startTestCluster({ nodes: 3, fsync: false });
    lb = new Api(c.urls.http);
    await lb.login('admin', c.adminPassword);
    for (const n of c.nodes) {
      const a = new Api(`http://127.0.0.1:${n.hub.port}`);
      await a.login('admin', c.adminPassword);
      direct.push(a);
    }
    redis = new Redis(c.redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    redis.on('error', () => {});
    await redis.connect();
    db = new pg.Pool({ connectionString: c.pg.url, max: 2 });
    db.on('error', () => {});
    // Provisioned through the balancer, ten at a time.
    const ids = Array.from({ length: DEVICES }, (_, i) => `fleet-${String(i).padStart(3, '0')}`);
    for (let i = 0; i < ids.length; i += 10) {
      const tokens = await Promise.all(ids.slice(i, i + 10).map((id) => lb.provision(id)));
      tokens.forEach((token, k) => {
        devices.push(new ReliableDevice(ids[i + k] as string, token, `ws://127.0.0.1:${c.lb.httpPort}`, random));
      });
    }
    for (const d of devices) d.start();
    await eventually(() => devices.every((d) => d.isOnline), 'every device online through HAProxy', 60_000);
  });

  after(async () => {
    clearInterval(load);
    for (const d of devices) d.stop();
    redis?.disconnect();
    await db?.end().catch(() => {});
    await c?.stop();
  });

  /** Which node holds each device's lease in Redis (`own:<device>` = "<node> <session>"). */
  async function owners(): Promise<Map<string, string>> {
    const keys = devices.map((d) => `${c.redis.prefix}own:${d.id}`);
    const values = await redis.mget(...keys);
    return new Map(devices.map((d, i) => [d.id, values[i]?.split(' ')[0] ?? '']));
  }

  /** GET /healthz of node `i`, directly. */
  // biome-ignore lint/suspicious/noExplicitAny: the test reads the JSON answer
  async function health(i: number): Promise<{ status: number; body: any }> {
    const r = await fetch(`http://127.0.0.1:${c.nodes[i]?.hub.port}/healthz`);
    return { status: r.status, body: await r.json() };
  }

  /**
   * Runs `outage` while watching every live node's /healthz; resolves with what they
   * said meanwhile (the answers, in order), so a test can check the documented degradation.
   */
  // biome-ignore lint/suspicious/noExplicitAny: the test reads the JSON answers
  async function watchHealth(alive: number[], outage: () => Promise<void>): Promise<{ status: number; body: any }[]> {
    // biome-ignore lint/suspicious/noExplicitAny: as above
    const seen: { status: number; body: any }[] = [];
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        seen.push(...(await Promise.all(alive.map((i) => health(i).catch(() => ({ status: 0, body: {} }))))));
        await new Promise((r) => setTimeout(r, 25));
      }
    })();
    try {
      await outage();
    } finally {
      watching = false;
      await watcher;
    }
    return seen;
  }

  /** The node whose connection holds the leader lock (pg-leadership.ts), as PostgreSQL says. */
  async function leader(): Promise<string | undefined> {
    const r = await db.query<{ name: string }>(
      `SELECT application_name AS name FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid
        WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 1751939428 AND l.objid = 1818583396`,
    );
    return r.rows[0]?.name.replace('halyard-leader:', '');
  }

  /** Each device sends one telemetry frame per tick, its value its sequence number. */
  function startLoad(everyMs: number): void {
    clearInterval(load);
    load = setInterval(() => {
      for (const d of devices) if (!gone.has(d)) d.telemetry([{ n: 'v', v: d.seq + 1 }]);
    }, everyMs);
  }

  /** A command for `device`, made on node `via` (not waited for). */
  async function command(via: number, device: string, name: string): Promise<string> {
    const r = await (direct[via] as Api).post(`/devices/${device}/commands`, { name, params: { via }, ttl: '5m', timeout: '5m' });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    created.push(r.body.id);
    return r.body.id as string;
  }

  /** Every frame a device sent was acknowledged and is stored exactly once; every command ended succeeded, once. */
  async function assertNothingLost(what: string): Promise<void> {
    await eventually(
      () => devices.every((d) => gone.has(d) || d.outbox.size === 0),
      `${what}: every device's frames acknowledged`,
      120_000,
    );
    const dup = await db.query(
      `SELECT c.id, count(*) AS n FROM command_history h JOIN commands c ON c.rowid = h.command
        WHERE h.state = 'succeeded' GROUP BY c.id HAVING count(*) > 1`,
    );
    assert.deepEqual(dup.rows, [], `${what}: no command succeeded twice`);
    await eventually(
      async () => {
        const r = await db.query<{ state: string; n: number }>(
          'SELECT state, count(*)::int AS n FROM commands WHERE id = ANY($1) GROUP BY state',
          [created],
        );
        return r.rows.length === 1 && r.rows[0]?.state === 'succeeded' && r.rows[0].n === created.length;
      },
      `${what}: all ${created.length} commands succeeded`,
      60_000,
    );
    for (const id of created)
      assert.ok(
        devices.some((d) => d.executed.has(id)),
        `${what}: command ${id} reached its device`,
      );
    // Stored once: each device's values are exactly 1..seq, in order, none twice.
    for (let i = 0; i < devices.length; i += 25) {
      await Promise.all(
        devices.slice(i, i + 25).map(async (d) => {
          const r = await lb.get(`/devices/${d.id}/telemetry?name=v&from=0&limit=100000`);
          assert.equal(r.status, 200, JSON.stringify(r.body));
          const values: number[] = (r.body.series[0]?.points ?? []).map((p: { v: number }) => p.v);
          // A gone device's last frames may be stored without their ACK having reached it: all it saw acknowledged, and no more than it sent.
          const expected = gone.has(d) ? values.length : d.seq;
          if (gone.has(d)) assert.ok(values.length >= d.ackedMax && values.length <= d.seq, `${what}: ${d.id} acked ${d.ackedMax}`);
          assert.deepEqual(
            values,
            Array.from({ length: expected }, (_, k) => k + 1),
            `${what}: ${d.id} stored ${values.length} of ${d.seq}`,
          );
        }),
      );
    }
  }

  it('spreads 300 devices over the three nodes (no sticky sessions)', async () => {
    const held = await eventually(async () => {
      const o = await owners();
      return [...o.values()].every((n) => n !== '') && o;
    }, 'every device to have a lease');
    const per = new Map<string, number>();
    for (const n of held.values()) per.set(n, (per.get(n) ?? 0) + 1);
    assert.deepEqual([...per.keys()].sort(), ['node1', 'node2', 'node3']);
    for (const [node, n] of per) assert.ok(n >= 50, `${node} holds ${n} devices (leastconn should spread them)`);
    for (const [i, n] of c.nodes.entries()) {
      const h = await health(i);
      assert.equal(h.status, 200);
      assert.equal(h.body.devices.connected, per.get(n.id));
    }
  });

  it('every node reports its role and its reach of Redis and PostgreSQL; any node lists them all', async () => {
    const healths = await Promise.all(c.nodes.map((_, i) => health(i)));
    assert.deepEqual(
      healths.map((h) => [h.body.cluster.node, h.body.cluster.redis.up, h.body.cluster.postgres.up]),
      c.nodes.map((n) => [n.id, true, true]),
    );
    const leaders = healths.filter((h) => h.body.cluster.role === 'leader').map((h) => h.body.cluster.node);
    assert.deepEqual(leaders, [await leader()]);
    // Through the balancer, whichever node answers: every node's line, one leader, the whole fleet.
    const stats = await eventually(async () => {
      const r = await lb.get('/hub/stats');
      const nodes: { node: string; leader: boolean; connectedDevices: number }[] = r.body.nodes ?? [];
      return nodes.length === 3 && nodes.reduce((a, n) => a + n.connectedDevices, 0) === DEVICES && r.body;
    }, 'hub stats listing the three nodes');
    assert.deepEqual(
      stats.nodes.map((n: { node: string }) => n.node),
      ['node1', 'node2', 'node3'],
    );
    assert.deepEqual(
      stats.nodes.filter((n: { leader: boolean }) => n.leader).map((n: { node: string }) => n.node),
      leaders,
    );
    // Metrics carry the node, and say which one leads.
    const text = await fetch(`http://127.0.0.1:${c.nodes[1]?.hub.port}/metrics`).then((r) => r.text());
    assert.match(text, /halyard_cluster_leader\{node="node2"\} [01]/);
    assert.match(text, /\{[^}]*node="node2"[^}]*\}/);
  });

  it('commands made on each node reach devices held by the other nodes and come back succeeded', async () => {
    const held = await owners();
    await Promise.all(
      c.nodes.map(async (n, via) => {
        const others = devices.filter((d) => held.get(d.id) !== n.id).slice(0, 20);
        assert.ok(new Set(others.map((d) => held.get(d.id))).size === 2, 'devices of both other nodes');
        for (const d of others) {
          const r = await (direct[via] as Api).post(`/devices/${d.id}/commands?wait=20`, { name: 'ping', params: { from: n.id } });
          assert.equal(r.status, 201, JSON.stringify(r.body));
          assert.equal(r.body.state, 'succeeded', `${n.id} -> ${d.id} (on ${held.get(d.id)})`);
          assert.ok(d.executed.has(r.body.id));
        }
      }),
    );
  });

  it('an MQTT client on node 1 receives telemetry of devices on nodes 2 and 3', async () => {
    await lb.post('/integrators', { username: 'watcher', password: 'watcher-password-1' });
    const held = await owners();
    const elsewhere = ['node2', 'node3'].map((node) => devices.find((d) => held.get(d.id) === node) as ReliableDevice);
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${c.nodes[0]?.hub.mqttPort}`, {
      username: 'watcher',
      password: 'watcher-password-1',
      reconnectPeriod: 0,
    });
    try {
      const seen = new Map<string, number>();
      client.on('message', (topic) => seen.set(topic, (seen.get(topic) ?? 0) + 1));
      await client.subscribeAsync('halyard/devices/+/telemetry', { qos: 0 });
      const count = (d: ReliableDevice) => seen.get(`halyard/devices/${d.id}/telemetry`) ?? 0;
      for (const d of elsewhere) d.telemetry([{ n: 'v', v: d.seq + 1 }]);
      await eventually(() => elsewhere.every((d) => count(d) >= 1), 'telemetry of devices on node2 and node3 on node1', 15_000);
      // Once each, not once per node: a second frame each, then exactly two each.
      for (const d of elsewhere) d.telemetry([{ n: 'v', v: d.seq + 1 }]);
      await eventually(() => elsewhere.every((d) => count(d) >= 2), 'the second frames', 15_000);
      assert.deepEqual(elsewhere.map(count), [2, 2]);
    } finally {
      await client.endAsync();
    }
  });

  it('kill -9 of the leader under load: devices move within 10 s, leader work moves, nothing lost or doubled', async () => {
    const before = await leader();
    const victim = c.nodes.findIndex((n) => n.id === before);
    assert.ok(victim >= 0, `a leader among the nodes (${before})`);
    const held = await owners();
    const theirs = devices.filter((d) => held.get(d.id) === before);
    // A few of its devices will not come back (their network is gone): shown offline once the lease lapses.
    const lost = theirs.slice(0, 5);
    const moving = theirs.slice(5);
    startLoad(1_000);
    // Commands in flight to the victim's devices, made on every node.
    for (const [k, d] of moving.slice(0, 30).entries()) await command(k % 3, d.id, 'in-flight');
    for (const d of lost) {
      d.setUrl('ws://127.0.0.1:1');
      gone.add(d);
    }
    const killedAt = performance.now();
    await c.kill(victim);
    const survivors = c.nodes.filter((_, i) => i !== victim).map((n) => n.id);
    await eventually(
      async () => {
        const o = await owners();
        return moving.every((d) => d.isOnline && survivors.includes(o.get(d.id) ?? ''));
      },
      `the ${moving.length} devices of ${before} to reconnect to the others`,
      10_000,
    );
    const movedMs = performance.now() - killedAt;
    // More commands while the fleet settles, made on the survivors.
    const survivorIndexes = [0, 1, 2].filter((i) => i !== victim);
    for (const [k, d] of moving.slice(30, 60).entries()) await command(survivorIndexes[k % 2] as number, d.id, 'after-kill');
    await eventually(async () => {
      const l = await leader();
      return l !== undefined && l !== before && survivors.includes(l);
    }, 'another node to lead');
    // The dead node drops off the Hub page's list; the new leader shows as one.
    await eventually(
      async () => {
        const nodes: { node: string; leader: boolean }[] = (await lb.get('/hub/stats')).body.nodes ?? [];
        return (
          nodes.map((n) => n.node).join() === survivors.join() &&
          nodes.filter((n) => n.leader).length === 1 &&
          nodes.some((n) => n.leader && n.node !== before)
        );
      },
      'the hub stats without the dead node, with the new leader',
      15_000,
    );
    clearInterval(load);
    await assertNothingLost('after kill -9');
    const other = direct[survivorIndexes[0] as number] as Api;
    await eventually(
      async () => {
        const states = await Promise.all(lost.map(async (d) => (await other.get(`/devices/${d.id}`)).body.online));
        return states.every((s) => s === false);
      },
      "the dead node's unreturned devices offline after the lease",
      LEASE_LAPSE_MS,
    );
    for (const d of lost) d.stop();
    console.log(`# kill -9 of ${before}: its ${moving.length} devices reconnected elsewhere in ${Math.round(movedMs)} ms`);
  });

  it('PostgreSQL restarted under load: nodes degrade, recover, and lose nothing acknowledged', async () => {
    const alive = c.nodes.map((n, i) => (n.alive ? i : -1)).filter((i) => i >= 0);
    startLoad(1_000);
    const during = await watchHealth(alive, () => c.pg.restart());
    // Degraded as documented: 503 naming storage, PostgreSQL unreachable in the cluster part.
    assert.ok(
      during.some((h) => h.status === 503 && h.body.cluster?.postgres?.up === false),
      `a node said PostgreSQL was away (${during.length} answers)`,
    );
    await eventually(
      async () => (await Promise.all(alive.map(async (i) => (await health(i)).status))).every((s) => s === 200),
      'every node healthy again',
      60_000,
    );
    for (const [k, i] of alive.entries())
      await command(i, (devices.filter((d) => !gone.has(d))[k * 7] as ReliableDevice).id, 'after-pg-restart');
    clearInterval(load);
    await eventually(async () => (await leader()) !== undefined, 'a leader again');
    await assertNothingLost('after a PostgreSQL restart');
  });

  it('Redis restarted under load: nodes reconnect, commands still cross nodes, nothing acknowledged lost', async () => {
    const alive = c.nodes.map((n, i) => (n.alive ? i : -1)).filter((i) => i >= 0);
    startLoad(1_000);
    const during = await watchHealth(alive, () => c.redis.restart());
    assert.ok(
      during.some((h) => h.status === 503 && h.body.cluster?.redis?.up === false),
      `a node said Redis was away (${during.length} answers)`,
    );
    await eventually(
      async () => (await Promise.all(alive.map(async (i) => (await health(i)).body.cluster?.redis?.up))).every((u) => u === true),
      'every node back on Redis',
      60_000,
    );
    // The leases come back as devices renew them (the restart emptied Redis).
    const held = await eventually(
      async () => {
        const o = await owners();
        return devices.filter((d) => d.isOnline).every((d) => o.get(d.id) !== '') && o;
      },
      'leases re-announced',
      60_000,
    );
    for (const i of alive) {
      const d = devices.find((x) => x.isOnline && held.get(x.id) !== c.nodes[i]?.id) as ReliableDevice;
      const r = await (direct[i] as Api).post(`/devices/${d.id}/commands?wait=20`, { name: 'after-redis-restart' });
      assert.equal(r.body.state, 'succeeded', JSON.stringify(r.body));
      created.push(r.body.id);
    }
    clearInterval(load);
    await assertNothingLost('after a Redis restart');
  });
});
