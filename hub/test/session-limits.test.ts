// Liveness and limits of device sessions (SPEC.md §8-§9): each breach gets its
// close code and a log line; throttling slows a device without losing data.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CloseCode, MessageType } from '@halyard/firmware-protocol';
import { TestDevice } from './helpers/device.js';
import { eventually } from './helpers/eventually.js';
import { startTestHub, type TestHub } from './helpers/hub.js';

describe('liveness', () => {
  let t: TestHub;
  before(async () => {
    t = await startTestHub(['--ping-interval', '150ms', '--ping-timeout', '150ms']);
  });
  after(() => t.close());

  it('drops a device that stops answering pings, with presence offline/timeout, and keeps one that answers', async () => {
    const silent = await TestDevice.connect(t.ws, await t.api.provision('live-silent'));
    const alive = await TestDevice.connect(t.ws, await t.api.provision('live-alive'));
    // Stop answering pings from now on (the WebSocket library answers them by default).
    silent.ws.pong = () => {};
    (silent.ws as unknown as { _autoPong: boolean })._autoPong = false;
    const closed = await silent.waitClosed(3_000);
    assert.equal(closed.code, 1006, 'terminated without a close handshake');
    const presence = await eventually(async () => {
      const r = await t.api.get('/devices/live-silent/presence');
      return r.body.presence[0]?.online === false ? r.body.presence[0] : undefined;
    }, 'presence offline');
    assert.equal(presence.reason, 'timeout');
    const info = await t.api.get('/devices/live-alive');
    assert.equal(info.body.online, true, 'the answering device is still online');
    assert.equal(typeof info.body.rtt, 'number', 'RTT measured from pongs');
    assert.equal(alive.closed, undefined);
    await alive.close();
  });
});

describe('session limits', () => {
  let t: TestHub;
  before(async () => {
    t = await startTestHub(['--hello-timeout', '200ms', '--device-rate', '50', '--max-connections', '3', '--max-frame', '1KiB']);
  });
  after(() => t.close());

  it('4408 when HELLO does not come in time', async () => {
    const d = await TestDevice.open(t.ws, await t.api.provision('lim-hello'));
    const closed = await d.waitClosed();
    assert.equal(closed.code, CloseCode.HelloTimeout);
    assert.equal(d.error?.code, CloseCode.HelloTimeout);
  });

  it('4413 with an ERROR for a message over --max-frame; WELCOME announces the limit', async () => {
    const d = await TestDevice.connect(t.ws, await t.api.provision('lim-size'));
    assert.equal(d.welcome?.maxFrame, 1024);
    d.telemetry([{ n: 'blob', vs: 'x'.repeat(2000) }]);
    assert.equal((await d.waitClosed()).code, CloseCode.TooLarge);
    assert.match(d.error?.message ?? '', /PROTO_ERR_TOO_LARGE/);
  });

  it('4429 for a ping flood', async () => {
    const d = await TestDevice.connect(t.ws, await t.api.provision('lim-ping'));
    for (let i = 0; i < 10; i++) d.ws.ping();
    assert.equal((await d.waitClosed()).code, CloseCode.RateLimited);
  });

  it('throttles a device over --device-rate without losing or dropping anything', async () => {
    const d = await TestDevice.connect(t.ws, await t.api.provision('lim-rate'));
    const before = (await t.hub.ctx.metrics.throttled.get()).values[0]?.value ?? 0;
    // 50/s with bursts of 250: 300 frames exceed the burst and must be slowed.
    for (let i = 0; i < 300; i++) d.telemetry([{ n: 'r', v: i, t: -i / 1000 }]);
    await d.waitAck(300, 30_000);
    assert.equal(d.closed, undefined, 'not disconnected');
    const after = (await t.hub.ctx.metrics.throttled.get()).values[0]?.value ?? 0;
    assert.ok(after > before, 'the throttle engaged');
    const r = await t.api.get('/devices/lim-rate/telemetry?name=r&from=0&limit=1000');
    assert.equal(r.body.series[0].points.length, 300);
    await d.close();
  });

  it('503 with Retry-After past --max-connections', async () => {
    const open = [];
    for (let i = 0; i < 3; i++) open.push(await TestDevice.connect(t.ws, await t.api.provision(`lim-conn-${i}`)));
    const token = await t.api.provision('lim-conn-x');
    const err = await TestDevice.open(t.ws, token).then(
      () => undefined,
      (e: { status: number; headers: Record<string, string> }) => e,
    );
    assert.equal(err?.status, 503);
    assert.ok(Number(err?.headers['retry-after']) > 0);
    await Promise.all(open.map((d) => d.close()));
    const d = await eventually(() => TestDevice.connect(t.ws, token).catch(() => undefined), 'a free slot');
    await d.close();
  });

  it('4400 for a message before HELLO and for a second HELLO', async () => {
    const a = await TestDevice.open(t.ws, await t.api.provision('lim-order'));
    a.send({ type: MessageType.Telemetry, seq: 1, pack: [{ n: 'x', v: 1 }] });
    assert.equal((await a.waitClosed()).code, CloseCode.Malformed);
    assert.match(a.error?.message ?? '', /HELLO first/);
    const b = await TestDevice.connect(t.ws, await t.api.provision('lim-hello2'));
    b.send({ type: MessageType.Hello, proto: 1, fw: '1', model: 'm' });
    assert.equal((await b.waitClosed()).code, CloseCode.Malformed);
  });

  it('names the offending sequence number in the ERROR when it can be read', async () => {
    const d = await TestDevice.connect(t.ws, await t.api.provision('lim-errseq'));
    d.send({ type: MessageType.Telemetry, seq: 7, pack: [{ n: 'bad name', v: 1 }] });
    assert.equal((await d.waitClosed()).code, CloseCode.Malformed);
    assert.deepStrictEqual({ seq: (d.error as { seq?: number }).seq, code: d.error?.code }, { seq: 7, code: CloseCode.Malformed });
  });

  it('counts refusals in /metrics', async () => {
    const text = await (await fetch(`${t.http}/metrics`)).text();
    assert.match(text, /halyard_frames_rejected_total\{reason="hello_timeout"\} [1-9]/);
    assert.match(text, /halyard_frames_rejected_total\{reason="too_large"\} [1-9]/);
    assert.match(text, /halyard_frames_rejected_total\{reason="rate_limited"\} [1-9]/);
    assert.match(text, /halyard_upgrades_rejected_total\{status="503"\} [1-9]/);
    assert.match(text, /halyard_ack_latency_seconds_bucket/);
  });
});
