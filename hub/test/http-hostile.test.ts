// Hostile HTTP: slowloris on the upgrade, thousands of headers, path traversal on
// the console's static files. The hub answers or hangs up, and stays healthy.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestHub, type TestHub } from './helpers/hub.js';

/** Sends raw bytes and collects the answer until the server closes. */
function raw(port: number, request: string, timeoutMs = 20_000): Promise<{ text: string; closedAfterMs: number }> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const s = connect(port, '127.0.0.1');
    let text = '';
    s.on('data', (d) => {
      text += String(d);
    });
    s.on('close', () => resolve({ text, closedAfterMs: Date.now() - t0 }));
    s.on('error', () => {});
    s.write(request);
    setTimeout(() => {
      s.destroy();
      reject(new Error(`no close within ${timeoutMs} ms; got ${text.slice(0, 200)}`));
    }, timeoutMs).unref();
  });
}

describe('hostile HTTP', () => {
  let t: TestHub;
  let root: string;
  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'halyard-static-'));
    const site = join(root, 'site');
    mkdirSync(site);
    writeFileSync(join(site, 'index.html'), '<!doctype html><title>console</title>');
    mkdirSync(join(site, 'assets'));
    writeFileSync(join(site, 'assets', 'app.js'), `console.log(${JSON.stringify('x'.repeat(5_000))});`);
    writeFileSync(join(root, 'secret.txt'), 'TOP-SECRET');
    t = await startTestHub(['--console-dir', site]);
  });
  after(async () => {
    await t.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('never serves a file outside the console directory', async () => {
    for (const path of [
      '/../secret.txt',
      '/%2e%2e/secret.txt',
      '/..%2fsecret.txt',
      '/%2e%2e%2fsecret.txt',
      '/static/../../secret.txt',
      '/....//secret.txt',
    ]) {
      const r = await raw(t.hub.port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      assert.ok(!r.text.includes('TOP-SECRET'), `${path} leaked the file`);
    }
    const index = await raw(t.hub.port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.match(index.text, /console/);
  });

  it('serves the console bundles gzipped', async () => {
    const r = await fetch(`${t.http}/assets/app.js`, { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-encoding'), 'gzip');
    assert.match(await r.text(), /^console\.log/);
  });

  it('drops a slowloris upgrade whose headers never finish', async () => {
    const r = await raw(t.hub.port, 'GET /v1/device HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n');
    assert.ok(r.closedAfterMs >= 9_000 && r.closedAfterMs < 15_000, `closed after ${r.closedAfterMs} ms`);
    assert.equal((await fetch(`${t.http}/healthz`)).status, 200);
  });

  it('refuses 2,500 headers without trouble', async () => {
    const headers = Array.from({ length: 2_500 }, (_, i) => `X-H${i}: ${i}`).join('\r\n');
    const r = await raw(t.hub.port, `GET /api/v1/devices HTTP/1.1\r\nHost: x\r\n${headers}\r\nConnection: close\r\n\r\n`);
    assert.match(r.text, /^HTTP\/1\.1 (431|400)/);
    assert.equal((await fetch(`${t.http}/healthz`)).status, 200);
  });
});
