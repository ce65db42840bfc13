#!/usr/bin/env node
// `npm run demo`: a hub with a temporary database and a mixed fleet of simulated
// devices, so a newcomer sees a live fleet within seconds. Ctrl-C stops both and
// removes the temporary data.
//
//   npm run demo                      25 devices, hub on :8080 (or a free port)
//   npm run demo -- --count 100       more devices

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { provisionDevices, startFleet } from '@halyard/device-sim';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '25' },
    port: { type: 'string', default: '8080' },
    profile: { type: 'string', default: 'mixed' },
  },
});
const count = Number(values.count);
const dir = mkdtempSync(join(tmpdir(), 'halyard-demo-'));
const password = randomBytes(9).toString('base64url');
const hubMain = new URL('../hub/dist/src/main.js', import.meta.url).pathname;

function startHub(port) {
  const proc = spawn(
    process.execPath,
    [
      '--max-semi-space-size=32',
      hubMain,
      '--host',
      '127.0.0.1',
      '--port',
      port,
      '--mqtt-port',
      '0',
      '--data-dir',
      dir,
      '--admin-password',
      password,
      '--log-format',
      'json',
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  return new Promise((resolve, reject) => {
    let buf = '';
    proc.stdout.on('data', (d) => {
      buf += d;
      const line = buf.split('\n').find((l) => l.includes('"msg":"listening"'));
      if (line) resolve({ proc, ...JSON.parse(line) });
    });
    // Say why: the hub's last log lines (it logs to stdout) go with the error.
    proc.once('exit', (code) => reject(new Error(`hub exited with ${code}: ${buf.trim().split('\n').slice(-3).join(' | ')}`)));
  });
}

let hub;
try {
  hub = await startHub(values.port);
} catch (err) {
  console.log(`the hub did not start on port ${values.port} (${err.message}); trying a free port`);
  hub = await startHub('0');
}
const url = `http://127.0.0.1:${hub.port}`;
const ws = `ws://127.0.0.1:${hub.port}`;
console.log(`
  Halyard demo
  console   ${url}/
  login     admin / ${password}
  MQTT      127.0.0.1:${hub.mqttPort}   (add an integrator account in the console's Admin page)
  data      ${dir} (removed on exit)

  starting ${count} simulated devices (profile ${values.profile})...`);

const { devices, renew } = await provisionDevices({
  hub: ws,
  count,
  profile: values.profile,
  idPrefix: 'demo-',
  auth: { user: 'admin', password },
});
const fleet = startFleet({ hub: ws, devices, profile: values.profile, rampMs: 2_000, onUnauthorized: renew });
let announced = false;
fleet.events.on('online', () => {
  if (!announced && fleet.stats().states.online === count) {
    announced = true;
    console.log(`  all ${count} devices online. Open ${url}/ and log in. Ctrl-C to stop.\n`);
  }
});

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  console.log('\n  stopping...');
  await fleet.stop();
  hub.proc.kill('SIGTERM');
  await new Promise((r) => hub.proc.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
