// Guards the benchmark suite: every scenario still runs end to end with tiny sizes
// and writes its rows. Not timed: the numbers are not checked, only that they come.
// --no-build: the test command has built already, and rebuilding would rewrite
// files other tests are running.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('npm run bench', () => {
  it('runs every scenario with --tiny and records a row for each', () => {
    const dir = mkdtempSync(join(tmpdir(), 'halyard-bench-test-'));
    try {
      const results = join(dir, 'results.jsonl');
      const run = spawnSync(process.execPath, ['scripts/bench.mjs', '--tiny', '--no-build', `--results=${results}`], {
        cwd: ROOT,
        encoding: 'utf8',
        // Under 2 min on a quiet machine; a loaded one (load 8-11, several test runs at once) has taken over 5.
        timeout: 600_000,
      });
      assert.equal(run.status, 0, run.stdout + run.stderr);
      const rows = readFileSync(results, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { scenario: string; value: number; machine: { cores: number; node: string } });
      // Without PostgreSQL's binaries the postgres scenario says so and records nothing.
      const pgSkipped = /postgres: skipped, PostgreSQL not found/.test(run.stdout);
      if (pgSkipped) console.log('# postgres scenario skipped: PostgreSQL binaries not found (install the Debian package postgresql)');
      // The cluster scenario needs PostgreSQL and Redis.
      const clusterSkipped = /cluster: skipped/.test(run.stdout);
      if (clusterSkipped) console.log('# cluster scenario skipped: PostgreSQL or Redis not found');
      const sessionsSkipped = /mqtt-sessions: skipped/.test(run.stdout);
      if (sessionsSkipped) console.log('# mqtt-sessions scenario skipped: PostgreSQL or Redis not found');
      const consoleSkipped = /console: skipped/.test(run.stdout);
      if (consoleSkipped) console.log('# console scenario skipped: Chromium not found (install the Debian package chromium)');
      assert.deepStrictEqual(
        [...new Set(rows.map((r) => r.scenario))],
        [
          'codec',
          'ingest',
          'alarms',
          'mqtt',
          ...(sessionsSkipped ? [] : ['mqtt-sessions']),
          'connections',
          'commands',
          'storm',
          'queries',
          'storage',
          'export',
          ...(pgSkipped ? [] : ['postgres']),
          'firmware',
          ...(clusterSkipped ? [] : ['cluster']),
          'jobs',
          ...(consoleSkipped ? [] : ['console']),
        ],
      );
      for (const r of rows) {
        assert.ok(Number.isFinite(r.value), `${r.scenario}: a number`);
        assert.ok(r.machine.cores > 0 && r.machine.node.startsWith('v'));
      }
      assert.match(run.stdout, /\| scenario \| case/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
