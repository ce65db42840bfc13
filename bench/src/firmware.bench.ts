// Benchmark scenario: a firmware image to a fleet at once (SPEC.md §12,
// docs/firmware.md). N simulated devices (device-sim, in this process, verifying the
// SHA-256 of every byte as firmware does) are connected; the operator starts an
// update of each through the API; the time runs until every device is back running
// the new version and the hub says `succeeded` for all of them. Beside it, the same
// devices pulling the same image from a bare ws server that serves it from memory
// (baseline-ota.ts): what the simulator and the machine allow without a hub.
// Reported with the hub's RSS (before and at its peak: memory must not grow with an
// image per device), CPU and event-loop lag.

import { rmSync } from 'node:fs';
import { type Fleet, startFleet } from '@halyard/device-sim';
import { type BenchRow, parseBenchArgs, report, size } from '../../scripts/bench-lib.js';
import { firmwareImage } from './firmware-image.js';
import { Child, login, procUsage, scrapeLagMs, seedDevices, startHub } from './lib.js';

const args = parseBenchArgs();
const DEVICES = size(args, 1_000, 200, 10);
const SIZE = size(args, 4 * 1_048_576, 1_048_576, 65_536);
const VERSION = '9.0.0';
const BASELINE_OTA = new URL('../../bench/dist/src/baseline-ota.js', import.meta.url).pathname;

const seeded = seedDevices(DEVICES);
const devices = seeded.tokens.map((token) => ({ id: token.slice(0, token.lastIndexOf('.')), token }));

/** Starts the fleet against `url`; resolves once every device is online, with a promise of all of them back on VERSION. */
async function fleetOn(url: string): Promise<{ fleet: Fleet; updated: Promise<void> }> {
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
        if (++back === DEVICES) allBack();
      } else if (++online === DEVICES) resolve();
    }),
  );
  return { fleet, updated };
}

async function baseline(): Promise<number> {
  const server = new Child([BASELINE_OTA, String(SIZE), VERSION]);
  const port = (await server.next((m) => m.event === 'listening')).port as number;
  const { fleet, updated } = await fleetOn(`ws://127.0.0.1:${port}`);
  const t0 = performance.now();
  server.send({ cmd: 'offer' });
  await updated;
  const seconds = (performance.now() - t0) / 1000;
  await fleet.stop();
  await server.stop();
  return seconds;
}

async function hubRun() {
  const hub = await startHub(seeded.dir);
  const token = await login(hub.port);
  const base = `http://127.0.0.1:${hub.port}/api/v1`;
  const auth = { authorization: `Bearer ${token}` };
  const up = await fetch(`${base}/firmware?model=sim-relay&version=${VERSION}`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/octet-stream' },
    body: firmwareImage(SIZE),
  });
  if (up.status !== 201) throw new Error(`upload: ${up.status} ${await up.text()}`);
  const firmware = ((await up.json()) as { id: string }).id;
  const { fleet, updated } = await fleetOn(`ws://127.0.0.1:${hub.port}`);
  await scrapeLagMs(hub.port); // resets the lag window: only the update counts
  const before = procUsage(hub.child.pid);
  let peak = before.rssBytes;
  const sampler = setInterval(() => {
    peak = Math.max(peak, procUsage(hub.child.pid).rssBytes);
  }, 100);
  const t0 = performance.now();
  const ids: string[] = [];
  for (const d of devices) {
    const r = await fetch(`${base}/devices/${d.id}/update`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ firmware }),
    });
    if (r.status !== 201) throw new Error(`update ${d.id}: ${r.status} ${await r.text()}`);
    ids.push(((await r.json()) as { id: string }).id);
  }
  await updated;
  // Every update succeeded in the hub's books (decided from each device's HELLO).
  let succeeded = 0;
  for (;;) {
    succeeded = 0;
    for (const id of ids)
      if (((await (await fetch(`${base}/updates/${id}`, { headers: auth })).json()) as { state: string }).state === 'succeeded')
        succeeded++;
    if (succeeded === DEVICES || performance.now() - t0 > 600_000) break;
  }
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  const lagMs = await scrapeLagMs(hub.port);
  const cpuSeconds = procUsage(hub.child.pid).cpuSeconds - before.cpuSeconds;
  await fleet.stop();
  await hub.child.stop();
  return { seconds, succeeded, lagMs, cpuSeconds, rssBefore: before.rssBytes, rssPeak: peak };
}

const baseSeconds = await baseline();
const h = await hubRun();
rmSync(seeded.dir, { recursive: true, force: true });
const mb = (bytes: number) => Math.round(bytes / 1e5) / 10;
const rows: BenchRow[] = [
  {
    scenario: 'firmware',
    case: `${DEVICES} devices, a ${mb(SIZE)} MB image at once: time to all succeeded`,
    value: Math.round(h.seconds * 10) / 10,
    unit: 's',
    baseline: 'the same devices from a bare ws server, image in memory',
    baselineValue: Math.round(baseSeconds * 10) / 10,
    extra: {
      succeeded: h.succeeded,
      throughputMBps: mb((DEVICES * SIZE) / h.seconds),
      baselineMBps: mb((DEVICES * SIZE) / baseSeconds),
      hubRssBeforeMB: mb(h.rssBefore),
      hubRssPeakMB: mb(h.rssPeak),
      hubCpuSeconds: Math.round(h.cpuSeconds * 10) / 10,
      lagMaxMs: h.lagMs,
    },
  },
];
report(rows, args);
if (h.succeeded !== DEVICES) {
  console.error(`${DEVICES - h.succeeded} updates did not succeed`);
  process.exit(1);
}
