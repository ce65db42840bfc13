#!/usr/bin/env node
// `npm run bench [-- --quick] [scenario ...]`: runs the benchmark scenarios, each in
// its own process, each printing a table row set and appending to
// bench-results/results.jsonl. Every scenario compares against a baseline measured
// in the same run; see README.md § Benchmarks.

import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
// Scenario scripts run through tsx; the processes they measure (hub, load generator,
// baselines) run compiled, as in production, so the suite builds first.
const SCENARIOS = {
  codec: { file: 'firmware-protocol/bench/codec.bench.ts', what: 'TELEMETRY decode/encode vs JSON.parse/stringify' },
  ingest: { file: 'bench/src/ingest.bench.ts', what: 'sustained ingest vs a bare ws server (1- and 10-record frames)' },
  alarms: { file: 'bench/src/alarms.bench.ts', what: 'ingest with 10 alarm rules per device vs the same hub without rules' },
  mqtt: { file: 'bench/src/mqtt.bench.ts', what: 'ingest with 1 and 10 MQTT subscribers vs Mosquitto relaying' },
  'mqtt-sessions': {
    file: 'bench/src/mqtt-sessions.bench.ts',
    what: 'messages to offline persistent sessions: SQLite file, PostgreSQL, Redis journals vs memory (skipped without PostgreSQL/Redis)',
  },
  connections: { file: 'bench/src/connections.bench.ts', what: 'idle connections: RSS per connection, connect rate, liveness' },
  commands: { file: 'bench/src/commands.bench.ts', what: 'command round trip through the HTTP API at a fixed rate' },
  storm: { file: 'bench/src/storm.bench.ts', what: 'reconnect storm after a hub restart; no command lost' },
  queries: { file: 'bench/src/queries.bench.ts', what: 'bucketed and latest queries on a large generated table' },
  storage: { file: 'bench/src/storage.bench.ts', what: 'telemetry bytes per point per profile: block codec vs first format vs Gorilla' },
  export: { file: 'bench/src/export.bench.ts', what: 'streamed CSV/NDJSON export of 10M points: MB/s and hub RSS against its RSS at rest' },
  postgres: { file: 'bench/src/postgres.bench.ts', what: 'ingest and queries on PostgreSQL beside SQLite (skipped without PostgreSQL)' },
  firmware: { file: 'bench/src/firmware.bench.ts', what: 'a firmware image to every device at once vs a bare ws server serving it' },
  cluster: {
    file: 'bench/src/cluster.bench.ts',
    what: 'one node vs a two-node cluster, commands across nodes, takeover, failover after kill -9 (skipped without PostgreSQL/Redis)',
  },
  jobs: { file: 'bench/src/jobs.bench.ts', what: 'fleet jobs: a firmware job to every device at once, a 5,000-device command job' },
  console: {
    file: 'bench/src/console.bench.ts',
    what: 'the web console at 5,000 devices in Chromium: first rows, frames scrolling, map, dashboard (skipped without Chromium)',
  },
};

const args = process.argv.slice(2);
if (args.includes('--help')) {
  console.log('usage: npm run bench -- [--quick|--tiny] [--no-build] [--results=FILE] [scenario ...]\n\nscenarios:');
  for (const [name, s] of Object.entries(SCENARIOS)) console.log(`  ${name.padEnd(12)} ${s.what}`);
  console.log(
    '\nenvironment:\n  HALYARD_BENCH_HUB_NODE_FLAGS   extra Node flags for every hub started, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"',
  );
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

if (!flags.includes('--no-build')) {
  const build = spawnSync('npx', ['tsc', '-b'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
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
