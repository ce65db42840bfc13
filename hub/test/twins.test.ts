// Twins with real devices (SPEC.md §7): desired pushed at once and on reconnect,
// If-Match, delta, REPORTED in the sequence space (acked, deduplicated), limits.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Desired, MessageType } from '@halyard/firmware-protocol';
import { TestDevice } from './helpers/device.js';
import { eventually } from './helpers/eventually.js';
import { startTestHub, type TestHub } from './helpers/hub.js';

describe('twins', () => {
  let t: TestHub;
  before(async () => {
    t = await startTestHub();
  });
  after(() => t.close());

  it('pushes DESIRED to an online device with the version and the whole document', async () => {
    const d = await TestDevice.connect(t.ws, await t.api.provision('twin-push'));
    let r = await t.api.patch('/devices/twin-push/twin/desired', { setpoint: 21, mode: 'heat' });
    assert.equal(r.status, 200);
    assert.equal(r.body.desiredVersion, 1);
    assert.equal(r.headers.get('etag'), '"1"');
    const first = (await d.waitFor((m) => m.type === MessageType.Desired)) as Desired;
    assert.deepStrictEqual(first, { type: MessageType.Desired, version: 1, desired: { setpoint: 21, mode: 'heat' } });
    r = await t.api.patch('/devices/twin-push/twin/desired', { mode: null, fan: { speed: 2 } });
    const second = (await d.waitFor((m) => m.type === MessageType.Desired && m.version === 2)) as Desired;
    assert.deepStrictEqual(second.desired, { setpoint: 21, fan: { speed: 2 } }, 'merge patch applied, whole document sent');
    // A patch that changes nothing is not a new version and sends nothing.
    r = await t.api.patch('/devices/twin-push/twin/desired', { setpoint: 21 });
    assert.equal(r.body.desiredVersion, 2);
    await d.close();
  });

  it('honours If-Match: 412 on a stale version', async () => {
    await t.api.provision('twin-match');
    await t.api.patch('/devices/twin-match/twin/desired', { a: 1 });
    const stale = await t.api.patch('/devices/twin-match/twin/desired', { a: 2 }, { 'if-match': '"0"' });
    assert.equal(stale.status, 412);
    assert.equal(stale.body.error.code, 'HUB_ERR_VERSION_MISMATCH');
    const fresh = await t.api.patch('/devices/twin-match/twin/desired', { a: 2 }, { 'if-match': '"1"' });
    assert.equal(fresh.status, 200);
    assert.equal(fresh.body.desiredVersion, 2);
    assert.equal((await t.api.patch('/devices/twin-match/twin/desired', { a: 3 }, { 'if-match': 'soon' })).status, 400);
  });

  it('applies REPORTED after commit, computes the delta, dedupes resends', async () => {
    const d = await TestDevice.connect(t.ws, await t.api.provision('twin-report'));
    await t.api.patch('/devices/twin-report/twin/desired', { setpoint: 22, mode: 'eco' });
    d.seq++;
    d.send({ type: MessageType.Reported, seq: d.seq, patch: { setpoint: 22, mode: 'heat', temp: 20.5 } });
    await d.waitAck(d.seq);
    let twin = (await t.api.get('/devices/twin-report/twin')).body;
    assert.deepStrictEqual(twin.reported, { setpoint: 22, mode: 'heat', temp: 20.5 });
    assert.equal(twin.reportedVersion, 1);
    assert.deepStrictEqual(twin.delta, { mode: 'eco' });
    assert.ok(twin.reportedUpdated.mode > 0 && twin.desiredUpdated.setpoint > 0, 'per-key change times');
    // The same REPORTED again (a resend after a lost ACK): acknowledged, not applied twice.
    d.send({ type: MessageType.Reported, seq: d.seq, patch: { temp: 99 } });
    d.seq++;
    d.send({ type: MessageType.Reported, seq: d.seq, patch: { mode: 'eco', temp: null } });
    await d.waitAck(d.seq);
    twin = (await t.api.get('/devices/twin-report/twin')).body;
    assert.deepStrictEqual(twin.reported, { setpoint: 22, mode: 'eco' });
    assert.equal(twin.reportedVersion, 2);
    assert.deepStrictEqual(twin.delta, {});
    await d.close();
  });

  it('sends the desired document on every (re)connect', async () => {
    const token = await t.api.provision('twin-reconnect');
    await t.api.patch('/devices/twin-reconnect/twin/desired', { relay: true });
    for (let i = 0; i < 2; i++) {
      const d = await TestDevice.connect(t.ws, token);
      const m = (await d.waitFor((x) => x.type === MessageType.Desired)) as Desired;
      assert.deepStrictEqual(m.desired, { relay: true });
      await d.close();
    }
    const fresh = await TestDevice.connect(t.ws, await t.api.provision('twin-none'));
    // A device with no desired document gets none (by the time its first ACK arrives, DESIRED would have).
    fresh.telemetry([{ n: 'x', v: 1 }]);
    await fresh.waitAck(1);
    assert.ok(!fresh.received.some((m) => m.type === MessageType.Desired));
    await fresh.close();
  });

  it('refuses desired documents over the limits', async () => {
    await t.api.provision('twin-big');
    const big = await t.api.patch('/devices/twin-big/twin/desired', { blob: 'x'.repeat(20_000) });
    assert.equal(big.status, 413);
    let deep: Record<string, unknown> = { leaf: 1 };
    for (let i = 0; i < 9; i++) deep = { d: deep };
    const nested = await t.api.patch('/devices/twin-big/twin/desired', deep);
    assert.equal(nested.status, 413);
    assert.match(nested.body.error.message, /levels deep/);
    assert.equal((await t.api.get('/devices/twin-big/twin')).body.desiredVersion, 0);
  });

  it('acknowledges a REPORTED over the limits without applying it, and says so in an event', async () => {
    const d = await TestDevice.connect(t.ws, await t.api.provision('twin-over'));
    d.seq++;
    d.send({ type: MessageType.Reported, seq: d.seq, patch: { a: 'y'.repeat(9_000), b: 'z'.repeat(9_000) } });
    await d.waitAck(d.seq);
    assert.equal(d.closed, undefined);
    const twin = (await t.api.get('/devices/twin-over/twin')).body;
    assert.deepStrictEqual(twin.reported, {});
    const ev = await eventually(async () => (await t.api.get('/devices/twin-over/events')).body.events[0], 'an event');
    assert.equal(ev.name, 'twin.reported_rejected');
    assert.match(ev.data.reason, /bytes/);
    await d.close();
  });
});
