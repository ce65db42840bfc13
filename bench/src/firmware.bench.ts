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
import { type BenchRow, parseBenchArgs, report, size } from '../../scripts/bench-lib.js';
import { login, procUsage, scrapeLagMs, seedDevices, startHub } from './lib.js';
import { baselineOta, fleetOn, mb, otaExtra, sampleUsage, tokensOf, uploadImage } from './ota.js';

const args = parseBenchArgs();
const DEVICES = size(args, 1_000, 200, 10);
const SIZE = size(args, 4 * 1_048_576, 1_048_576, 65_536);

const seeded = seedDevices(DEVICES);
const devices = tokensOf(seeded);

async function hubRun() {
  const hub = await startHub(seeded.dir);
  const token = await login(hub.port);
  const base = `http://127.0.0.1:${hub.port}/api/v1`;
  const auth = { authorization: `Bearer ${token}` };
  const firmware = await uploadImage(hub.port, token, SIZE);
  const { fleet, updated } = await fleetOn(`ws://127.0.0.1:${hub.port}`, devices);
  await scrapeLagMs(hub.port); // resets the lag window: only the update counts
  const stopSampling = sampleUsage(hub.child.pid);
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
  const { before, peak } = stopSampling();
  const lagMs = await scrapeLagMs(hub.port);
  const cpuSeconds = procUsage(hub.child.pid).cpuSeconds - before.cpuSeconds;
  await fleet.stop();
  await hub.child.stop();
  return { seconds, succeeded, lagMs, cpuSeconds, rssBefore: before.rssBytes, rssPeak: peak };
}

const baseSeconds = await baselineOta(devices, SIZE);
const h = await hubRun();
rmSync(seeded.dir, { recursive: true, force: true });
const rows: BenchRow[] = [
  {
    scenario: 'firmware',
    case: `${DEVICES} devices, a ${mb(SIZE)} MB image at once: time to all succeeded`,
    value: Math.round(h.seconds * 10) / 10,
    unit: 's',
    baseline: 'the same devices from a bare ws server, image in memory',
    baselineValue: Math.round(baseSeconds * 10) / 10,
    extra: otaExtra(h, DEVICES, SIZE, baseSeconds),
  },
];
report(rows, args);
if (h.succeeded !== DEVICES) {
  console.error(`${DEVICES - h.succeeded} updates did not succeed`);
  process.exit(1);
}
