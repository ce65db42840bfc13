// Statements of SPEC.md about the device channel that a firmware author relies on and
// no other test pins down: compression is declined, 4409 comes without ERROR, and a
// duplicate is answered with the high-water mark and never replaces what was stored.

import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { CloseCode, DEVICE_SUBPROTOCOL, MessageType } from '@halyard/firmware-protocol';
import WebSocket from 'ws';
import { TestDevice } from './helpers/device.js';
import { startTestHub, type TestHub } from './helpers/hub.js';

describe('SPEC.md statements about the device channel', () => {
  let t: TestHub;
  before(async () => {
    t = await startTestHub();
  });
  after(() => t.close());

  it('§2.1: an offer of permessage-deflate is declined: 101 without the extension', async () => {
    const token = await t.api.provision('spec-deflate');
    const ws = new WebSocket(`${t.ws}/v1/device`, [DEVICE_SUBPROTOCOL], {
      headers: { authorization: `Bearer ${token}` },
      perMessageDeflate: true,
    });
    let res: IncomingMessage | undefined;
    ws.once('upgrade', (r) => {
      res = r;
    });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    assert.ok(res !== undefined);
    assert.equal(res.statusCode, 101);
    assert.equal(res.headers['sec-websocket-extensions'], undefined);
    assert.equal(ws.extensions, '');
    ws.close();
  });

  it('§8.1: the replaced connection is closed with 4409 and no ERROR', async () => {
    const token = await t.api.provision('spec-replaced');
    const a = await TestDevice.connect(t.ws, token);
    const b = await TestDevice.connect(t.ws, token);
    assert.equal((await a.waitClosed()).code, CloseCode.Replaced);
    assert.equal(a.error, undefined);
    await b.close();
  });

  it('§5.5: a duplicate gets an ACK of the high-water mark; a changed payload at an old seq is discarded and counted', async () => {
    const token = await t.api.provision('spec-dup');
    const d = await TestDevice.connect(t.ws, token);
    const t0 = Math.floor(Date.now() / 1000) - 60;
    for (let i = 1; i <= 3; i++) d.telemetry([{ n: 'x', v: i, t: t0 + i }]);
    await d.waitAck(3);
    const duplicates = async () =>
      Number(/^halyard_frames_duplicate_total (\d+)$/m.exec(await (await fetch(`${t.http}/metrics`)).text())?.[1]);
    const counted = await duplicates();
    const from = d.received.length;
    d.send({ type: MessageType.Telemetry, seq: 1, pack: [{ n: 'x', v: 100, t: t0 + 1 }] });
    const ack = await d.waitFor((m) => m.type === MessageType.Ack, 5_000, from);
    assert.deepEqual(ack, { type: MessageType.Ack, seq: 3 }, 'the ACK names the highest durable seq, not the duplicate');
    const r = await t.api.get(`/devices/spec-dup/telemetry?name=x&from=${t0 * 1000}`);
    assert.deepEqual(
      r.body.series[0].points.map((p: { v: number }) => p.v),
      [1, 2, 3],
      'the changed payload is not stored',
    );
    assert.equal(await duplicates(), counted + 1);
    await d.close();
  });
});
