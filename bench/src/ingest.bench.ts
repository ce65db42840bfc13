// Benchmark scenario 1: ingest. N devices stream TELEMETRY; we find the highest
// rate the hub sustains with every frame acknowledged (ACK p99 under 100 ms, at
// least 97% of the offered rate acknowledged, found by raising the rate in steps),
// for 1-record and 10-record frames, beside baseline (a): a bare ws server that
// only decodes CBOR and counts, driven by the same load generator in the same run.

import { rmSync } from 'node:fs';
import { type BenchRow, parseBenchArgs, report, size } from '../../scripts/bench-lib.js';
import { bareRate, held, type Step, searchSustained } from './ingest-search.js';
import { seedDevices, startHub, startLoadgen } from './lib.js';

const args = parseBenchArgs();
const DEVICES = size(args, 1000, 200, 10);
const STEP_MS = size(args, 4_000, 1_000, 300);
/** The search's first rate, as a share of the bare server's, and the factor between steps (coarser when quick). */
const FIRST = size(args, 0.08, 0.15, 0.08);
const FACTOR = size(args, 1.25, 1.5, 1.25);
/** Rate steps at most before the search stops (tiny runs only check that it works). */
const MAX_STEPS = size(args, 30, 30, 3);
const WINDOW = 64;

async function hubRun(records: number, baseFrames: number): Promise<{ best: Step; max: Step; steps: Step[] }> {
  const seeded = seedDevices(DEVICES);
  const hub = await startHub(seeded.dir);
  const gen = await startLoadgen(hub.port, seeded.tokensFile, { records, window: WINDOW });
  await gen.request({ cmd: 'connect' }, 'connected');
  // Up from 8% of the bare server's rate in steps of 25% (from 15% in steps of 50% when quick).
  const r = await searchSustained(gen, hub.child.pid, hub.port, {
    stepMs: STEP_MS,
    firstRate: baseFrames * FIRST,
    factor: FACTOR,
    maxSteps: MAX_STEPS,
  });
  gen.send({ cmd: 'pause' });
  await gen.request({ cmd: 'stop' }, 'stopped');
  await hub.child.stop();
  rmSync(seeded.dir, { recursive: true, force: true });
  return r;
}

const rows: BenchRow[] = [];
const seededBase = seedDevices(DEVICES);
for (const records of [1, 10]) {
  const base = await bareRate(seededBase.tokensFile, records, WINDOW, STEP_MS);
  const r = await hubRun(records, base);
  const b = r.best;
  const unit = records === 1 ? 'frames/s' : 'points/s';
  rows.push({
    scenario: 'ingest',
    case: `${DEVICES} devices, ${records}-record frames, sustained (ack p99 < 100 ms)`,
    value: b.acked * (records === 1 ? 1 : records),
    unit,
    baseline: 'bare ws server (decode + count)',
    baselineValue: base * (records === 1 ? 1 : records),
    extra: {
      frames: Math.round(b.acked),
      ackP50ms: b.p50,
      ackP99ms: b.p99,
      hubCpuCores: Math.round(b.cpu * 100) / 100,
      hubRssMiB: Math.round(b.rss / 2 ** 20),
      lagMs: b.lag,
      maxLagMs: Math.max(...r.steps.map((s) => s.lag)),
      unlimitedFrames: Math.round(r.max.acked),
      unlimitedP99ms: r.max.p99,
      held: held(b),
    },
  });
}
rmSync(seededBase.dir, { recursive: true, force: true });
report(rows, args);
for (const r of rows) console.log(`  ${r.case}: ${JSON.stringify(r.extra)}`);
