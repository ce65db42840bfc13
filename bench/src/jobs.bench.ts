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
import { startFleet } from '@halyard/device-sim';
import { type BenchRow, parseBenchArgs, report, size } from '../../scripts/bench-lib.js';
import { login, procUsage, scrapeLagMs, seedDevices, sleep, startHub } from './lib.js';
import { baselineOta, type Device, fleetOn, mb, otaExtra, sampleUsage, tokensOf, uploadImage } from './ota.js';

const args = parseBenchArgs();
const DEVICES = size(args, 1_000, 200, 10);
const SIZE = size(args, 4 * 1_048_576, 1_048_576, 65_536);
const PINGS = size(args, 5_000, 1_000, 20);

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
  const firmware = await uploadImage(hub.port, await login(hub.port), SIZE);
  const { fleet, updated } = await fleetOn(`ws://127.0.0.1:${hub.port}`, devices);
  await scrapeLagMs(hub.port); // resets the lag window: only the job counts
  const stopSampling = sampleUsage(hub.child.pid);
  const t0 = performance.now();
  const job = (await a.call('POST', '/jobs', {
    action: { type: 'update', firmware },
    selection: {},
    rollout: { maxInProgress: devices.length },
  })) as { id: string };
  await updated;
  const end = await until(a, job.id);
  const seconds = (performance.now() - t0) / 1000;
  const { before, peak } = stopSampling();
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
const baseSeconds = await baselineOta(devices, SIZE);
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
    extra: otaExtra(f, DEVICES, SIZE, baseSeconds),
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
