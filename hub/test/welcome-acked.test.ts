// WELCOME's `acked` after a quick reconnect (SPEC.md §5.5): a device that drops its
// connection and reconnects at once, while the frames it sent on the old one are still
// being committed, must get an `acked` that covers them. A device that lost its counter
// numbers on from `acked`; with an `acked` short of those frames, its new frames took
// their numbers and were acknowledged as resends, never stored (found by a firmware
// author writing a client from SPEC.md alone). Commits are held back by a lock taken
// beside the hub, on either store.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MessageType } from '@halyard/firmware-protocol';
import { TestDevice } from './helpers/device.js';
import { eventually } from './helpers/eventually.js';
import { holdCommits } from './helpers/hold-commits.js';
import { startTestHub, type TestHub } from './helpers/hub.js';

describe("WELCOME's acked after a quick reconnect", () => {
  let t: TestHub;
  before(async () => {
    t = await startTestHub();
  });
  after(() => t.close());

  it('covers the frames of the earlier connection still being stored, so a device that lost its counter loses nothing', async () => {
    const token = await t.api.provision('quick-1');
    const first = await TestDevice.connect(t.ws, token);
    const lock = await holdCommits(t);
    try {
      for (let v = 1; v <= 20; v++) first.telemetry([{ n: 'x', v }]);
      await eventually(() => t.hub.ctx.fleet.get('quick-1')?.acceptedSeq === 20, 'the 20 frames read by the hub');
      // The link drops; the device reconnects at once, its counter lost.
      first.ws.terminate();
      const second = await TestDevice.open(t.ws, token);
      second.send({ type: MessageType.Hello, proto: 1, fw: '1.0.0', model: 'test-device' });
      // The hub either holds WELCOME back (and says so) or answers at once: the latter with an `acked` short of the 20.
      const holding = () =>
        t.logs.some((l) => l.msg === 'device HELLO: WELCOME waits for frames of an earlier connection to be stored' && l.frames === 20);
      await eventually(() => holding() || second.welcome !== undefined, 'the hub holding WELCOME back, or a WELCOME');
      assert.equal(second.welcome, undefined, `no WELCOME while those frames are not stored: ${JSON.stringify(second.welcome)}`);
      await lock.release();
      const welcome = (await second.waitFor((m) => m.type === MessageType.Welcome)) as { acked: number };
      assert.equal(welcome.acked, 20);
      // Numbered on from acked (SPEC.md §5.5, step 2): stored, not taken for a resend.
      second.seq = welcome.acked;
      await second.waitAck(second.telemetry([{ n: 'x', v: 21 }]));
      const got = await t.api.get('/devices/quick-1/telemetry?name=x&from=0');
      const values = (got.body.series as { points: { v: number }[] }[])[0]?.points.map((p) => p.v);
      assert.deepEqual(
        values,
        Array.from({ length: 21 }, (_, i) => i + 1),
      );
      await second.close();
    } finally {
      await lock.release().catch(() => {});
    }
  });
});

describe('WELCOME given up after --welcome-wait', () => {
  let t: TestHub;
  before(async () => {
    t = await startTestHub(['--welcome-wait', '300ms']);
  });
  after(() => t.close());

  it('closes the new connection with 1011 while the earlier frames are still not stored; they are kept, and a later connection gets them acked', async () => {
    const token = await t.api.provision('slow-1');
    const first = await TestDevice.connect(t.ws, token);
    const lock = await holdCommits(t);
    try {
      for (let v = 1; v <= 5; v++) first.telemetry([{ n: 'x', v }]);
      await eventually(() => t.hub.ctx.fleet.get('slow-1')?.acceptedSeq === 5, 'the 5 frames read by the hub');
      first.ws.terminate();
      const second = await TestDevice.open(t.ws, token);
      second.send({ type: MessageType.Hello, proto: 1, fw: '1.0.0', model: 'test-device' });
      const closed = await second.waitClosed();
      assert.equal(closed.code, 1011);
      assert.equal(second.welcome, undefined, 'no WELCOME with an acked short of the 5 frames');
      assert.match(second.error?.message ?? '', /earlier connection are still being stored; reconnect later/);
    } finally {
      await lock.release();
    }
    // The device reconnects as after any close: the 5 frames are there, acked.
    const third = await TestDevice.connect(t.ws, token);
    assert.equal(third.welcome?.acked, 5);
    const got = await t.api.get('/devices/slow-1/telemetry?name=x&from=0');
    assert.deepEqual(
      (got.body.series as { points: { v: number }[] }[])[0]?.points.map((p) => p.v),
      [1, 2, 3, 4, 5],
    );
    await third.close();
  });
});
