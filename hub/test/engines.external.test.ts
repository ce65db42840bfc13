// The engine helpers the PostgreSQL store and cluster tests stand on: each engine
// starts, does real work, survives the faults the helpers offer (restart, kill),
// and leaves nothing behind. Start times are printed as diagnostics.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { type AddressInfo, connect, createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import pg from 'pg';
import { WebSocket, WebSocketServer } from 'ws';
import { eventually } from './helpers/eventually.js';
import { maxconnFor, startHaproxy, type TestHaproxy } from './helpers/haproxy.js';
import { startPostgres, type TestPostgres } from './helpers/postgres.js';
import { type HubProcess, spawnHub } from './helpers/process.js';
import { startRedis, type TestRedis } from './helpers/redis.js';

/** A client that reports connection loss as a value, not as an unhandled 'error' event. */
async function pgClient(url: string): Promise<{ client: pg.Client; errors: Error[] }> {
  const client = new pg.Client({ connectionString: url });
  const errors: Error[] = [];
  client.on('error', (err) => errors.push(err));
  await client.connect();
  return { client, errors };
}

describe('PostgreSQL (helpers/postgres.ts)', () => {
  let server: TestPostgres;

  before(async () => {
    server = await startPostgres();
  });
  after(async () => {
    await server?.stop();
  });

  it('starts, answers SQL, and gives each test a database of its own', async (t) => {
    t.diagnostic(server.external ? `HALYARD_TEST_PG_URL: ${server.adminUrl}` : `postgres started in ${server.startMs.toFixed(0)} ms`);
    const { client } = await pgClient(server.url);
    try {
      assert.deepEqual((await client.query('select 1 as one')).rows, [{ one: 1 }]);
      await client.query('create table device (id text primary key, seq bigint not null)');
      await client.query('insert into device values ($1, $2), ($3, $4)', ['d1', 7, 'd2', 9]);
      const rows = (await client.query<{ id: string; seq: string }>('select id, seq from device order by id')).rows;
      assert.deepEqual(rows, [
        { id: 'd1', seq: '7' },
        { id: 'd2', seq: '9' },
      ]);
    } finally {
      await client.end();
    }

    const t0 = performance.now();
    const other = await server.newDatabase();
    t.diagnostic(`a fresh database in ${(performance.now() - t0).toFixed(0)} ms`);
    const second = await pgClient(other.url);
    try {
      const seen = await second.client.query(`select count(*)::int as n from pg_tables where tablename = 'device'`);
      assert.equal(seen.rows[0].n, 0, 'a new database does not see the other database tables');
    } finally {
      await second.client.end();
    }
    await other.drop();
    const admin = await pgClient(server.adminUrl);
    try {
      const left = await admin.client.query('select 1 from pg_database where datname = $1', [other.name]);
      assert.equal(left.rowCount, 0, 'drop removed the database');
    } finally {
      await admin.client.end();
    }
  });

  it('restarts and recovers from a kill with committed rows intact', async (t) => {
    if (server.external) return t.skip('HALYARD_TEST_PG_URL: not our own server');
    const { client, errors } = await pgClient(server.url);
    await client.query('create table reading (n int)');
    await client.query('insert into reading values (1)');

    let t0 = performance.now();
    await server.restart();
    t.diagnostic(`postgres restarted in ${(performance.now() - t0).toFixed(0)} ms`);
    await eventually(async () => errors.length > 0, 'the open connection to notice the restart');
    await client.end().catch(() => {});

    const again = await pgClient(server.url);
    await again.client.query('insert into reading values (2)');
    await server.kill();
    await eventually(async () => again.errors.length > 0, 'the open connection to notice the kill');
    await again.client.end().catch(() => {});
    await assert.rejects(pgClient(server.url), 'nothing answers while it is down');

    t0 = performance.now();
    await server.restart();
    t.diagnostic(`postgres crash recovery and start in ${(performance.now() - t0).toFixed(0)} ms`);
    const after = await pgClient(server.url);
    try {
      assert.deepEqual((await after.client.query('select n from reading order by n')).rows, [{ n: 1 }, { n: 2 }]);
    } finally {
      await after.client.end();
    }
  });

  it('stop removes the server and its temp dir', async () => {
    await server.stop();
    if (server.dir !== undefined) assert.equal(existsSync(server.dir), false);
    await assert.rejects(pgClient(server.url));
  });
});

describe('Redis (helpers/redis.ts)', () => {
  let redis: TestRedis;
  const clients: Redis[] = [];
  const client = (): Redis => {
    // Quick retries: the restart below takes milliseconds.
    const c = new Redis(redis.url, { retryStrategy: (n) => Math.min(n * 50, 500) });
    c.on('error', () => {});
    clients.push(c);
    return c;
  };

  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    for (const c of clients) c.disconnect();
    await redis?.stop();
  });

  it('starts and does SET/GET and pub/sub', async (t) => {
    t.diagnostic(redis.external ? `HALYARD_TEST_REDIS_URL: ${redis.url}` : `redis-server started in ${redis.startMs.toFixed(0)} ms`);
    const c = client();
    await c.set(`${redis.prefix}own:d1`, 'node-a', 'PX', 10_000);
    assert.equal(await c.get(`${redis.prefix}own:d1`), 'node-a');

    const sub = client();
    const got: string[] = [];
    sub.on('message', (_channel: string, message: string) => got.push(message));
    await sub.subscribe(`${redis.prefix}deliver`);
    assert.equal(await c.publish(`${redis.prefix}deliver`, 'd1'), 1, 'one subscriber');
    await eventually(async () => got.includes('d1'), 'the published message');
    // Closed here, not left to reconnect through the next test's restarts (a command
    // they resend on reconnecting was rejected once the suite disconnected them).
    await Promise.all([c.quit(), sub.quit()]);
  });

  it('restarts empty on the same port, and clients reconnect', async (t) => {
    if (redis.external) return t.skip('HALYARD_TEST_REDIS_URL: not our own server');
    const c = client();
    await c.set(`${redis.prefix}k`, 'v');
    let readies = 0;
    c.on('ready', () => readies++);
    const t0 = performance.now();
    await redis.restart();
    t.diagnostic(`redis-server restarted in ${(performance.now() - t0).toFixed(0)} ms`);
    await eventually(async () => readies > 0 && c.status === 'ready', 'the client to reconnect');
    assert.equal(await c.get(`${redis.prefix}k`), null, 'no persistence: the restart is empty');

    await redis.kill();
    await eventually(async () => c.status !== 'ready', 'the client to notice the kill');
    await redis.restart();
    await eventually(async () => c.status === 'ready', 'the client to reconnect after the kill');
    assert.equal(await c.ping(), 'PONG');
  });

  it('stop removes the server and its temp dir', async () => {
    for (const c of clients.splice(0)) c.disconnect();
    await redis.stop();
    if (redis.dir !== undefined) assert.equal(existsSync(redis.dir), false);
  });
});

describe('HAProxy (helpers/haproxy.ts)', () => {
  let hub: HttpServer;
  let wss: WebSocketServer;
  let echo: TcpServer;
  let lb: TestHaproxy;
  const checks: { version: string; host: string | undefined }[] = [];

  before(async () => {
    // Stands in for a hub: /readyz as the proxy probes it, an API path, a WebSocket.
    hub = createHttpServer((req, res) => {
      if (req.url === '/readyz') checks.push({ version: req.httpVersion, host: req.headers.host });
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ path: req.url, forwardedFor: req.headers['x-forwarded-for'] ?? null }));
    });
    wss = new WebSocketServer({ server: hub, path: '/v1/device' });
    wss.on('connection', (ws) => ws.on('message', (m) => ws.send(m)));
    echo = createTcpServer((s) => s.pipe(s));
    await Promise.all([new Promise<void>((r) => hub.listen(0, '127.0.0.1', r)), new Promise<void>((r) => echo.listen(0, '127.0.0.1', r))]);
    lb = await startHaproxy({
      backends: [{ host: '127.0.0.1', port: (hub.address() as AddressInfo).port }],
      mqttBackends: [{ host: '127.0.0.1', port: (echo.address() as AddressInfo).port }],
    });
  });
  after(async () => {
    await lb?.stop();
    wss?.close();
    hub?.closeAllConnections();
    await new Promise((r) => hub?.close(r));
    await new Promise((r) => echo?.close(r));
  });

  it('starts, health-checks with HTTP/1.1 and a Host, and proxies HTTP, WebSocket and TCP', async (t) => {
    t.diagnostic(`haproxy started in ${lb.startMs.toFixed(0)} ms`);
    assert.match(lb.config, /timeout tunnel 1h/);
    const maxconn = Number(/maxconn (\d+)/.exec(lb.config)?.[1]);
    const limit = Number(execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }));
    assert.ok(maxconn > 0 && maxconn * 2 < limit, `maxconn ${maxconn} fits ${limit} descriptors`);
    assert.equal(maxconnFor(20_000), 9_900, 'half of a 20,000 descriptor limit, less a margin');
    assert.deepEqual(
      (await lb.servers()).map((s) => `${s.server} ${s.status}`),
      ['hub0 UP', 'mqtt0 UP'],
    );
    assert.deepEqual(checks[0], { version: '1.1', host: 'hub' });

    const res = await fetch(`http://127.0.0.1:${lb.httpPort}/api/v1/devices`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { path: '/api/v1/devices', forwardedFor: '127.0.0.1' });

    const ws = new WebSocket(`ws://127.0.0.1:${lb.httpPort}/v1/device`);
    const reply = await new Promise<string>((resolve, reject) => {
      ws.once('open', () => ws.send('hello'));
      ws.once('message', (m) => resolve(String(m)));
      ws.once('error', reject);
    });
    ws.close();
    assert.equal(reply, 'hello');

    const tcpReply = await new Promise<string>((resolve, reject) => {
      const s = connect(lb.mqttPort as number, '127.0.0.1', () => s.write('\x10\x00ping'));
      s.once('data', (d) => {
        s.destroy();
        resolve(d.toString('latin1'));
      });
      s.once('error', reject);
    });
    assert.equal(tcpReply, '\x10\x00ping');
  });

  it('marks a backend that stops answering DOWN', async () => {
    await new Promise((r) => {
      wss.close();
      hub.closeAllConnections();
      hub.close(r);
    });
    await lb.untilStatus('hub0', 'DOWN');
    assert.equal((await fetch(`http://127.0.0.1:${lb.httpPort}/api/v1/devices`)).status, 503);
  });

  it('stop removes the process and its temp dir', async () => {
    await lb.stop();
    assert.equal(existsSync(lb.dir), false);
    await assert.rejects(fetch(`http://127.0.0.1:${lb.httpPort}/`));
  });
});

describe('HAProxy in front of a real hub', () => {
  let dir: string;
  let hub: HubProcess;
  let lb: TestHaproxy;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'halyard-lb-hub-'));
    hub = await spawnHub(['--data-dir', dir, '--admin-password', 'engines-test-password']);
    lb = await startHaproxy({
      backends: [{ host: '127.0.0.1', port: hub.port }],
      mqttBackends: [{ host: '127.0.0.1', port: hub.mqttPort }],
    });
  });
  after(async () => {
    await lb?.stop();
    hub?.proc.kill('SIGTERM');
    await hub?.exited;
    rmSync(dir, { recursive: true, force: true });
  });

  it("passes the hub's /healthz check and reaches its API and MQTT port", async () => {
    assert.deepEqual(
      (await lb.servers()).map((s) => `${s.server} ${s.status}`),
      ['hub0 UP', 'mqtt0 UP'],
    );
    assert.equal((await fetch(`http://127.0.0.1:${lb.httpPort}/healthz`)).status, 200);
    assert.equal((await fetch(`http://127.0.0.1:${lb.httpPort}/api/v1/openapi.json`)).status, 200);
    // An MQTT 3.1.1 CONNECT without credentials: the hub's broker answers CONNACK (refused or not) through the proxy.
    const connack = await new Promise<Buffer>((resolve, reject) => {
      const connectPacket = Buffer.from([
        0x10, 0x0f, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x3c, 0x00, 0x03, 0x6c, 0x62, 0x31,
      ]);
      const s = connect(lb.mqttPort as number, '127.0.0.1', () => s.write(connectPacket));
      s.once('data', (d) => {
        s.destroy();
        resolve(d);
      });
      s.once('error', reject);
    });
    assert.equal(connack[0], 0x20, 'a CONNACK');
  });
});
