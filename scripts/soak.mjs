#!/usr/bin/env node
// `npm run soak [-- --scale N]`: the fault and fuzz scenarios of the test suite, run
// longer. Scale 1 (the default) is 100 crash kills, 100,000 codec and session fuzz
// cases; --scale multiplies them. Prints node's test summary; exits non-zero on failure.

import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { scale: { type: 'string', default: '1' } } });
const scale = Number(values.scale);
if (!(scale > 0)) {
  console.error('--scale must be a positive number');
  process.exit(2);
}
const root = new URL('..', import.meta.url).pathname;
const env = {
  ...process.env,
  HALYARD_CRASH_KILLS: String(Math.round(100 * scale)),
  HALYARD_FUZZ_RUNS: String(Math.round(100_000 * scale)),
  HALYARD_SESSION_FUZZ_RUNS: String(Math.round(100_000 * scale)),
  HALYARD_TEST_CONCURRENCY: '1',
};
console.log(
  `soak: ${env.HALYARD_CRASH_KILLS} kills, ${env.HALYARD_FUZZ_RUNS} codec fuzz cases, ${env.HALYARD_SESSION_FUZZ_RUNS} session fuzz frames, plus liveness, overload and hostile input`,
);
const files = [
  'firmware-protocol/test/fuzz.test.ts',
  'hub/test/session-fuzz.test.ts',
  'hub/test/crash.test.ts',
  'hub/test/crash-postgres.external.test.ts',
  'hub/test/hostile-frames.test.ts',
  'bench/test/liveness-fleet.test.ts',
  'bench/test/overload.test.ts',
];
const run = spawnSync(process.execPath, ['scripts/test.mjs', ...files], { cwd: root, stdio: 'inherit', env });
process.exit(run.status ?? 1);
