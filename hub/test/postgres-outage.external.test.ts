// PostgreSQL going away while devices stream to a hub process (--store postgres://),
// against a server of the test's own with fsync on: a fast restart, then a crash
// (SIGKILL) and restart. Each time /healthz turns 503 naming the outage and back to
// 200, the hub logs one line each way, and in the end every acknowledged frame is
// stored exactly once. And a hub started while the server is unreachable says so
// and exits non-zero (docs/architecture.md: a supervisor restarts it).

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startBlackholeProxy } from './helpers/blackhole-proxy.js';
import { eventually } from './helpers/eventually.js';
import { freePort } from './helpers/free-port.js';
import { Api } from './helpers/hub.js';
import { startPostgres, type TestDatabase, type TestPostgres } from './helpers/postgres.js';
import { type HubProcess, runHub, spawnHub } from './helpers/process.js';
import { seededRandom, testSeed } from './helpers/random.js';
import { ReliableDevice } from './helpers/reliable-device.js';

const DEVICES = 10;
const PASSWORD = 'outage-test-password';
const SEED = testSeed(0x0a7a);

async function health(http: string): Promise<{ status: number; problems: string[] }> {
  const r = await fetch(`${http}/healthz`);
  return { status: r.status, problems: ((await r.json()) as { problems: string[] }).problems };
}

/** The hub's storage state lines, up to their colon. */
function storageLines(hub: HubProcess): string[] {
  return hub.stdout
    .map((l) => {
      try {
        return String((JSON.parse(l) as { msg?: unknown }).msg);
      } catch {
        return '';
      }
    })
    .filter((m) => /^storage (unreachable|reachable again)/.test(m))
    .map((m) => m.split(':')[0] as string);
}

describe('PostgreSQL outages under a streaming hub', () => {
  const dir = mkdtempSync(join(tmpdir(), 'halyard-pg-outage-'));
  let server: TestPostgres;
  let db: TestDatabase;
  before(async () => {
    server = await startPostgres({ fsync: true });
    db = await server.newDatabase();
  });
  after(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it(`restart and crash of PostgreSQL: 503 and back, one line each way, every acknowledged frame once (seed ${SEED})`, async (t) => {
    if (server.external) return t.skip('HALYARD_TEST_PG_URL: not our own server');
    const random = seededRandom(SEED);
    const hub = await spawnHub(['--data-dir', dir, '--store', db.url, '--admin-password', PASSWORD]);
    const http = `http://127.0.0.1:${hub.port}`;
    const api = new Api(http);
    await api.login('admin', PASSWORD);
    const devices: ReliableDevice[] = [];
    for (let i = 0; i < DEVICES; i++)
      devices.push(new ReliableDevice(`outage-${i}`, await api.provision(`outage-${i}`), `ws://127.0.0.1:${hub.port}`, random));
    for (const d of devices) d.start();
    await eventually(async () => devices.every((d) => d.isOnline), 'devices online');
    let n = 0;
    let streaming = true;
    const stream = (async () => {
      while (streaming) {
        n++;
        for (const d of devices) d.telemetry([{ n: 'v', v: n, t: n / 1000 - 1e6 }]);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const figures: string[] = [];
    try {
      for (const fault of ['restart', 'kill'] as const) {
        const acked = devices.map((d) => d.ackedMax);
        await eventually(async () => devices.every((d, i) => d.ackedMax > (acked[i] as number) + 20), 'streaming acknowledged');
        const linesBefore = storageLines(hub).length;
        if (fault === 'kill') await server.kill();
        const restart = server.restart();
        const down = await eventually(async () => {
          const h = await health(http);
          return h.status === 503 && h.problems.some((p) => /storage is unreachable since .*postgres/.test(p)) ? h : undefined;
        }, '/healthz names the outage');
        await restart;
        const back = performance.now();
        await eventually(async () => ((await health(http)).status === 200 ? true : undefined), '/healthz healthy again', 30_000);
        const healthyMs = performance.now() - back;
        const ackedAt = devices.map((d) => d.ackedMax);
        await eventually(async () => devices.every((d, i) => d.ackedMax > (ackedAt[i] as number)), 'ACKs resume', 30_000);
        const resumedMs = performance.now() - back;
        assert.deepEqual(storageLines(hub).slice(linesBefore), ['storage unreachable', 'storage reachable again'], 'one line each way');
        figures.push(
          `${fault}: 503 "${down.problems[0]}"; healthy ${Math.round(healthyMs)} ms and ACKs resumed ${Math.round(resumedMs)} ms after the server was back`,
        );
      }
    } finally {
      streaming = false;
      await stream;
    }
    await eventually(async () => devices.every((d) => d.outbox.size === 0), 'every frame acknowledged', 30_000);
    for (const d of devices) {
      const r = await api.get(`/devices/${d.id}/telemetry?name=v&from=0&limit=100000`);
      const values: number[] = r.body.series[0].points.map((p: { v: number }) => p.v);
      assert.equal(new Set(values).size, values.length, `${d.id}: no frame stored twice`);
      assert.equal(values.length, d.seq, `${d.id}: every frame stored`);
    }
    for (const f of figures) t.diagnostic(f);
    t.diagnostic(`${devices.reduce((a, d) => a + d.seq, 0)} frames from ${DEVICES} devices: lost 0, duplicates 0`);
    for (const d of devices) d.stop();
    hub.proc.kill('SIGTERM');
    await hub.exited;
  });

  it(`a host that stops answering (no TCP answer): 503 with the reason, one line each way, back when it answers, every acknowledged frame once (seed ${SEED})`, async (t) => {
    const random = seededRandom(SEED + 1);
    const dark = await server.newDatabase();
    const target = new URL(dark.url);
    const proxy = await startBlackholeProxy({ host: target.hostname, port: Number(target.port) });
    const viaProxy = new URL(dark.url);
    viaProxy.port = String(proxy.port);
    const hubDir = mkdtempSync(join(tmpdir(), 'halyard-pg-blackhole-'));
    const hub = await spawnHub(['--data-dir', hubDir, '--store', viaProxy.toString(), '--admin-password', PASSWORD]);
    const http = `http://127.0.0.1:${hub.port}`;
    const api = new Api(http);
    const devices: ReliableDevice[] = [];
    let streaming = true;
    let stream: Promise<void> | undefined;
    try {
      await api.login('admin', PASSWORD);
      for (let i = 0; i < DEVICES; i++)
        devices.push(new ReliableDevice(`dark-${i}`, await api.provision(`dark-${i}`), `ws://127.0.0.1:${hub.port}`, random));
      for (const d of devices) d.start();
      await eventually(async () => devices.every((d) => d.isOnline), 'devices online');
      let n = 0;
      stream = (async () => {
        while (streaming) {
          n++;
          for (const d of devices) d.telemetry([{ n: 'v', v: n, t: n / 1000 - 1e6 }]);
          await new Promise((r) => setTimeout(r, 5));
        }
      })();
      const acked = devices.map((d) => d.ackedMax);
      await eventually(async () => devices.every((d, i) => d.ackedMax > (acked[i] as number) + 20), 'streaming acknowledged');
      const linesBefore = storageLines(hub).length;
      proxy.blackhole();
      const wentDark = performance.now();
      // Nothing fails at once: the batches in flight wait for an answer until their statement timeout (10 s).
      const down = await eventually(
        async () => {
          const h = await health(http);
          return h.status === 503 && h.problems.some((p) => /storage is unreachable since .*postgres/.test(p)) ? h : undefined;
        },
        '/healthz names the outage',
        30_000,
      );
      const reportedMs = performance.now() - wentDark;
      assert.match(down.problems.join(' '), /timeout|terminated/i, 'the reason says the server did not answer');
      // The load balancer's check takes this hub out too (deploy/haproxy.cfg checks /readyz).
      const ready = await fetch(`${http}/readyz`);
      assert.equal(ready.status, 503);
      assert.match(((await ready.json()) as { problems: string[] }).problems.join(' '), /storage is unreachable since .*postgres/);
      const ackedDark = devices.map((d) => d.ackedMax);
      await new Promise((r) => setTimeout(r, 1_000));
      assert.deepEqual(
        devices.map((d) => d.ackedMax),
        ackedDark,
        'nothing acknowledged while the server cannot be reached',
      );
      proxy.restore();
      const back = performance.now();
      await eventually(async () => ((await health(http)).status === 200 ? true : undefined), '/healthz healthy again', 30_000);
      const healthyMs = performance.now() - back;
      assert.equal((await fetch(`${http}/readyz`)).status, 200, '/readyz ready again');
      await eventually(async () => devices.every((d, i) => d.ackedMax > (ackedDark[i] as number)), 'ACKs resume', 30_000);
      assert.deepEqual(storageLines(hub).slice(linesBefore), ['storage unreachable', 'storage reachable again'], 'one line each way');
      streaming = false;
      await stream;
      await eventually(async () => devices.every((d) => d.outbox.size === 0), 'every frame acknowledged', 30_000);
      for (const d of devices) {
        const r = await api.get(`/devices/${d.id}/telemetry?name=v&from=0&limit=100000`);
        const values: number[] = r.body.series[0].points.map((p: { v: number }) => p.v);
        assert.equal(new Set(values).size, values.length, `${d.id}: no frame stored twice`);
        assert.equal(values.length, d.seq, `${d.id}: every frame stored`);
      }
      t.diagnostic(
        `blackhole: 503 "${down.problems[0]}" ${Math.round(reportedMs)} ms after the host went dark; healthy ${Math.round(healthyMs)} ms after it answered again`,
      );
    } finally {
      streaming = false;
      await stream;
      for (const d of devices) d.stop();
      hub.proc.kill('SIGTERM');
      await hub.exited;
      await proxy.close();
      await dark.drop();
      rmSync(hubDir, { recursive: true, force: true });
    }
  });

  it('unreachable at start: says so and exits non-zero', async () => {
    const port = await freePort();
    const started = performance.now();
    const r = await runHub([
      '--port',
      '0',
      '--mqtt-port',
      '0',
      '--data-dir',
      dir,
      '--store',
      `postgres://hub:very-secret-pw@127.0.0.1:${port}/halyard`,
      '--log-format',
      'json',
    ]);
    assert.notEqual(r.code, 0);
    const out = r.stdout + r.stderr;
    assert.match(out, /PostgreSQL server is unreachable/);
    assert.doesNotMatch(out, /very-secret-pw/);
    assert.ok(performance.now() - started < 15_000, 'at once, not after a hang');
  });
});
