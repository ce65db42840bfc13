// Benchmark scenario: ingest with alarm rules (README.md § Alarms and notifications).
// Two hubs on the same fleet size, one without rules and one with 10 rules selecting
// every device (8 metric thresholds never crossed, so every record is evaluated and
// none raises; a no-data and an offline rule with their deadlines), each fed 10-record
// frames by its own load generator. Measured in turns (one hub loaded at a time),
// several rounds, medians: ingest as fast as ACKs allow, and the hub's CPU per point at
// one common rate. The bar: within 10% of no rules.

import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger, loadConfig, openDatabase, startHub as startHubInProcess } from '@halyard/hub';
import { type BenchRow, parseBenchArgs, report, size } from '../../scripts/bench-lib.js';
import { measure, type SearchOptions, type Step } from './ingest-search.js';
import { seedDevices, startHub, startLoadgen } from './lib.js';

const args = parseBenchArgs();
const DEVICES = size(args, 1000, 200, 10);
const STEP_MS = size(args, 4_000, 2_000, 300);
const MAX_STEPS = size(args, 30, 30, 3);
const RECORDS = 10;
const WINDOW = 64;
const RULES = 10;

/** Ten rules selecting every bench device (tag `bench`), written where the hub reads them at start. */
function seedRules(dir: string): void {
  const db = openDatabase(join(dir, 'halyard.db'));
  const ins = db.prepare('INSERT INTO alarm_rules (id, doc, updated_at) VALUES (?, ?, ?)');
  const now = Date.now();
  const rule = (i: number, condition: object) => ({
    id: `bench-r${i}`,
    name: `bench rule ${i}`,
    enabled: true,
    severity: 'minor',
    selector: { tags: ['bench'] },
    condition,
    minDuration: 0,
    createdAt: now,
    createdBy: 'bench',
    updatedAt: now,
    updatedBy: 'bench',
  });
  const rules = [
    ...Array.from({ length: 8 }, (_, i) => rule(i, { kind: 'metric', metric: `m${i}`, above: 1e9, for: 10_000, hysteresis: 1 })),
    rule(8, { kind: 'no_data', metric: 'm8', for: 3_600_000 }),
    rule(9, { kind: 'offline', for: 3_600_000 }),
  ];
  db.transaction(() => {
    for (const r of rules) ins.run(r.id, JSON.stringify(r), now);
  })();
  db.close();
}

/** Rounds of measurements, each hub in turn, so drifting load on a shared machine falls on both alike; medians reported. */
const ROUNDS = size(args, 5, 3, 1);
/** The common rate, frames/s of 10 records: well under what either hub holds. */
const RATE = size(args, 3_000, 1_500, 200);

interface Side {
  hub: Awaited<ReturnType<typeof startHub>>;
  gen: Awaited<ReturnType<typeof startLoadgen>>;
  dir: string;
  fixed: Step[];
  max: Step[];
}

async function side(rules: boolean): Promise<Side> {
  const seeded = seedDevices(DEVICES);
  if (rules) seedRules(seeded.dir);
  const hub = await startHub(seeded.dir);
  const gen = await startLoadgen(hub.port, seeded.tokensFile, { records: RECORDS, window: WINDOW });
  await gen.request({ cmd: 'connect' }, 'connected');
  await gen.request({ cmd: 'pause' }, 'paused');
  return { hub, gen, dir: seeded.dir, fixed: [], max: [] };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const o: SearchOptions = { stepMs: STEP_MS, firstRate: RATE, factor: 1.1, maxSteps: MAX_STEPS };
const none = await side(false);
const withRules = await side(true);
const sides = [none, withRules];
for (let round = 0; round < ROUNDS; round++) {
  // Turns alternate who goes first, so an order effect falls on both.
  const order = round % 2 === 0 ? sides : [...sides].reverse();
  for (const kind of ['fixed', 'max'] as const) {
    for (const s of order) {
      for (const other of sides) if (other !== s) await other.gen.request({ cmd: 'pause' }, 'paused');
      s[kind].push(await measure(s.gen, s.hub.child.pid, s.hub.port, kind === 'fixed' ? RATE : 0, o));
    }
  }
}
for (const s of sides) {
  await s.gen.request({ cmd: 'stop' }, 'stopped');
  await s.hub.child.stop();
  rmSync(s.dir, { recursive: true, force: true });
}

/**
 * The evaluation's own cost, without sockets or a second process: a hub in this
 * process (seeded as above, on SQLite) is handed committed-telemetry bus events
 * directly, as the gateway publishes them, and the process's CPU time per event is
 * taken with and without the rules (every subscriber runs: MQTT mirror, consoles,
 * alarms). Alternating, medians.
 */
async function busCostUs(rules: boolean, frames: number): Promise<number> {
  const seeded = seedDevices(DEVICES);
  if (rules) seedRules(seeded.dir);
  const config = loadConfig(
    ['--port', '0', '--host', '127.0.0.1', '--mqtt-port', '0', '--data-dir', seeded.dir, '--admin-password', 'bench-admin-password'],
    {},
  );
  const hub = await startHubInProcess(config, createLogger({ ...config, logLevel: 'silent' }));
  const ids = seeded.tokens.map((t) => t.slice(0, t.indexOf('.')));
  const t0 = Date.now();
  const pack = (i: number) => Array.from({ length: RECORDS }, (_, k) => ({ name: `m${k}`, unit: 'W', value: 20 + k + 0.5, time: t0 + i }));
  const c0 = process.cpuUsage();
  for (let i = 0; i < frames; i++) {
    hub.ctx.bus.publish('telemetry', { device: ids[i % ids.length] as string, records: pack(i) });
    // Let the sinks the events feed run as they would between socket reads.
    if (i % 1_000 === 999) await new Promise((r) => setImmediate(r));
  }
  const c = process.cpuUsage(c0);
  await hub.close();
  rmSync(seeded.dir, { recursive: true, force: true });
  return (c.user + c.system) / frames;
}
const BUS_FRAMES = size(args, 200_000, 100_000, 5_000);
const busNone: number[] = [];
const busRules: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  if (round % 2 === 0) {
    busNone.push(await busCostUs(false, BUS_FRAMES));
    busRules.push(await busCostUs(true, BUS_FRAMES));
  } else {
    busRules.push(await busCostUs(true, BUS_FRAMES));
    busNone.push(await busCostUs(false, BUS_FRAMES));
  }
}

const pts = (s: Step) => s.acked * RECORDS;
/** Hub CPU per million points acknowledged, core-seconds. */
const cpuPerM = (s: Step) => (s.cpu / pts(s)) * 1e6;
const rows: BenchRow[] = [
  {
    scenario: 'alarms',
    case: `${DEVICES} devices, ${RECORDS}-record frames, ${RULES} rules per device, as fast as ACKs allow (median of ${ROUNDS})`,
    value: median(withRules.max.map(pts)),
    unit: 'points/s',
    baseline: 'the same hub without rules',
    baselineValue: median(none.max.map(pts)),
    extra: { runs: withRules.max.map((x) => Math.round(pts(x))), baselineRuns: none.max.map((x) => Math.round(pts(x))) },
  },
  {
    scenario: 'alarms',
    case: `hub CPU per million points at ${RATE * RECORDS} points/s, ${RULES} rules per device (median of ${ROUNDS})`,
    value: median(withRules.fixed.map(cpuPerM)),
    unit: 'core-s',
    baseline: 'the same rate without rules',
    baselineValue: median(none.fixed.map(cpuPerM)),
    extra: {
      ackP99ms: median(withRules.fixed.map((x) => x.p99)),
      baselineAckP99ms: median(none.fixed.map((x) => x.p99)),
    },
  },
  {
    scenario: 'alarms',
    case: `CPU per committed 10-record frame on the hub's bus (all subscribers), ${RULES} rules per device (median of ${ROUNDS})`,
    value: median(busRules),
    unit: 'µs',
    baseline: 'the same without rules',
    baselineValue: median(busNone),
    extra: { evaluationUs: Math.round((median(busRules) - median(busNone)) * 100) / 100 },
  },
];
report(rows, args);
