// Password guessing slows the guesser, not the account (SECURITY.md, "Password
// guessing"): wrong passwords from one address, over HTTP or MQTT, do not keep the
// right password out from another. Clients bind distinct loopback addresses.

import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ADMIN_PASSWORD, startTestHub, type TestHub } from './helpers/hub.js';
import { createIntegrator } from './helpers/mqtt.js';

const ATTACKER = '127.0.0.2';
const OWNER = '127.0.0.3';

/** POST /api/v1/login from `localAddress`. */
function login(
  port: number,
  localAddress: string,
  username: string,
  password: string,
): Promise<{ status: number; retryAfter: string | undefined }> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ username, password });
    const req = request(
      {
        host: '127.0.0.1',
        port,
        localAddress,
        method: 'POST',
        path: '/api/v1/login',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function mqttString(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  return Buffer.concat([Buffer.from([b.length >> 8, b.length & 255]), b]);
}

// Client ids need only be distinct: a counter, not a random choice.
let clientSeq = 0;

/** An MQTT 3.1.1 CONNECT from `localAddress`; resolves with the CONNACK return code. */
function connack(port: number, localAddress: string, username: string, password: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const body = Buffer.concat([
      mqttString('MQTT'),
      Buffer.from([4, 0xc2, 0, 30]), // level 4; username, password, clean session; keep-alive 30 s
      mqttString(`c-${process.pid}-${++clientSeq}`),
      mqttString(username),
      mqttString(password),
    ]);
    const s = connect({ host: '127.0.0.1', port, localAddress });
    let got = Buffer.alloc(0);
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error('no CONNACK within 5 s'));
    }, 5_000);
    s.on('data', (d) => {
      got = Buffer.concat([got, d]);
      if (got.length >= 4) {
        clearTimeout(timer);
        s.destroy();
        resolve(got[3] as number);
      }
    });
    s.on('error', reject);
    s.write(Buffer.concat([Buffer.from([0x10, body.length]), body]));
  });
}

describe('login throttling', () => {
  let t: TestHub;
  before(async () => {
    t = await startTestHub();
    await createIntegrator(t.api, 'erp', 'erp-password-123');
  });
  after(() => t.close());

  it('HTTP: five wrong passwords for admin from one address get it a 429 with Retry-After; the owner elsewhere logs in', async () => {
    for (let i = 0; i < 5; i++) assert.equal((await login(t.hub.port, ATTACKER, 'admin', `wrong-${i}`)).status, 401);
    const throttled = await login(t.hub.port, ATTACKER, 'admin', ADMIN_PASSWORD);
    assert.equal(throttled.status, 429);
    assert.ok(Number(throttled.retryAfter) >= 1, `Retry-After: ${throttled.retryAfter}`);
    assert.ok(t.logs.some((l) => l.msg === 'login throttled' && l.ip === ATTACKER));
    assert.equal((await login(t.hub.port, OWNER, 'admin', ADMIN_PASSWORD)).status, 200);
    // Still throttled from the guessing address.
    assert.equal((await login(t.hub.port, ATTACKER, 'admin', ADMIN_PASSWORD)).status, 429);
  });

  it('MQTT: wrong passwords for an integrator from one address do not refuse the right one from another', async () => {
    for (let i = 0; i < 5; i++) assert.equal(await connack(t.hub.mqttPort, ATTACKER, 'erp', `wrong-${i}`), 4);
    assert.equal(await connack(t.hub.mqttPort, ATTACKER, 'erp', 'erp-password-123'), 5, 'the guesser is throttled (not authorized)');
    assert.equal(await connack(t.hub.mqttPort, OWNER, 'erp', 'erp-password-123'), 0);
  });
});
