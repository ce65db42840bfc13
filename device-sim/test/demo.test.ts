// `npm run demo` end to end: a hub and a small fleet come up, the printed
// credentials work, and Ctrl-C stops everything and removes the temporary data.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const DEMO = fileURLToPath(new URL('../../scripts/demo.mjs', import.meta.url));

describe('npm run demo', () => {
  it('starts a hub with a live fleet and cleans up on Ctrl-C', async () => {
    const proc = spawn(process.execPath, [DEMO, '--port', '0', '--count', '3'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const online = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no fleet online: ${out}`)), 30_000);
      proc.stdout.on('data', (d) => {
        out += String(d);
        if (out.includes('all 3 devices online')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    await online;
    const url = /console\s+(\S+)/.exec(out)?.[1] as string;
    const password = /login\s+admin \/ (\S+)/.exec(out)?.[1] as string;
    const dir = /data\s+(\S+)/.exec(out)?.[1] as string;
    const login = await fetch(`${url}api/v1/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password }),
    });
    assert.equal(login.status, 200);
    const { token } = (await login.json()) as { token: string };
    const devices = (await (await fetch(`${url}api/v1/devices`, { headers: { authorization: `Bearer ${token}` } })).json()) as {
      devices: { online: boolean }[];
    };
    assert.equal(devices.devices.filter((d) => d.online).length, 3);
    proc.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => proc.once('exit', resolve));
    assert.equal(code, 0);
    assert.equal(existsSync(dir), false, 'the temporary data is gone');
  });
});
