// Connections that never log in: one address may hold only --mqtt-pending-per-ip
// of them, so it cannot fill the listener for real integrators, and each one that
// sends no CONNECT within --mqtt-connect-timeout is closed, over TCP and WebSocket.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { hashPassword } from '../src/auth/secrets.js';
import { loadConfig } from '../src/config.js';
import { type Hub, startHub } from '../src/hub.js';
import { createLogger } from '../src/log.js';
import { eventually } from './helpers/device.js';
import { type LogLine, metricSample, startTestHub, type TestHub } from './helpers/hub.js';
import { createIntegrator, TestMqtt } from './helpers/mqtt.js';
import { RawMqtt } from './helpers/raw-mqtt.js';

/** Where the idle sockets come from; the real client connects from 127.0.0.1. */
const IDLE_ADDRESS = '127.0.0.2';
const LOGIN = { username: 'idle-test', password: 'idle-test-password' };

describe('MQTT connections that do not log in', () => {
  describe('per address', () => {
    const LIMIT = 5;
    // More than the listener's 1,000 connections: without the per-address limit they take every slot.
    const IDLE = 1_005;
    let t: TestHub;
    before(async () => {
      t = await startTestHub(['--mqtt-pending-per-ip', String(LIMIT), '--mqtt-connect-timeout', '60s']);
      await createIntegrator(t.api, LOGIN.username, LOGIN.password);
    });
    after(() => t.close());

    it('closes those past the limit at once, and a real client from elsewhere still logs in', async () => {
      const idle = await Promise.all(Array.from({ length: IDLE }, () => RawMqtt.open(t.hub.mqttPort, IDLE_ADDRESS)));
      await eventually(async () => idle.filter((s) => s.closed).length === IDLE - LIMIT || undefined, 'the excess to be closed', 10_000);
      assert.equal(await metricSample(t, 'halyard_mqtt_disconnects_total{reason="too_many_pending"}'), IDLE - LIMIT);
      assert.ok(t.logs.some((l) => l.msg.startsWith('mqtt connection refused: too many') && l.ip === IDLE_ADDRESS && l.limit === LIMIT));

      const c = await TestMqtt.connect(`mqtt://127.0.0.1:${t.hub.mqttPort}`, LOGIN);
      assert.deepStrictEqual(await c.subscribe('halyard/hub/status'), [0]);
      assert.equal((await c.next('halyard/hub/status')).text, 'online');
      await c.close();
      assert.equal(idle.filter((s) => !s.closed).length, LIMIT, 'the idle ones within the limit wait for their timeout');
      for (const s of idle) s.close();
    });

    it('frees a slot once a connection has logged in', async () => {
      await eventually(async () => (await metricSample(t, 'halyard_mqtt_pending_connections')) === 0, 'the idle ones to be gone');
      // More logged-in clients from one address than the limit: each leaves the pending count at CONNACK.
      const clients = [];
      for (let i = 0; i < LIMIT + 2; i++) {
        const r = await RawMqtt.connect(t.hub.mqttPort, { ...LOGIN, clientId: `in-${i}`, clean: true, localAddress: IDLE_ADDRESS });
        assert.equal(r.returnCode, 0);
        clients.push(r.raw);
      }
      assert.ok(clients.every((c) => !c.closed));
      for (const c of clients) c.close();
    });
  });

  describe('without CONNECT in time', () => {
    let t: TestHub;
    before(async () => {
      t = await startTestHub(['--mqtt-connect-timeout', '300ms']);
    });
    after(() => t.close());

    it('closes idle TCP and WebSocket connections and half-sent CONNECTs after the timeout, and counts them', async () => {
      const idle = await RawMqtt.open(t.hub.mqttPort);
      const partial = await RawMqtt.open(t.hub.mqttPort);
      partial.socket.write(Buffer.from([0x10, 0x20, 0x00])); // a CONNECT header announcing 32 bytes, then nothing
      const ws = new WebSocket(`ws://127.0.0.1:${t.hub.port}/mqtt`, 'mqtt');
      const wsClosed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      await idle.waitClosed();
      await partial.waitClosed();
      await wsClosed;
      assert.equal(idle.packets.length + partial.packets.length, 0, 'no CONNACK without a CONNECT');
      assert.equal(await metricSample(t, 'halyard_mqtt_disconnects_total{reason="connect_timeout"}'), 3);
      assert.equal(t.logs.filter((l) => l.msg.startsWith('mqtt connection sent no CONNECT in time') && l.timeoutMs === 300).length, 3);
    });
  });

  describe('over TLS, before the handshake', () => {
    const LIMIT = 3;
    let dir: string;
    let cert: string;
    let hub: Hub;
    const logs: LogLine[] = [];
    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'halyard-tls-'));
      cert = join(dir, 'cert.pem');
      const key = join(dir, 'key.pem');
      execFileSync('openssl', [
        ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
        ...['-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
      ]);
      const config = loadConfig(
        [
          ...['--port', '0', '--host', '127.0.0.1', '--mqtt-port', '0', '--mqtts-port', '0', '--tls-cert', cert, '--tls-key', key],
          ...['--data-dir', join(dir, 'data'), '--admin-password', 'admin-password-123', '--log-format', 'json'],
          ...['--mqtt-connect-timeout', '500ms', '--mqtt-pending-per-ip', String(LIMIT)],
        ],
        {},
      );
      const sink = new Writable({
        write(chunk, _enc, cb) {
          for (const line of String(chunk).split('\n')) if (line.trim()) logs.push(JSON.parse(line) as LogLine);
          cb();
        },
      });
      hub = await startHub(config, createLogger(config, sink));
      // The test helpers speak plain HTTP, so this hub (HTTPS with TLS on) gets its integrator straight from the store.
      await hub.ctx.store.op('createIntegrator', {
        username: LOGIN.username,
        passwordHash: await hashPassword(LOGIN.password),
        acl: null,
        createdAt: Date.now(),
      });
    });
    after(async () => {
      await hub.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('limits handshakes per address and closes one not finished within the CONNECT deadline', async () => {
      const port = hub.mqttsPort as number;
      const idle = await Promise.all(Array.from({ length: LIMIT + 2 }, () => RawMqtt.open(port, IDLE_ADDRESS)));
      await eventually(async () => idle.filter((s) => s.closed).length === 2 || undefined, 'the excess to be closed');
      assert.ok(logs.some((l) => l.msg.startsWith('mqtt connection refused: too many') && l.ip === IDLE_ADDRESS));
      const c = await TestMqtt.connect(`mqtts://127.0.0.1:${port}`, { ...LOGIN, ca: readFileSync(cert) });
      assert.deepStrictEqual(await c.subscribe('halyard/hub/status'), [0]);
      await c.close();
      // Those within the limit never start their handshake: closed at the deadline, not after Node's 120 s.
      for (const s of idle) await s.waitClosed();
      assert.ok(logs.some((l) => l.msg.startsWith('mqtts connection did not finish its TLS handshake in time') && l.timeoutMs === 500));
    });
  });
});
