// Benchmark scenario: fleet jobs (docs/jobs.md). (1) One firmware job, every device
// in progress at once, sends a 4 MiB image to 1,000 simulated devices (device-sim,
// in this process, verifying every byte); the time runs from the job's creation to
// the job `completed` (every device back on the new version, decided from its
// HELLO). Baseline: the same devices pulling the same image from a bare ws server
// that serves it from memory (baseline-ota.ts). Reported with throughput, the hub's
// RSS before and at its peak (an image per device in memory would show), CPU and
// event-loop lag. (2) A command job (`ping`) to 5,000 devices, at most 500 in
// progress: devices per second until completed, against the same pings created one
// HTTP request per device.

import { rmSync } from 'node:fs';
import { type Fleet, startFleet } from '@halyard/device-sim';
import { type BenchRow, parseBenchArgs, report, size } from '../../scripts/bench-lib.js';
import { firmwareImage } from './firmware-image.js';
import { Child, login, procUsage, scrapeLagMs, seedDevices, startHub } from './lib.js';

const args = parseBenchArgs();
const DEVICES = size(args, 1_000, 200, 10);
const SIZE = size(args, 4 * 1_048_576, 1_048_576, 65_536);
const PINGS = size(args, 5_000, 1_000, 20);
const VERSION = '9.0.0';
const BASELINE_OTA = new URL('../../bench/dist/src/baseline-ota.js', import.meta.url).pathname;
const mb = (bytes: number) => Math.round(bytes / 1e5) / 10;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Device = { id: string; token: string };

/** Starts the fleet against `url`; resolves once every device is online, with a promise of all of them back on VERSION. */
async function fleetOn(url: string, devices: Device[]): Promise<{ fleet: Fleet; updated: Promise<void> }> {
  const fleet = startFleet({ hub: url, devices, profile: 'relay', rate: 0.05, rampMs: 2_000, seed: 3 });
  let online = 0;
  let back = 0;
  let allBack = () => {};
  const updated = new Promise<void>((resolve) => {
    allBack = resolve;
  });
  await new Promise<void>((resolve) =>
    fleet.events.on('online', (e) => {
      if (e.fw === VERSION) {
        if (++back === devices.length) allBack();
      } else if (++online === devices.length) resolve();
    }),
  );
  return { fleet, updated };
}

function tokensOf(seeded: { tokens: string[] }): Device[] {
  return seeded.tokens.map((token) => ({ id: token.slice(0, token.lastIndexOf('.')), token }));
}

async function baselineOta(devices: Device[]): Promise<number> {
  const server = new Child([BASELINE_OTA, String(SIZE), VERSION]);
  const port = (await server.next((m) => m.event === 'listening')).port as number;
  const { fleet, updated } = await fleetOn(`ws://127.0.0.1:${port}`, devices);
  const t0 = performance.now();
  server.send({ cmd: 'offer' });
  await updated;
  const seconds = (performance.now() - t0) / 1000;
  await fleet.stop();
  await server.stop();
  return seconds;
}

interface Api {
  call(method: string, path: string, body?: unknown): Promise<Record<string, unknown>>;
}

function api(port: number, token: string): Api {
  const base = `http://127.0.0.1:${port}/api/v1`;
  return {
    async call(method, path, body) {
      const r = await fetch(`${base}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
      return (await r.json()) as Record<string, unknown>;
    },
  };
}

/** Polls the job until it is over; returns its counts. */
async function until(a: Api, id: string): Promise<{ state: string; counts: Record<string, number> }> {
  for (;;) {
    const j = (await a.call('GET', `/jobs/${id}`)) as { state: string; counts: Record<string, number> };
    if (j.state !== 'running' && j.state !== 'waiting') return j;
    await sleep(100);
  }
}

async function firmwareJob(dir: string, devices: Device[]) {
  const hub = await startHub(dir);
  const a = api(hub.port, await login(hub.port));
  const up = await fetch(`http://127.0.0.1:${hub.port}/api/v1/firmware?model=sim-relay&version=${VERSION}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${await login(hub.port)}`, 'content-type': 'application/octet-stream' },
    body: firmwareImage(SIZE),
  });
  if (up.status !== 201) throw new Error(`upload: ${up.status} ${await up.text()}`);
  const firmware = ((await up.json()) as { id: string }).id;
  const { fleet, updated } = await fleetOn(`ws://127.0.0.1:${hub.port}`, devices);
  await scrapeLagMs(hub.port); // resets the lag window: only the job counts
  const before = procUsage(hub.child.pid);
  let peak = before.rssBytes;
  const sampler = setInterval(() => {
    peak = Math.max(peak, procUsage(hub.child.pid).rssBytes);
  }, 100);
  const t0 = performance.now();
  const job = (await a.call('POST', '/jobs', {
    action: { type: 'update', firmware },
    selection: {},
    rollout: { maxInProgress: devices.length },
  })) as { id: string };
  await updated;
  const end = await until(a, job.id);
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  const lagMs = await scrapeLagMs(hub.port);
  const cpuSeconds = procUsage(hub.child.pid).cpuSeconds - before.cpuSeconds;
  await fleet.stop();
  await hub.child.stop();
  return { seconds, succeeded: end.counts.succeeded ?? 0, lagMs, cpuSeconds, rssBefore: before.rssBytes, rssPeak: peak };
}

/** The ping job, then (baseline) the same pings one API request each on the same hub and devices. */
async function commandJob(dir: string, devices: Device[]) {
  const hub = await startHub(dir);
  const a = api(hub.port, await login(hub.port));
  const fleet = startFleet({ hub: `ws://127.0.0.1:${hub.port}`, devices, profile: 'relay', rate: 0.001, seed: 5 });
  for (;;) {
    if (((await a.call('GET', '/devices?status=online&limit=1')) as { total: number }).total === devices.length) break;
    await sleep(100);
  }
  await scrapeLagMs(hub.port);
  const t0 = performance.now();
  const job = (await a.call('POST', '/jobs', {
    action: { type: 'command', name: 'ping', ttl: '10m', timeout: '1m' },
    selection: {},
    rollout: { maxInProgress: 500 },
  })) as { id: string };
  const end = await until(a, job.id);
  const jobSeconds = (performance.now() - t0) / 1000;
  const lagMs = await scrapeLagMs(hub.port);
  // Baseline: 500 requests in flight at a time, each `?wait` for its result.
  const t1 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 500 }, async () => {
      while (next < devices.length) {
        const d = devices[next++] as Device;
        await a.call('POST', `/devices/${d.id}/commands?wait=60`, { name: 'ping' });
      }
    }),
  );
  const baseSeconds = (performance.now() - t1) / 1000;
  await fleet.stop();
  await hub.child.stop();
  return { jobSeconds, baseSeconds, succeeded: end.counts.succeeded ?? 0, lagMs };
}

const seeded = seedDevices(DEVICES);
const devices = tokensOf(seeded);
const baseSeconds = await baselineOta(devices);
const f = await firmwareJob(seeded.dir, devices);
rmSync(seeded.dir, { recursive: true, force: true });
const pingSeed = seedDevices(PINGS);
const c = await commandJob(pingSeed.dir, tokensOf(pingSeed));
rmSync(pingSeed.dir, { recursive: true, force: true });

const rows: BenchRow[] = [
  {
    scenario: 'jobs',
    case: `firmware job: ${DEVICES} devices at once, a ${mb(SIZE)} MB image: time to the job completed`,
    value: Math.round(f.seconds * 10) / 10,
    unit: 's',
    baseline: 'the same devices from a bare ws server, image in memory',
    baselineValue: Math.round(baseSeconds * 10) / 10,
    extra: {
      succeeded: f.succeeded,
      throughputMBps: mb((DEVICES * SIZE) / f.seconds),
      baselineMBps: mb((DEVICES * SIZE) / baseSeconds),
      hubRssBeforeMB: mb(f.rssBefore),
      hubRssPeakMB: mb(f.rssPeak),
      hubCpuSeconds: Math.round(f.cpuSeconds * 10) / 10,
      lagMaxMs: f.lagMs,
    },
  },
  {
    scenario: 'jobs',
    case: `command job: ping to ${PINGS} devices, at most 500 in progress: devices per second`,
    value: Math.round(PINGS / c.jobSeconds),
    unit: 'devices/s',
    baseline: 'the same pings, one HTTP request each, 500 in flight, ?wait for each result',
    baselineValue: Math.round(PINGS / c.baseSeconds),
    extra: { succeeded: c.succeeded, jobSeconds: Math.round(c.jobSeconds * 10) / 10, lagMaxMs: c.lagMs },
  },
];
report(rows, args);
if (f.succeeded !== DEVICES || c.succeeded !== PINGS) {
  console.error(`firmware job: ${f.succeeded}/${DEVICES} succeeded; command job: ${c.succeeded}/${PINGS}`);
  process.exit(1);
}
