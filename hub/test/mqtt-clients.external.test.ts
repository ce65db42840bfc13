// Mosquitto's own command-line clients as a second, independent MQTT
// implementation against the embedded broker: login, retained state, the topic
// table, a command round trip to a real device, refusals, and MQTT over TLS.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { type Command, MessageType } from '@halyard/firmware-protocol';
import { hashPassword } from '../src/auth/secrets.js';
import { loadConfig } from '../src/config.js';
import { startHub } from '../src/hub.js';
import { createLogger } from '../src/log.js';
import { TestDevice } from './helpers/device.js';
import { startTestHub, type TestHub } from './helpers/hub.js';
import { MosquittoSub, mosquittoPub } from './helpers/mosquitto.js';
import { createIntegrator } from './helpers/mqtt.js';

describe('mosquitto_sub and mosquitto_pub against the embedded broker', () => {
  let t: TestHub;
  let conn: string[];
  const subs: MosquittoSub[] = [];
  const sub = (args: string[]) => {
    const s = MosquittoSub.start([...conn, ...args]);
    subs.push(s);
    return s;
  };
  before(async () => {
    t = await startTestHub();
    await createIntegrator(t.api, 'mosq', 'mosq-password');
    conn = ['-h', '127.0.0.1', '-p', String(t.hub.mqttPort), '-u', 'mosq', '-P', 'mosq-password'];
  });
  after(async () => {
    for (const s of subs) s.stop();
    await t.close();
  });

  it('refuses mosquitto_sub without credentials', async () => {
    const s = MosquittoSub.start(['-h', '127.0.0.1', '-p', String(t.hub.mqttPort), '-t', '#']);
    subs.push(s);
    assert.notEqual(await s.exited(), 0);
    assert.match(s.stderr, /not authori[sz]ed/i);
  });

  it('delivers retained state and live topics, and carries a mosquitto_pub command to a device and back', async () => {
    const token = await t.api.provision('mosq-dev');
    const s = sub(['-t', 'halyard/#']);
    const hub = await s.next('halyard/hub/status');
    assert.deepStrictEqual([hub.retain, hub.payload], [true, 'online']);
    assert.equal((await s.next('halyard/devices/mosq-dev/status')).payload, 'offline');

    const d = await TestDevice.connect(t.ws, token);
    await s.next('halyard/devices/mosq-dev/status', (l) => l.payload === 'online' && !l.retain);
    await d.waitAck(d.telemetry([{ n: 'temp', u: 'Cel', v: 19.5, t: 1_760_000_000 }]));
    assert.deepStrictEqual(JSON.parse((await s.next('halyard/devices/mosq-dev/telemetry')).payload), [
      { n: 'temp', t: 1_760_000_000, u: 'Cel', v: 19.5 },
    ]);

    await mosquittoPub([...conn, '-q', '1', '-t', 'halyard/devices/mosq-dev/cmd/blink', '-m', '{"params":{"times":2},"id":"mp-1"}']);
    const cmd = (await d.waitFor((m) => m.type === MessageType.Command)) as Command;
    assert.deepStrictEqual([cmd.name, cmd.params], ['blink', { times: 2 }]);
    d.send({ type: MessageType.CmdAccepted, id: cmd.id });
    d.send({ type: MessageType.CmdResult, id: cmd.id, status: 0 });
    await s.next('halyard/devices/mosq-dev/cmd/blink/status', (l) => l.payload.includes('"succeeded"'));
    const statuses = s.lines.filter((l) => l.topic === 'halyard/devices/mosq-dev/cmd/blink/status').map((l) => JSON.parse(l.payload));
    assert.deepStrictEqual(
      statuses.map((x) => [x.id, x.status]),
      [
        ['mp-1', 'queued'],
        ['mp-1', 'sent'],
        ['mp-1', 'accepted'],
        ['mp-1', 'succeeded'],
      ],
    );

    // `mosquitto_pub -n` (empty payload) is a command without parameters.
    await mosquittoPub([...conn, '-t', 'halyard/devices/mosq-dev/cmd/ping', '-n']);
    await d.waitFor((m) => m.type === MessageType.Command && m.name === 'ping');
    // A malformed one is answered, not ignored.
    await mosquittoPub([...conn, '-t', 'halyard/devices/mosq-dev/cmd/ping', '-m', '{nope']);
    assert.match(
      (await s.next('halyard/devices/mosq-dev/cmd/ping/status', (l) => l.payload.includes('rejected'))).payload,
      /HUB_ERR_BAD_REQUEST/,
    );
    await d.close();
  });

  it('disconnects mosquitto_pub publishing to a hub-only topic, and nothing is stored', async () => {
    await assert.rejects(
      (async () => {
        await mosquittoPub([...conn, '-q', '1', '-r', '-t', 'halyard/devices/mosq-dev/status', '-m', 'forged']);
      })(),
    );
    const s = sub(['-t', 'halyard/devices/mosq-dev/status', '-W', '2']);
    const line = await s.next('halyard/devices/mosq-dev/status');
    assert.equal(line.payload, 'offline');
  });
});

describe('MQTT over TLS (--mqtts-port) with mosquitto_sub', () => {
  it('accepts mosquitto_sub over TLS with the hub certificate', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'halyard-tls-'));
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    execFileSync('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
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
    ]);
    // The test helpers speak plain HTTP, so this hub (HTTPS with TLS on) gets its integrator straight from the store.
    const config = loadConfig(
      [
        ...['--port', '0', '--host', '127.0.0.1', '--mqtt-port', '0', '--mqtts-port', '0', '--tls-cert', cert, '--tls-key', key],
        ...['--data-dir', join(dir, 'data'), '--admin-password', 'admin-password-123', '--log-level', 'warn', '--log-format', 'json'],
      ],
      {},
    );
    const hub = await startHub(config, createLogger(config, new Writable({ write: (_c, _e, cb) => cb() })));
    try {
      assert.ok(hub.mqttsPort !== undefined && hub.mqttsPort > 0);
      await hub.ctx.store.op('createIntegrator', {
        username: 'tls',
        passwordHash: await hashPassword('tls-password'),
        acl: null,
        createdAt: Date.now(),
      });
      const s = MosquittoSub.start([
        '-h',
        '127.0.0.1',
        '-p',
        String(hub.mqttsPort),
        '--cafile',
        cert,
        '-u',
        'tls',
        '-P',
        'tls-password',
        '-t',
        'halyard/hub/status',
        '-C',
        '1',
      ]);
      const line = await s.next('halyard/hub/status');
      assert.deepStrictEqual([line.retain, line.payload], [true, 'online']);
      assert.equal(await s.exited(), 0);
    } finally {
      await hub.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
