// The hub as a process: CLI, first start, TLS, graceful shutdown, and durability
// across kill -9.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { decode, encode, MessageType } from '@halyard/firmware-protocol';
import WebSocket from 'ws';
import { TestDevice } from './helpers/device.js';
import { Api } from './helpers/hub.js';
import { runHub, spawnHub } from './helpers/process.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'halyard-proc-'));
  dirs.push(d);
  return d;
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** One HTTPS request trusting only `ca`; JSON in and out. */
function httpsJson(
  url: string,
  o: { ca: Buffer; method?: string; body?: unknown; token?: string },
): Promise<{ status: number; headers: Record<string, unknown>; body: unknown }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      ...(o.token ? { authorization: `Bearer ${o.token}` } : {}),
    };
    const req = httpsRequest(url, { method: o.method ?? 'GET', ca: o.ca, headers }, (r) => {
      let text = '';
      r.on('data', (c) => {
        text += c;
      });
      r.on('end', () => resolve({ status: r.statusCode ?? 0, headers: r.headers, body: text ? JSON.parse(text) : undefined }));
    });
    req.on('error', reject);
    req.end(o.body === undefined ? undefined : JSON.stringify(o.body));
  });
}

async function adminApi(port: number, password: string, scheme = 'http'): Promise<Api> {
  const api = new Api(`${scheme}://127.0.0.1:${port}`);
  await api.login('admin', password);
  return api;
}

describe('hub process', () => {
  it('--help documents every flag with its default and variable', async () => {
    const r = await runHub(['--help']);
    assert.equal(r.code, 0);
    for (const flag of [
      '--port',
      '--mqtt-port',
      '--data-dir',
      '--tls-cert',
      '--ping-interval',
      '--ping-timeout',
      '--max-frame',
      '--device-rate',
      '--retention',
      '--bridge',
      '--mqtt-prefix',
      '--log-level',
    ]) {
      assert.ok(r.stdout.includes(flag), flag);
    }
    assert.match(r.stdout, /--ping-interval .*\(default 30s\)/);
    assert.match(r.stdout, /env HALYARD_MQTT_PORT/);
  });

  it('exits 2 with a clear message for bad flags and values', async () => {
    for (const [args, text] of [
      [['--no-such-flag'], /no-such-flag/],
      [['--ping-interval', 'often'], /--ping-interval: must be a duration/],
      [['--port', '70000'], /--port must be 0-65535/],
      [['--tls-cert', 'x.pem'], /--tls-cert and --tls-key go together/],
    ] as const) {
      const r = await runHub([...args]);
      assert.equal(r.code, 2, String(args));
      assert.match(r.stderr, text);
    }
  });

  it('prints the first admin password once, on first start only; SIGTERM exits 0 after closing sessions with 1001', async () => {
    const dir = tempDir();
    const h = await spawnHub(['--data-dir', dir]);
    const m = /Password: (\S+)/.exec(h.stderr);
    assert.ok(m, 'the password is printed');
    const password = m[1] as string;
    assert.ok(h.mqttPort > 0, 'the listening line has the MQTT port');
    const api = await adminApi(h.port, password);
    const token = await api.provision('proc-1');
    const d = await TestDevice.connect(`ws://127.0.0.1:${h.port}`, token);
    d.telemetry([{ n: 'x', v: 1 }]);
    await d.waitAck(1);
    h.proc.kill('SIGTERM');
    assert.equal((await d.waitClosed()).code, 1001);
    assert.deepStrictEqual(await h.exited, { code: 0, signal: null });
    assert.ok(!h.stdout.join('\n').includes(password), 'the password never goes to the log');
    const again = await spawnHub(['--data-dir', dir]);
    assert.ok(!/Password:/.test(again.stderr), 'not printed again');
    const api2 = await adminApi(again.port, password);
    const r = await api2.get('/devices/proc-1/telemetry?name=x&from=0');
    assert.equal(r.body.series[0].points.length, 1, 'data survives a restart');
    again.proc.kill('SIGINT');
    assert.equal((await again.exited).code, 0);
  });

  it('serves wss and https with a certificate, with HSTS', async () => {
    const dir = tempDir();
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    const h = await spawnHub(['--data-dir', dir, '--tls-cert', cert, '--tls-key', key, '--admin-password', 'secret-password']);
    try {
      const ca = readFileSync(cert);
      // https with the certificate as the only trusted CA.
      const health = await httpsJson(`https://127.0.0.1:${h.port}/healthz`, { ca });
      assert.equal(health.status, 200);
      assert.match(String(health.headers['strict-transport-security']), /max-age=\d+/);
      const login = await httpsJson(`https://127.0.0.1:${h.port}/api/v1/login`, {
        ca,
        method: 'POST',
        body: { username: 'admin', password: 'secret-password' },
      });
      assert.match(String(login.headers['set-cookie']), /Secure/);
      const created = await httpsJson(`https://127.0.0.1:${h.port}/api/v1/devices`, {
        ca,
        method: 'POST',
        body: { id: 'tls-dev' },
        token: (login.body as { token: string }).token,
      });
      const deviceToken = (created.body as { token: string }).token;
      const ws = new WebSocket(`wss://127.0.0.1:${h.port}/v1/device`, ['halyard.v1'], {
        ca,
        headers: { authorization: `Bearer ${deviceToken}` },
      });
      const welcome = await new Promise<number>((resolve, reject) => {
        ws.once('open', () => ws.send(encode({ type: MessageType.Hello, proto: 1, fw: '1', model: 't' })));
        ws.once('message', (data: Buffer) => {
          const r = decode(new Uint8Array(data));
          resolve(r.ok ? r.message.type : -1);
        });
        ws.once('error', reject);
      });
      assert.equal(welcome, MessageType.Welcome);
      ws.close();
    } finally {
      h.proc.kill('SIGTERM');
      await h.exited;
    }
  });

  it('loses nothing acknowledged when killed with SIGKILL during ingest', async () => {
    const dir = tempDir();
    const h = await spawnHub(['--data-dir', dir, '--admin-password', 'secret-password']);
    const api = await adminApi(h.port, 'secret-password');
    const tokens = await Promise.all([0, 1, 2].map((i) => api.provision(`kill-${i}`)));
    const devices = await Promise.all(tokens.map((tok) => TestDevice.connect(`ws://127.0.0.1:${h.port}`, tok)));
    // Stream without waiting for ACKs, so frames are in flight when the kill lands.
    let seq = 0;
    await new Promise<void>((resolve) => {
      const tick = () => {
        for (let k = 0; k < 20; k++) {
          seq++;
          for (const d of devices) {
            d.seq = seq;
            d.send({ type: MessageType.Telemetry, seq, pack: [{ n: 'v', v: seq, t: seq / 1000 - 1e6 }] });
          }
        }
        if (devices.every((d) => d.acked >= 500)) {
          h.proc.kill('SIGKILL');
          resolve();
        } else setImmediate(tick);
      };
      tick();
    });
    await h.exited;
    const acked = devices.map((d) => d.acked);
    assert.ok(acked.every((a) => a >= 500));
    const again = await spawnHub(['--data-dir', dir]);
    try {
      const api2 = await adminApi(again.port, 'secret-password');
      for (const [i, a] of acked.entries()) {
        const r = await api2.get(`/devices/kill-${i}/telemetry?name=v&from=0&limit=100000`);
        const values: number[] = r.body.series[0].points.map((p: { v: number }) => p.v);
        const set = new Set(values);
        assert.equal(set.size, values.length, 'no row twice');
        for (let s = 1; s <= a; s++) assert.ok(set.has(s), `kill-${i}: acknowledged seq ${s} is stored`);
        const dev = await api2.get(`/devices/kill-${i}`);
        assert.ok(dev.body.lastSeq >= a, 'the durable seq covers every ACK');
      }
    } finally {
      again.proc.kill('SIGTERM');
      await again.exited;
    }
  });
});
