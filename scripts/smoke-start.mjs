#!/usr/bin/env node
// CI check that the README's start command works: runs `npm start` on free ports
// with a temporary data dir, waits for the `listening` line, checks /healthz and
// the console page, then stops it with SIGTERM and expects a clean exit.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'halyard-smoke-'));
const child = spawn(
  'npm',
  ['start', '--', '--port', '0', '--mqtt-port', '0', '--host', '127.0.0.1', '--data-dir', dir, '--log-format', 'json'],
  {
    stdio: ['ignore', 'pipe', 'inherit'],
    detached: true,
  },
);
const fail = (msg) => {
  console.error(`smoke-start: ${msg}`);
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {}
  rmSync(dir, { recursive: true, force: true });
  process.exit(1);
};
const timer = setTimeout(() => fail('no "listening" line within 120 s'), 120_000);
let buf = '';
child.stdout.on('data', async (d) => {
  buf += d;
  for (const line of buf.split('\n')) {
    if (!line.includes('"msg":"listening"')) continue;
    buf = '';
    clearTimeout(timer);
    const { port, mqttPort } = JSON.parse(line);
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    if (health.status !== 200) fail(`/healthz answered ${health.status}`);
    const page = await fetch(`http://127.0.0.1:${port}/`);
    if (page.status !== 200) fail(`/ answered ${page.status}`);
    console.log(`smoke-start: hub up on port ${port} (MQTT ${mqttPort}), /healthz ok, console served`);
    process.kill(-child.pid, 'SIGTERM');
    return;
  }
});
child.on('exit', (code, signal) => {
  rmSync(dir, { recursive: true, force: true });
  if (code !== 0 && signal !== 'SIGTERM') fail(`npm start exited with ${code ?? signal}`);
  console.log('smoke-start: stopped cleanly');
  process.exit(0);
});
