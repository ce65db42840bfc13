// The device channel's front door (SPEC.md §2.2): every refusal happens before the
// upgrade, with the right HTTP status.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CloseCode, DEVICE_SUBPROTOCOL, MessageType } from '@halyard/firmware-protocol';
import WebSocket from 'ws';
import { TestDevice } from './helpers/device.js';
import { startTestHub, type TestHub } from './helpers/hub.js';

async function refused(p: Promise<unknown>): Promise<{ status: number; body: string; headers: Record<string, string> }> {
  try {
    await p;
  } catch (err) {
    const e = err as { status?: number; body?: string; headers?: Record<string, string> };
    if (e.status !== undefined) return { status: e.status, body: e.body ?? '', headers: e.headers ?? {} };
    throw err;
  }
  throw new Error('the upgrade was accepted');
}

/** A device upgrade from `localAddress`: the HTTP status it gets (101 when accepted, then closed). */
function upgrade(base: string, token: string, localAddress: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${base}/v1/device`, [DEVICE_SUBPROTOCOL], { headers: { authorization: `Bearer ${token}` }, localAddress });
    ws.once('open', () => {
      ws.once('close', () => resolve(101));
      ws.close(1000);
    });
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    ws.once('error', reject);
  });
}

describe('device authentication', () => {
  let t: TestHub;
  let token: string;
  before(async () => {
    t = await startTestHub();
    token = await t.api.provision('auth-1');
  });
  after(() => t.close());

  it('accepts a good token and answers HELLO with WELCOME', async () => {
    const d = await TestDevice.connect(t.ws, token);
    const w = d.welcome;
    assert.ok(w);
    assert.equal(w.acked, 0);
    assert.equal(w.maxFrame, 65536);
    assert.equal(w.ping, 30);
    assert.ok(Math.abs(w.time - Date.now()) < 5_000);
    await d.close();
  });

  it('401 without a credential, with a malformed one, an unknown device or a wrong secret', async () => {
    const [id, secret] = [token.slice(0, token.lastIndexOf('.')), token.slice(token.lastIndexOf('.') + 1)];
    for (const bad of [
      undefined,
      'nonsense',
      `${id}.`,
      `no-such-device.${secret}`,
      `${id}.${secret.slice(0, -2)}xx`,
      `${id}.${'a'.repeat(43)}`,
    ]) {
      const r = await refused(TestDevice.open(t.ws, bad));
      assert.equal(r.status, 401, String(bad));
      assert.equal(JSON.parse(r.body).error.code, 'HUB_ERR_UNAUTHENTICATED');
    }
  });

  it('400 when the subprotocol is not offered', async () => {
    assert.equal((await refused(TestDevice.open(t.ws, token, { protocols: [] }))).status, 400);
    assert.equal((await refused(TestDevice.open(t.ws, token, { protocols: ['mqtt'] }))).status, 400);
  });

  it('404 for WebSocket upgrades elsewhere', async () => {
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const ws = new WebSocket(`${t.ws}/v2/device`, ['halyard.v1'], { headers: { authorization: `Bearer ${token}` } });
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode));
      ws.once('open', () => reject(new Error('opened')));
      ws.once('error', () => {});
    });
    assert.equal(status, 404);
  });

  it('403 for a revoked device, and revoking ends a live session at once with 4403', async () => {
    const tok = await t.api.provision('auth-revoke');
    const d = await TestDevice.connect(t.ws, tok);
    const r = await t.api.post('/devices/auth-revoke/revoke');
    assert.equal(r.status, 200);
    assert.equal(r.body.revoked, true);
    const closed = await d.waitClosed();
    assert.equal(closed.code, CloseCode.Revoked);
    assert.equal(d.error?.code, CloseCode.Revoked);
    assert.equal((await refused(TestDevice.open(t.ws, tok))).status, 403);
  });

  it('rotating the token disconnects the old session; the old token stops working, the new one works', async () => {
    const tok = await t.api.provision('auth-rotate');
    const d = await TestDevice.connect(t.ws, tok);
    const r = await t.api.post('/devices/auth-rotate/token');
    assert.equal(r.status, 200);
    assert.equal((await d.waitClosed()).code, CloseCode.Revoked);
    assert.equal((await refused(TestDevice.open(t.ws, tok))).status, 401);
    const d2 = await TestDevice.connect(t.ws, r.body.token);
    assert.equal(d2.received[0]?.type, MessageType.Welcome);
    await d2.close();
  });

  it('rotates with no request body at all', async () => {
    await t.api.provision('auth-nobody');
    const res = await fetch(`${t.http}/api/v1/devices/auth-nobody/token`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.api.token}` },
    });
    assert.equal(res.status, 200);
    assert.match(((await res.json()) as { token: string }).token, /^auth-nobody\./);
  });

  it('429 with Retry-After for a device that reconnects too often', async () => {
    const tok = await t.api.provision('auth-storm');
    for (let i = 0; i < 20; i++) {
      const d = await TestDevice.open(t.ws, tok);
      await d.close();
    }
    const r = await refused(TestDevice.open(t.ws, tok));
    assert.equal(r.status, 429);
    assert.ok(Number(r.headers['retry-after']) > 0);
  });

  it('counts failed upgrades toward the reconnect limit per address: the guesser gets 429, the device elsewhere connects', async () => {
    const tok = await t.api.provision('auth-guessed');
    const wrong = `auth-guessed.${'b'.repeat(43)}`;
    for (let i = 0; i < 20; i++) assert.equal(await upgrade(t.ws, wrong, '127.0.0.2'), 401);
    // Refused before the secret is checked: the right token from there waits too, and so does an unknown id, alike.
    assert.equal(await upgrade(t.ws, tok, '127.0.0.2'), 429);
    for (let i = 0; i < 20; i++) assert.equal(await upgrade(t.ws, `auth-nobody-0.${'c'.repeat(43)}`, '127.0.0.5'), 401);
    assert.equal(await upgrade(t.ws, `auth-nobody-0.${'c'.repeat(43)}`, '127.0.0.5'), 429);
    assert.ok(t.logs.some((l) => l.msg.startsWith('device upgrade refused: more than 20 failed') && l.status === 429));
    assert.equal(await upgrade(t.ws, tok, '127.0.0.3'), 101);
  });

  it("counts a device's own failed upgrades with its successful ones", async () => {
    const tok = await t.api.provision('auth-mixed');
    for (let i = 0; i < 15; i++) assert.equal(await upgrade(t.ws, `auth-mixed.${'d'.repeat(43)}`, '127.0.0.4'), 401);
    for (let i = 0; i < 5; i++) assert.equal(await upgrade(t.ws, tok, '127.0.0.4'), 101);
    assert.equal(await upgrade(t.ws, tok, '127.0.0.4'), 429);
  });

  it('never logs a secret', () => {
    const text = JSON.stringify(t.logs);
    assert.ok(!text.includes(token.slice(token.lastIndexOf('.') + 1)));
  });
});
