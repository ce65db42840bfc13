// deploy/haproxy.cfg, the load balancer configuration the repo ships (README.md,
// Running a cluster): HAProxy accepts it as it is, and the test form of it (ports and
// backends swapped in by helpers/haproxy.ts) carries HTTP, device WebSockets and MQTT
// with the PROXY protocol to a hub that trusts it, so the hub sees the real client.
// The client connects from 127.0.0.5; HAProxy reaches the hub from 127.0.0.1.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { eventually } from './helpers/eventually.js';
import { deployConfigPath, startHaproxy, type TestHaproxy } from './helpers/haproxy.js';
import { startTestHub, type TestHub } from './helpers/hub.js';
import { createIntegrator } from './helpers/mqtt.js';
import { RawMqtt } from './helpers/raw-mqtt.js';

const run = promisify(execFile);
const CLIENT = '127.0.0.5';
const HAPROXY = ['/usr/sbin/haproxy', 'haproxy'];

async function haproxyCheck(file: string): Promise<string> {
  let last: unknown;
  for (const bin of HAPROXY) {
    try {
      const { stdout, stderr } = await run(bin, ['-c', '-f', file]);
      return stdout + stderr;
    } catch (err) {
      last = err;
      if ((err as { code?: unknown }).code !== 'ENOENT') throw err;
    }
  }
  throw last;
}

function upgrade(port: number, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      localAddress: CLIENT,
      path: '/v1/device',
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
        'sec-websocket-protocol': 'halyard.v1',
        authorization: `Bearer ${token}`,
      },
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('upgrade', (_res, socket) => {
      socket.destroy();
      resolve(101);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('deploy/haproxy.cfg', () => {
  it('is a valid HAProxy configuration as shipped', async () => {
    assert.match(await haproxyCheck(deployConfigPath()), /Configuration file is valid/);
  });

  describe('in front of a hub that trusts it', () => {
    let t: TestHub;
    let lb: TestHaproxy;
    before(async () => {
      t = await startTestHub(['--trusted-proxies', '127.0.0.1']);
      await createIntegrator(t.api, 'erp', 'erp-password-123');
      lb = await startHaproxy({
        backends: [{ host: '127.0.0.1', port: t.hub.port }],
        mqttBackends: [{ host: '127.0.0.1', port: t.hub.mqttPort }],
        mqttSendProxy: true,
      });
    });
    after(async () => {
      await lb?.stop();
      await t?.close();
    });

    it('its test form is valid too, and the hub passes its health checks', async () => {
      const file = join(lb.dir, 'check.cfg');
      writeFileSync(file, lb.config);
      assert.match(await haproxyCheck(file), /Configuration file is valid/);
      assert.match(lb.config, /send-proxy-v2/);
      // Both backends are UP: the HTTP check on /healthz and the TCP check on MQTT pass.
      const states = await lb.servers();
      assert.deepEqual(
        states.map((s) => [s.server, s.status]),
        [
          ['hub0', 'UP'],
          ['mqtt0', 'UP'],
        ],
      );
      // The MQTT checks connect and close without a byte: not a refusal worth a log line.
      assert.equal(
        t.logs.some((l) => l.msg.startsWith('mqtt connection refused')),
        false,
      );
    });

    it('MQTT through it: the hub logs and throttles the client, not the balancer', async () => {
      const bad = await RawMqtt.connect(lb.mqttPort as number, {
        username: 'erp',
        password: 'wrong',
        clientId: 'via-lb-1',
        clean: true,
        localAddress: CLIENT,
      });
      assert.equal(bad.returnCode, 4);
      bad.raw.socket.destroy();
      await eventually(() => t.logs.find((l) => l.msg === 'mqtt login refused' && l.ip === CLIENT), 'the refusal logged with the client');
      const good = await RawMqtt.connect(lb.mqttPort as number, {
        username: 'erp',
        password: 'erp-password-123',
        clientId: 'via-lb-2',
        clean: true,
        localAddress: CLIENT,
      });
      assert.equal(good.returnCode, 0);
      good.raw.socket.destroy();
    });

    it('HTTP and device upgrades through it carry the client address (X-Forwarded-For)', async () => {
      assert.equal(await upgrade(lb.httpPort, 'nobody.wrong-secret'), 401);
      await eventually(
        () => t.logs.find((l) => l.msg.startsWith('device upgrade refused') && l.remote === CLIENT),
        'the refusal logged with the client',
      );
      const token = await t.api.provision('lb-dev-1');
      assert.equal(await upgrade(lb.httpPort, token), 101);
    });
  });
});
