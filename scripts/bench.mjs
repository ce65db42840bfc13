#!/usr/bin/env node
// `npm run bench [-- --quick] [scenario ...]`: runs the benchmark scenarios, each in
// its own process, each printing a table row set and appending to
// bench-results/results.jsonl. Every scenario compares against a baseline measured
// in the same run; see README.md § Benchmarks.

import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const SCENARIOS = {
  codec: { file: 'firmware-protocol/bench/codec.bench.ts', what: 'TELEMETRY decode/encode vs JSON.parse/stringify' },
};

const args = process.argv.slice(2);
if (args.includes('--help')) {
  console.log('usage: npm run bench -- [--quick] [--results=FILE] [scenario ...]\n\nscenarios:');
  for (const [name, s] of Object.entries(SCENARIOS)) console.log(`  ${name.padEnd(12)} ${s.what}`);
  process.exit(0);
}
const flags = args.filter((a) => a.startsWith('--'));
const picked = args.filter((a) => !a.startsWith('--'));
for (const name of picked) {
  if (!(name in SCENARIOS)) {
    console.error(`unknown scenario "${name}"; known: ${Object.keys(SCENARIOS).join(', ')}`);
    process.exit(2);
  }
}

let failed = 0;
for (const name of picked.length ? picked : Object.keys(SCENARIOS)) {
  const s = SCENARIOS[name];
  console.log(`\n## ${name}: ${s.what}\n`);
  const run = spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', s.file, ...flags], { cwd: root, stdio: 'inherit' });
  if (run.status !== 0) {
    console.error(`scenario ${name} failed (exit ${run.status})`);
    failed++;
  }
}
process.exit(failed ? 1 : 0);
