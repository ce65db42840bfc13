// The command line against the real hub: --provision creates devices and keeps their
// tokens, a second run reuses them, --json prints the summary, and a fleet that is
// refused entirely exits non-zero.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Summary } from '../src/index.js';
import { ADMIN_PASSWORD, type HubProcess, ok, startHub } from './support/hub.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const MAIN = join(ROOT, 'device-sim/src/main.ts');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI from source (as the test runner does), with a deadline. */
function sim(args: readonly string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', MAIN, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`halyard-sim did not exit in time\n${stderr}`));
    }, 60_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('halyard-sim CLI against the real hub', () => {
  let hub: HubProcess;
  let dir: string;
  let tokens: string;

  before(async () => {
    hub = await startHub();
    dir = await mkdtemp(join(tmpdir(), 'halyard-sim-cli-'));
    tokens = join(dir, 'tokens.json');
  });
  after(async () => {
    await hub?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  const common = () => ['--hub', hub.url, '--tokens', tokens, '--ramp', '0', '--duration', '2s', '--status-interval', '500ms', '--json'];

  test('--provision creates the devices, stores their tokens and streams; --json prints the summary', async () => {
    const r = await sim([...common(), '--provision', '--count', '3', '--rate', '5'], { HALYARD_SIM_PASSWORD: ADMIN_PASSWORD });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /provisioned 3 devices: 3 created, 0 reused/);
    assert.match(r.stderr, /online 3\/3/, 'a status line with every device online');
    const summary = JSON.parse(r.stdout) as Summary;
    assert.equal(summary.devices, 3);
    assert.equal(summary.sessions, 3);
    assert.ok(summary.acked > 0 && summary.ackLatency.count > 0);
    const file = JSON.parse(await readFile(tokens, 'utf8')) as { hubs: Record<string, Record<string, string>> };
    assert.deepEqual(Object.keys(Object.values(file.hubs)[0] ?? {}), ['sim-0001', 'sim-0002', 'sim-0003']);
    const list = await ok<{ devices?: { id: string }[] } | { id: string }[]>(hub.api.request('GET', '/devices'));
    assert.match(JSON.stringify(list), /sim-0003/);
  });

  test('a second run reuses the stored tokens; --tokens alone runs without the API', async () => {
    const again = await sim([...common(), '--provision', '--count', '4'], { HALYARD_SIM_PASSWORD: ADMIN_PASSWORD });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /provisioned 4 devices: 1 created, 3 reused/);
    const plain = await sim([...common(), '--count', '2', '--profile', 'relay']);
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal((JSON.parse(plain.stdout) as Summary).sessions, 2);
  });

  test('every device refused: the run ends early with exit code 1 and says why', async () => {
    await ok(hub.api.request('POST', '/devices/sim-0001/revoke'));
    const r = await sim([...common(), '--count', '1', '--duration', '30s']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /all devices stopped/);
    const summary = JSON.parse(r.stdout) as Summary;
    assert.deepEqual(summary.stopReasons, { revoked: 1 });
    assert.ok(summary.hints.some((h) => /revoked/.test(h)));
  });

  test('bad flags exit with code 2 and name the flag', async () => {
    const r = await sim(['--rate', 'lots']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--rate/);
  });
});
