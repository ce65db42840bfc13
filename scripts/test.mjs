#!/usr/bin/env node
// Runs the test suite with node:test through tsx, after a type-check build.
//   node scripts/test.mjs              every *.test.ts except *.external.test.ts
//   node scripts/test.mjs --external   only *.external.test.ts (need Mosquitto, Chromium, PostgreSQL, Redis, HAProxy)
//   node scripts/test.mjs <file|dir>…  just those
// Exits non-zero on any failure and prints node's summary.

import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const external = args.includes('--external');
const noBuild = args.includes('--no-build');
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

const roots = picks.length ? picks.map((p) => join(process.cwd(), p)) : PACKAGES.map((p) => join(root, p));
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
const run = spawnSync(
  process.execPath,
  [
    '--conditions=source',
    '--import',
    'tsx',
    '--test',
    `--test-concurrency=${concurrency}`,
    '--test-reporter=spec',
    ...files.map((f) => relative(root, f)),
  ],
  { cwd: root, stdio: 'inherit', env: { ...process.env, NODE_ENV: 'test' } },
);
process.exit(run.status ?? 1);
