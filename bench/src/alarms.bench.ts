// Benchmark scenario: ingest with alarm rules (README.md § Alarms and notifications).
// The same fleet streams 10-record frames to a hub without rules, then to a hub with
// 10 rules selecting every device (8 metric thresholds never crossed, so every record
// is evaluated and none raises; a no-data and an offline rule with their deadlines),
// searched by the same method as the ingest scenario, in the same run. Then both at
// one common rate, for the hub's CPU. The bar: within 10% of no rules.

import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { openDatabase } from '@halyard/hub';
import { type BenchRow, parseBenchArgs, report, size } from '../../scripts/bench-lib.js';
import { measure, type SearchOptions, type Step, searchSustained } from './ingest-search.js';
import { seedDevices, startHub, startLoadgen } from './lib.js';

const args = parseBenchArgs();
const DEVICES = size(args, 1000, 200, 10);
const STEP_MS = size(args, 4_000, 1_000, 300);
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

async function run(rules: boolean, firstRate: number, commonRate: number | undefined) {
  const seeded = seedDevices(DEVICES);
  if (rules) seedRules(seeded.dir);
  const hub = await startHub(seeded.dir);
  const gen = await startLoadgen(hub.port, seeded.tokensFile, { records: RECORDS, window: WINDOW });
  await gen.request({ cmd: 'connect' }, 'connected');
  const o: SearchOptions = { stepMs: STEP_MS, firstRate, factor: 1.1, maxSteps: MAX_STEPS };
  const r = await searchSustained(gen, hub.child.pid, hub.port, o);
  const common = await measure(gen, hub.child.pid, hub.port, commonRate ?? Math.round(r.best.acked * 0.8), o);
  gen.send({ cmd: 'pause' });
  await gen.request({ cmd: 'stop' }, 'stopped');
  await hub.child.stop();
  rmSync(seeded.dir, { recursive: true, force: true });
  return { ...r, common };
}

// Without rules first, searched from a low rate; with rules from 70% of what it held, in 10% steps.
const none = await run(false, size(args, 2_000, 1_000, 200), undefined);
const withRules = await run(true, Math.round(none.best.acked * 0.7), Math.round(none.common.offered));
const pts = (s: Step) => s.acked * RECORDS;
const rows: BenchRow[] = [
  {
    scenario: 'alarms',
    case: `${DEVICES} devices, ${RECORDS}-record frames, ${RULES} rules per device, sustained (ack p99 < 100 ms)`,
    value: pts(withRules.best),
    unit: 'points/s',
    baseline: 'the same hub without rules',
    baselineValue: pts(none.best),
    extra: { ackP99ms: withRules.best.p99, baselineAckP99ms: none.best.p99 },
  },
  {
    scenario: 'alarms',
    case: `${DEVICES} devices, ${RECORDS}-record frames, ${RULES} rules per device, as fast as ACKs allow`,
    value: pts(withRules.max),
    unit: 'points/s',
    baseline: 'the same hub without rules',
    baselineValue: pts(none.max),
  },
  {
    scenario: 'alarms',
    case: `hub CPU at ${Math.round(none.common.offered * RECORDS)} points/s with ${RULES} rules per device`,
    value: withRules.common.cpu,
    unit: 'cores',
    baseline: 'the same rate without rules',
    baselineValue: none.common.cpu,
    extra: { acked: Math.round(pts(withRules.common)), baselineAcked: Math.round(pts(none.common)) },
  },
];
report(rows, args);
