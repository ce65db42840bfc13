#!/usr/bin/env node
// Runs the test suite with node:test through tsx, after a type-check build.
//   node scripts/test.mjs              every *.test.ts except *.external.test.ts
//   node scripts/test.mjs --external   only *.external.test.ts (need Mosquitto, Chromium, PostgreSQL, Redis, HAProxy)
//   node scripts/test.mjs <file|dir>…  just those
//   node scripts/test.mjs --postgres [<file|dir>…]  the hub's storage pass alone: hub/test (or those) on PostgreSQL
// Without files, after every test passed on SQLite, the hub's tests run again on
// PostgreSQL (HALYARD_TEST_STORE=postgres, the storage pass: README, Development)
// when PostgreSQL is installed or HALYARD_TEST_PG_URL is set; a line says when it is skipped.
// Exits non-zero on any failure and prints node's summary.

import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const external = args.includes('--external');
const noBuild = args.includes('--no-build');
const postgresOnly = args.includes('--postgres');
const picks = args.filter((a) => !a.startsWith('--'));
const PACKAGES = ['firmware-protocol', 'hub', 'device-sim', 'web-console', 'bench'];
const SKIP = new Set(['node_modules', 'dist', 'test-output', '.git']);

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    if (SKIP.has(name)) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else if (name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

/** The storage pass: every hub test that starts a hub or opens a store (all of hub/test but the external ones). */
const STORAGE_PASS = join(root, 'hub', 'test');

const roots = picks.length ? picks.map((p) => join(process.cwd(), p)) : postgresOnly ? [STORAGE_PASS] : PACKAGES.map((p) => join(root, p));
let files = [];
for (const r of roots) {
  try {
    files = statSync(r).isDirectory() ? walk(r, files) : [...files, r];
  } catch {
    // a package without tests yet
  }
}
if (!picks.length) files = files.filter((f) => f.endsWith('.external.test.ts') === external);
files.sort();
if (files.length === 0) {
  // External tests arrive with the features that need Mosquitto and Chromium.
  if (external && !picks.length) {
    console.log('no external tests yet');
    process.exit(0);
  }
  console.error('no test files found');
  process.exit(1);
}

if (!noBuild) {
  // Type-check (and build) first, as the test command's first failure.
  const tsc = spawnSync('npx', ['tsc', '-b'], { cwd: root, stdio: 'inherit' });
  if (tsc.status !== 0) process.exit(tsc.status ?? 1);
}

const concurrency = Number(process.env.HALYARD_TEST_CONCURRENCY ?? Math.max(2, availableParallelism()));

function runTests(list, env) {
  const run = spawnSync(
    process.execPath,
    [
      '--conditions=source',
      '--import',
      'tsx',
      '--test',
      `--test-concurrency=${concurrency}`,
      '--test-reporter=spec',
      ...list.map((f) => relative(root, f)),
    ],
    { cwd: root, stdio: 'inherit', env: { ...process.env, NODE_ENV: 'test', ...env } },
  );
  return run.status ?? 1;
}

/** PostgreSQL the tests can start (Debian's layout, PATH) or reach (HALYARD_TEST_PG_URL); hub/test/helpers/postgres.ts looks the same way. */
function postgresAvailable() {
  if (process.env.HALYARD_TEST_PG_URL) return true;
  try {
    if (readdirSync('/usr/lib/postgresql').some((v) => existsSync(`/usr/lib/postgresql/${v}/bin/initdb`))) return true;
  } catch {
    // not Debian's layout
  }
  return spawnSync('sh', ['-c', 'command -v initdb && command -v postgres'], { stdio: 'ignore' }).status === 0;
}

if (postgresOnly) process.exit(runTests(files, { HALYARD_TEST_STORE: 'postgres' }));
const status = runTests(files, {});
if (status !== 0 || picks.length || external) process.exit(status);
if (!postgresAvailable()) {
  console.log(
    '\nstorage pass on PostgreSQL SKIPPED: PostgreSQL is not installed (apt-get install postgresql) and HALYARD_TEST_PG_URL is not set',
  );
  process.exit(0);
}
console.log('\nstorage pass: the hub tests again on PostgreSQL (HALYARD_TEST_STORE=postgres)');
const storageFiles = walk(STORAGE_PASS, [])
  .filter((f) => !f.endsWith('.external.test.ts'))
  .sort();
process.exit(runTests(storageFiles, { HALYARD_TEST_STORE: 'postgres' }));
