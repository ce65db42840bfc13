// --trusted-proxies (README.md, Running a cluster): behind a load balancer the hub
// limits, throttles and logs the real client. X-Forwarded-For (HTTP and WebSocket
// upgrades) and the PROXY protocol (MQTT over TCP) count only from the configured
// proxies; from anyone else they are ignored or refused. Clients bind distinct
// loopback addresses: 127.0.0.4 plays the load balancer, 127.0.0.2 a direct client.

import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { eventually } from './helpers/eventually.js';
import { startTestHub, type TestHub } from './helpers/hub.js';
import { createIntegrator } from './helpers/mqtt.js';
import { RawMqtt } from './helpers/raw-mqtt.js';

const PROXY = '127.0.0.4';
const DIRECT = '127.0.0.2';

function http(
  port: number,
  localAddress: string,
  path: string,
  headers: Record<string, string>,
  body?: unknown,
): Promise<{ status: number }> {
  return new Promise((resolve, reject) => {
    const text = body === undefined ? '' : JSON.stringify(body);
    const req = request(
      {
        host: '127.0.0.1',
        port,
        localAddress,
        method: body === undefined ? 'GET' : 'POST',
        path,
        headers: {
          ...headers,
          ...(body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
      },
    );
    req.on('error', reject);
    req.end(text);
  });
}

const login = (port: number, from: string, xff: string | undefined, password: string) =>
  http(port, from, '/api/v1/login', xff === undefined ? {} : { 'x-forwarded-for': xff }, { username: 'admin', password });

function v2Header(src: [number, number, number, number]): Buffer {
  const sig = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
  return Buffer.concat([sig, Buffer.from([0x21, 0x11, 0, 12, ...src, 127, 0, 0, 1, 0x15, 0xb3, 0x07, 0x5b])]);
}

let clientSeq = 0;
const mqttLogin = (port: number, from: string, password: string, before?: Buffer) =>
  RawMqtt.connect(port, {
    username: 'erp',
    password,
    clientId: `proxied-${++clientSeq}`,
    clean: true,
    localAddress: from,
    ...(before === undefined ? {} : { before }),
  });

describe('trusted proxies', () => {
  let t: TestHub;
  before(async () => {
    t = await startTestHub(['--trusted-proxies', `${PROXY}/32`, '--trusted-proxies', '10.0.0.0/8']);
    await createIntegrator(t.api, 'erp', 'erp-password-123');
  });
  after(() => t.close());

  it('HTTP: throttles the forwarded client, not the proxy every client shares', async () => {
    for (let i = 0; i < 5; i++) assert.equal((await login(t.hub.port, PROXY, '203.0.113.5', 'wrong')).status, 401);
    assert.equal((await login(t.hub.port, PROXY, '203.0.113.5', 'wrong')).status, 429);
    // Another client behind the same proxy is not held back.
    assert.equal((await login(t.hub.port, PROXY, '203.0.113.6', 'wrong')).status, 401);
    assert.equal((await login(t.hub.port, PROXY, '198.51.100.1', 'admin-password-123')).status, 200);
    // A client forging the header in front of the proxy's entry is still itself.
    assert.equal((await login(t.hub.port, PROXY, '198.51.100.1, 203.0.113.5', 'wrong')).status, 429);
  });

  it('HTTP: ignores X-Forwarded-For from anyone but a trusted proxy', async () => {
    for (let i = 0; i < 5; i++) assert.equal((await login(t.hub.port, DIRECT, `203.0.113.${100 + i}`, 'wrong')).status, 401);
    // A fresh forged address each time changed nothing: the direct client is throttled as itself.
    assert.equal((await login(t.hub.port, DIRECT, '203.0.113.200', 'wrong')).status, 429);
  });

  it('HTTP: hostile X-Forwarded-For values are an ordinary request', async () => {
    for (const xff of ['garbage', '1.2.3.4, <script>', ',,,', '[::1', 'x'.repeat(4_000), '999.999.999.999']) {
      assert.equal((await http(t.hub.port, PROXY, '/healthz', { 'x-forwarded-for': xff })).status, 200, xff.slice(0, 30));
    }
  });

  it('WebSocket upgrades: refusals are logged and limited by the forwarded client', async () => {
    const r = await http(t.hub.port, PROXY, '/v1/device', {
      'x-forwarded-for': '203.0.113.30',
      connection: 'Upgrade',
      upgrade: 'websocket',
      'sec-websocket-version': '13',
      'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
      'sec-websocket-protocol': 'halyard.v1',
      authorization: 'Bearer nobody.wrong-secret',
    });
    assert.equal(r.status, 401);
    await eventually(
      () => t.logs.find((l) => l.msg.startsWith('device upgrade refused') && l.remote === '203.0.113.30'),
      'the refusal logged with the client',
    );
  });

  it('MQTT: a PROXY header (v1 or v2) from a trusted proxy names the client', async () => {
    const v1 = await mqttLogin(t.hub.mqttPort, PROXY, 'wrong', Buffer.from('PROXY TCP4 203.0.113.20 127.0.0.1 5555 1883\r\n'));
    assert.equal(v1.returnCode, 4);
    v1.raw.socket.destroy();
    const v2 = await mqttLogin(t.hub.mqttPort, PROXY, 'wrong', v2Header([203, 0, 113, 21]));
    assert.equal(v2.returnCode, 4);
    v2.raw.socket.destroy();
    const refused = (ip: string) => t.logs.find((l) => l.msg === 'mqtt login refused' && l.ip === ip);
    await eventually(() => refused('203.0.113.20') && refused('203.0.113.21'), 'both refusals logged with the client');
    const good = await mqttLogin(t.hub.mqttPort, PROXY, 'erp-password-123', Buffer.from('PROXY TCP4 203.0.113.22 127.0.0.1 5555 1883\r\n'));
    assert.equal(good.returnCode, 0);
    good.raw.socket.destroy();
    // The proxy's health check connects without a header: plain MQTT still works from it.
    const plain = await mqttLogin(t.hub.mqttPort, PROXY, 'erp-password-123');
    assert.equal(plain.returnCode, 0);
    plain.raw.socket.destroy();
  });

  it('MQTT: a bad header from a trusted proxy is refused with a log line', async () => {
    await assert.rejects(mqttLogin(t.hub.mqttPort, PROXY, 'erp-password-123', Buffer.from('PROXY TCP4 not-an-address 1 2 3\r\n')));
    await eventually(
      () => t.logs.find((l) => l.msg.startsWith('mqtt connection refused: PROXY v1') && l.ip === PROXY),
      'the refusal logged',
    );
  });

  it('MQTT: a PROXY header from anyone else is not believed (the broker closes the connection)', async () => {
    await assert.rejects(
      mqttLogin(t.hub.mqttPort, DIRECT, 'erp-password-123', Buffer.from('PROXY TCP4 203.0.113.40 127.0.0.1 5555 1883\r\n')),
    );
    assert.equal(
      t.logs.some((l) => l.ip === '203.0.113.40'),
      false,
    );
    // The direct client itself connects as usual.
    const plain = await mqttLogin(t.hub.mqttPort, DIRECT, 'erp-password-123');
    assert.equal(plain.returnCode, 0);
    plain.raw.socket.destroy();
  });
});

describe('without --trusted-proxies', () => {
  let t: TestHub;
  before(async () => {
    t = await startTestHub();
  });
  after(() => t.close());

  it('believes no X-Forwarded-For at all', async () => {
    for (let i = 0; i < 5; i++) assert.equal((await login(t.hub.port, PROXY, `203.0.113.${i}`, 'wrong')).status, 401);
    assert.equal((await login(t.hub.port, PROXY, '203.0.113.99', 'wrong')).status, 429);
  });
});
