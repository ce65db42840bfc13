// Outbound bridges against a real Mosquitto, started here on a free port with a
// password file: MQTT 5 and 3.1.1, the mirror, commands carried back, a broker
// restart mid-stream with the retained state republished, the last will when the
// hub dies, Home Assistant discovery through the bridge, and a refused login.
// Independent observers are Mosquitto's own mosquitto_sub and mosquitto_pub.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Command, MessageType } from '@halyard/firmware-protocol';
import { TestDevice } from './helpers/device.js';
import { eventually } from './helpers/eventually.js';
import { startTestHub, type TestHub } from './helpers/hub.js';
import { Mosquitto, MosquittoSub, mosquittoPub } from './helpers/mosquitto.js';

const HUB_USER = 'hub';
const HUB_PASSWORD = 'hub-bridge-password';

describe('bridges to Mosquitto', () => {
  let mosq: Mosquitto;
  let t: TestHub;
  let obs: string[];
  const subs: MosquittoSub[] = [];
  const sub = (args: string[]) => {
    const s = MosquittoSub.start([...obs, ...args]);
    subs.push(s);
    return s;
  };
  const stats = async () => (await t.api.get('/hub/stats')).body.bridges as { url: string; state: string }[];

  before(async () => {
    mosq = await Mosquitto.start({ [HUB_USER]: HUB_PASSWORD, watcher: 'watcher-password' });
    obs = ['-h', '127.0.0.1', '-p', String(mosq.port), '-u', 'watcher', '-P', 'watcher-password'];
    const remote = `${HUB_USER}:${HUB_PASSWORD}@127.0.0.1:${mosq.port}`;
    t = await startTestHub([
      '--bridge',
      `mqtt://${remote}?prefix=site1/&qos=1`,
      '--bridge',
      `mqtt://${remote}?prefix=legacy/&qos=0&version=3.1.1`,
      '--ha-discovery',
    ]);
  });
  after(async () => {
    for (const s of subs) s.stop();
    await t.close();
    await mosq.close();
  });

  it('connects with MQTT 5 by default and with 3.1.1 when asked', async () => {
    await eventually(async () => (await stats()).every((b) => b.state === 'connected'), 'both bridges connected', 15_000);
    const connected = t.logs.filter((l) => l.msg === 'mqtt bridge connected').map((l) => [String(l.bridge).replace(/.*\?/, ''), l.version]);
    assert.deepStrictEqual(connected.sort(), [
      ['prefix=legacy/&qos=0&version=3.1.1', '3.1.1'],
      ['prefix=site1/&qos=1', '5'],
    ]);
    assert.ok(
      (await stats()).every((b) => b.url.includes(':***@')),
      'no password in the stats',
    );
  });

  it('mirrors under each prefix and carries commands from Mosquitto to a device and back', async () => {
    const s = sub(['-t', 'site1/#', '-t', 'legacy/#']);
    assert.equal((await s.next('site1/halyard/hub/status')).payload, 'online');
    assert.equal((await s.next('legacy/halyard/hub/status')).payload, 'online');
    const d = await TestDevice.connect(t.ws, await t.api.provision('mq-1'), { model: 'TH-2', fw: '3.0' });
    await s.next('site1/halyard/devices/mq-1/status', (l) => l.payload === 'online');
    await s.next('legacy/halyard/devices/mq-1/status', (l) => l.payload === 'online');

    await mosquittoPub([
      ...obs,
      '-V',
      'mqttv5',
      '-q',
      '1',
      '-t',
      'site1/halyard/devices/mq-1/cmd/reboot',
      '-m',
      '{"id":"m5-1","timeout":"10s"}',
    ]);
    const c1 = (await d.waitFor((m) => m.type === MessageType.Command)) as Command;
    d.send({ type: MessageType.CmdResult, id: c1.id, status: 0, body: { ok: true } });
    const done = JSON.parse((await s.next('site1/halyard/devices/mq-1/cmd/reboot/status', (l) => l.payload.includes('succeeded'))).payload);
    assert.deepStrictEqual([done.id, done.command, done.result], ['m5-1', c1.id, { ok: true }]);
    // Mirrored on the other bridge too.
    await s.next('legacy/halyard/devices/mq-1/cmd/reboot/status', (l) => l.payload.includes('succeeded'));

    await mosquittoPub([...obs, '-t', 'legacy/halyard/devices/mq-1/twin/desired/set', '-m', '{"interval":30}']);
    const desired = await d.waitFor((m) => m.type === MessageType.Desired);
    assert.deepStrictEqual(desired.type === MessageType.Desired && desired.desired, { interval: 30 });
    const dm = await s.next('site1/halyard/devices/mq-1/twin/desired');
    assert.deepStrictEqual(JSON.parse(dm.payload), { version: 1, desired: { interval: 30 } });
    await d.close();
  });

  it('publishes Home Assistant discovery on the remote broker with the bridge prefix in its topics', async () => {
    const d = await TestDevice.connect(t.ws, (await t.api.post('/devices/mq-1/token')).body.token, { model: 'TH-2', fw: '3.0' });
    await d.waitAck(d.telemetry([{ n: 'temperature', u: 'Cel', v: 20 }]));
    const s = sub(['-t', 'homeassistant/#']);
    await s.until(
      () => s.lines.some((l) => l.topic.endsWith('/temperature/config') && l.payload.includes('site1/halyard')),
      'site1 config',
    );
    const line = s.lines.find((l) => l.topic.endsWith('/temperature/config') && l.payload.includes('site1/halyard'));
    assert.ok(line?.retain);
    assert.match(line?.topic ?? '', /^homeassistant\/sensor\/site1_halyard_mq-1_[0-9a-f]{6}\/temperature\/config$/);
    const c = JSON.parse(line?.payload ?? '{}');
    assert.equal(c.state_topic, 'site1/halyard/devices/mq-1/telemetry');
    assert.deepStrictEqual(c.availability, [{ topic: 'site1/halyard/devices/mq-1/status' }, { topic: 'site1/halyard/hub/status' }]);
    assert.deepStrictEqual(
      [c.unit_of_measurement, c.device_class, c.device.model, c.device.sw_version],
      ['°C', 'temperature', 'TH-2', '3.0'],
    );
    // Home Assistant's birth message on Mosquitto brings every config again.
    const from = s.lines.length;
    await mosquittoPub([...obs, '-t', 'homeassistant/status', '-m', 'online']);
    await s.next(line?.topic ?? '', () => true, from);
    await d.close();
  });

  it('survives a Mosquitto restart mid-stream: reconnects, republishes retained state, and the stream goes on', async () => {
    const d = await TestDevice.connect(t.ws, (await t.api.post('/devices/mq-1/token')).body.token, { model: 'TH-2', fw: '3.0' });
    let n = 0;
    const stream = setInterval(() => d.telemetry([{ n: 'counter', v: ++n }]), 20);
    try {
      const running = sub(['-t', 'site1/halyard/devices/mq-1/telemetry']);
      await running.until(() => running.lines.length >= 5, 'the stream before the restart');
      const connects = () => t.logs.filter((l) => l.msg === 'mqtt bridge connected').length;
      const before = connects();
      await mosq.restart();
      await eventually(async () => connects() >= before + 2, 'both bridges back', 20_000);
      // Mosquitto came back empty: everything retained here was republished by the hub.
      const after = sub(['-t', 'site1/halyard/#', '-t', 'legacy/halyard/hub/status']);
      const [hub, legacy, dev, desired] = await Promise.all([
        after.next('site1/halyard/hub/status', (l) => l.retain),
        after.next('legacy/halyard/hub/status', (l) => l.retain),
        after.next('site1/halyard/devices/mq-1/status', (l) => l.retain),
        after.next('site1/halyard/devices/mq-1/twin/desired', (l) => l.retain),
      ]);
      assert.deepStrictEqual([hub.payload, legacy.payload, dev.payload], ['online', 'online', 'online']);
      assert.deepStrictEqual(JSON.parse(desired.payload), { version: 1, desired: { interval: 30 } });
      const seen = after.lines.length;
      await after.until(
        () => after.lines.slice(seen).filter((l) => l.topic === 'site1/halyard/devices/mq-1/telemetry').length >= 5,
        'the stream after the restart',
      );
      // Commands work over the new connection.
      await mosquittoPub([...obs, '-t', 'site1/halyard/devices/mq-1/cmd/after-restart', '-m', '{}']);
      await d.waitFor((m) => m.type === MessageType.Command && m.name === 'after-restart');
    } finally {
      clearInterval(stream);
      await d.close();
    }
  });

  it('keeps retrying with a refused login, and says why', async () => {
    const bad = await startTestHub(['--bridge', `mqtt://${HUB_USER}:wrong-password@127.0.0.1:${mosq.port}`]);
    try {
      await eventually(async () => bad.logs.filter((l) => l.msg === 'mqtt bridge error').length >= 2, 'two refused attempts', 15_000);
      assert.match(String(bad.logs.find((l) => l.msg === 'mqtt bridge error')?.err), /Not authorized|Bad username/i);
      await eventually(async () => (await bad.api.get('/hub/stats')).body.bridges[0]?.state === 'reconnecting', 'state reconnecting');
    } finally {
      await bad.close();
    }
  });
});

describe('the last will on a bridge', () => {
  it("Mosquitto publishes the hub's offline status when the hub process dies", async () => {
    const mosq = await Mosquitto.start({ [HUB_USER]: HUB_PASSWORD, watcher: 'watcher-password' });
    const dir = mkdtempSync(join(tmpdir(), 'halyard-will-'));
    const watch = MosquittoSub.start([
      '-h',
      '127.0.0.1',
      '-p',
      String(mosq.port),
      '-u',
      'watcher',
      '-P',
      'watcher-password',
      '-t',
      'w/halyard/hub/status',
    ]);
    const hub = spawn(
      process.execPath,
      [
        '--conditions=source',
        '--import',
        'tsx',
        join(import.meta.dirname, '../src/main.ts'),
        ...['--port', '0', '--host', '127.0.0.1', '--mqtt-port', '0', '--data-dir', dir, '--log-format', 'json'],
        ...['--admin-password', 'admin-password-123', '--bridge', `mqtt://${HUB_USER}:${HUB_PASSWORD}@127.0.0.1:${mosq.port}?prefix=w/`],
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      await watch.next('w/halyard/hub/status', (l) => l.payload === 'online', 0, 30_000);
      hub.kill('SIGKILL');
      // No DISCONNECT was sent: the broker publishes the will, retained.
      await watch.next('w/halyard/hub/status', (l) => l.payload === 'offline', 0, 15_000);
      const late = MosquittoSub.start([
        '-h',
        '127.0.0.1',
        '-p',
        String(mosq.port),
        '-u',
        'watcher',
        '-P',
        'watcher-password',
        '-t',
        'w/halyard/hub/status',
        '-C',
        '1',
      ]);
      const last = await late.next('w/halyard/hub/status');
      assert.deepStrictEqual([last.retain, last.payload], [true, 'offline']);
    } finally {
      hub.kill('SIGKILL');
      watch.stop();
      await mosq.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
