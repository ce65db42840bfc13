// The console channel client: reconnect with backoff, resubscribe after welcome,
// requests matched to replies, and the endings (4401, a refused upgrade).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ChannelState, ConsoleChannel } from '../src/channel/channel.ts';
import { connectionLook } from '../src/channel/status.ts';
import { FakeClock, FakeNet } from './fakes.ts';

function setup(extra: { sessionValid?: () => Promise<boolean> } = {}) {
  const net = new FakeNet();
  const clock = new FakeClock();
  const states: ChannelState[] = [];
  // random() = 0.5: each delay is half of its ceiling, so the test knows it.
  const ch = new ConsoleChannel({
    url: 'ws://hub/v1/console',
    connect: net.connect,
    timers: clock,
    now: () => clock.now,
    random: () => 0.5,
    backoff: { baseMs: 1_000, capMs: 8_000 },
    ...extra,
  });
  ch.onState((s) => states.push(s));
  return { net, clock, ch, states };
}

describe('console channel client', () => {
  it('goes live on welcome and sends the merged subscriptions', () => {
    const { net, ch } = setup();
    const offA = ch.subscribe('telemetry', ['a']);
    ch.subscribe('telemetry', ['b']);
    ch.subscribe('fleet');
    ch.start();
    assert.equal(ch.state.kind, 'connecting');
    assert.deepEqual(net.last.sent, [], 'nothing is sent before welcome');
    net.last.accept();
    assert.equal(ch.state.kind, 'live');
    assert.deepEqual(net.last.sent, [
      { t: 'sub', stream: 'telemetry', devices: ['a', 'b'] },
      { t: 'sub', stream: 'fleet' },
    ]);
    offA();
    assert.deepEqual(net.last.sent.at(-1), { t: 'sub', stream: 'telemetry', devices: ['b'] });
    ch.subscribe('fleet');
    assert.equal(net.last.sent.length, 3, 'an unchanged wish is not re-sent');
  });

  it('events: one consumer wanting all devices wins over named ones; the last one out unsubscribes', () => {
    const { net, ch } = setup();
    ch.start();
    net.last.accept();
    const named = ch.subscribe('events', ['a']);
    const all = ch.subscribe('events');
    assert.deepEqual(net.last.sent, [
      { t: 'sub', stream: 'events', devices: ['a'] },
      { t: 'sub', stream: 'events' },
    ]);
    all();
    named();
    assert.deepEqual(net.last.sent.slice(2), [
      { t: 'sub', stream: 'events', devices: ['a'] },
      { t: 'unsub', stream: 'events' },
    ]);
  });

  it('reconnects with growing backoff and resubscribes after the new welcome', () => {
    const { net, clock, ch, states } = setup();
    ch.subscribe('stats');
    ch.start();
    net.last.accept();
    net.last.drop(1006);
    let s = ch.state;
    assert.equal(s.kind, 'waiting');
    assert.equal(s.kind === 'waiting' && s.retryAt - clock.now, 500, 'attempt 0: half of 1 s');
    assert.equal(s.kind === 'waiting' && s.reason, 'the hub cannot be reached');

    clock.advance(499);
    assert.equal(net.sockets.length, 1);
    clock.advance(1);
    assert.equal(net.sockets.length, 2, 'retried when the delay ran out');
    net.last.drop(1006);
    s = ch.state;
    assert.equal(s.kind === 'waiting' && s.retryAt - clock.now, 1_000, 'attempt 1: half of 2 s');
    clock.advance(1_000);
    net.last.drop(1006);
    s = ch.state;
    assert.equal(s.kind === 'waiting' && s.retryAt - clock.now, 2_000, 'attempt 2: half of 4 s');
    clock.advance(2_000);
    net.last.accept();
    assert.deepEqual(net.last.sent, [{ t: 'sub', stream: 'stats' }], 'the new connection gets the subscription again');

    // After a welcome the backoff starts over.
    net.last.drop(1001);
    s = ch.state;
    assert.equal(s.kind === 'waiting' && s.retryAt - clock.now, 500);
    assert.equal(s.kind === 'waiting' && s.reason, 'the hub is restarting');
    const live = states.filter((x) => x.kind === 'live');
    assert.deepEqual(
      live.map((x) => x.kind === 'live' && x.generation),
      [1, 2],
      'each welcome is a new generation, so views refetch history',
    );
  });

  it('caps the backoff', () => {
    const { net, clock, ch } = setup();
    ch.start();
    for (let i = 0; i < 10; i++) {
      net.last.drop(1006);
      const s = ch.state;
      assert.ok(s.kind === 'waiting' && s.retryAt - clock.now <= 4_000, 'half of the 8 s cap at most');
      clock.advance(8_000);
    }
  });

  it('by default waits at most 4 s between attempts, however long the hub is down', () => {
    const net = new FakeNet();
    const clock = new FakeClock();
    const ch = new ConsoleChannel({
      url: 'ws://hub/v1/console',
      connect: net.connect,
      timers: clock,
      now: () => clock.now,
      random: () => 0.999,
    });
    ch.start();
    let longest = 0;
    for (let i = 0; i < 20; i++) {
      net.last.drop(1006);
      const s = ch.state;
      if (s.kind === 'waiting') longest = Math.max(longest, s.retryAt - clock.now);
      clock.advance(5_000);
    }
    assert.ok(longest > 3_000 && longest < 4_000, `longest wait ${longest} ms`);
  });

  it('retryNow skips the wait', () => {
    const { net, ch } = setup();
    ch.start();
    net.last.drop(1006);
    ch.retryNow();
    assert.equal(net.sockets.length, 2);
    assert.equal(ch.state.kind, 'connecting');
  });

  it("shows the hub's error message as the reason", () => {
    const { net, ch } = setup();
    ch.start();
    net.last.accept();
    net.last.deliver({ t: 'error', code: 4429, message: 'the console could not keep up for too long; reconnect' });
    net.last.drop(4429);
    const s = ch.state;
    assert.equal(s.kind === 'waiting' && s.reason, 'the console could not keep up for too long; reconnect');
  });

  it('ends on 4401 without reconnecting', () => {
    const { net, clock, ch } = setup();
    ch.start();
    net.last.accept();
    net.last.drop(4401);
    assert.deepEqual(ch.state, { kind: 'ended', reason: 'your session has ended; log in again' });
    clock.advance(120_000);
    assert.equal(net.sockets.length, 1);
  });

  it('ends when a connection that never opened turns out to have no session', async () => {
    const { net, clock, ch } = setup({ sessionValid: async () => false });
    ch.start();
    net.last.drop(1006);
    await new Promise<void>((r) => queueMicrotask(r));
    await Promise.resolve();
    assert.equal(ch.state.kind, 'ended');
    clock.advance(120_000);
    assert.equal(net.sockets.length, 1);
  });

  it('keeps retrying a refused connection while the session is valid', async () => {
    let checks = 0;
    const { net, ch } = setup({
      sessionValid: async () => {
        checks++;
        return true;
      },
    });
    ch.start();
    net.last.drop(1006);
    await Promise.resolve();
    await Promise.resolve();
    assert.equal(checks, 1);
    assert.equal(ch.state.kind, 'waiting');
  });

  it('matches replies to requests and fails them in words when the connection drops', async () => {
    const { net, ch } = setup();
    const offline = await ch.request({ t: 'cancel', command: 'c1' });
    assert.equal(offline.ok ? '' : offline.error.code, 'CONSOLE_OFFLINE');

    ch.start();
    net.last.accept();
    const first = ch.request({ t: 'command', device: 'd1', name: 'reboot', params: { delay: 1 } });
    const second = ch.request({ t: 'cancel', command: 'c1' });
    assert.deepEqual(net.last.sent, [
      { t: 'command', device: 'd1', name: 'reboot', params: { delay: 1 }, req: 1 },
      { t: 'cancel', command: 'c1', req: 2 },
    ]);
    net.last.deliver({ t: 'reply', req: 2, ok: false, error: { code: 'HUB_ERR_FORBIDDEN', message: 'this needs the operator role' } });
    const r2 = await second;
    assert.equal(r2.ok ? '' : r2.error.message, 'this needs the operator role');
    net.last.drop(1006);
    const r1 = await first;
    assert.equal(r1.ok ? '' : r1.error.code, 'CONSOLE_DROPPED');
  });

  it('times a request out', async () => {
    const { net, clock, ch } = setup();
    ch.start();
    net.last.accept();
    const p = ch.request({ t: 'cancel', command: 'c1' });
    clock.advance(30_000);
    const r = await p;
    assert.equal(r.ok ? '' : r.error.code, 'CONSOLE_TIMEOUT');
  });

  it('delivers updates to listeners by type', () => {
    const { net, ch } = setup();
    const seen: string[] = [];
    const off = ch.on('device.removed', (u) => seen.push(u.id));
    ch.start();
    net.last.accept();
    net.last.deliver({ t: 'device.removed', id: 'x' });
    off();
    net.last.deliver({ t: 'device.removed', id: 'y' });
    assert.deepEqual(seen, ['x']);
  });

  it('stop closes for good', () => {
    const { net, clock, ch } = setup();
    ch.start();
    net.last.accept();
    ch.stop();
    assert.equal(net.last.closed?.code, 1000);
    net.last.drop(1000);
    clock.advance(60_000);
    assert.equal(net.sockets.length, 1);
  });
});

describe('connection dot', () => {
  it('is green when live, amber while reconnecting, red when lost, always with words', () => {
    assert.equal(connectionLook({ kind: 'live', since: 0, generation: 1 }, 0).tone, 'live');
    const waiting = { kind: 'waiting' as const, attempt: 1, retryAt: 3_000, downSince: 0, reason: 'the hub cannot be reached' };
    const early = connectionLook(waiting, 1_000);
    assert.deepEqual(
      [early.tone, early.label, early.detail],
      ['reconnecting', 'Reconnecting', 'the hub cannot be reached; retrying in 2 s'],
    );
    const late = connectionLook({ ...waiting, retryAt: 20_000 }, 12_000);
    assert.deepEqual([late.tone, late.label], ['lost', 'Connection lost']);
    assert.equal(connectionLook({ kind: 'ended', reason: 'x' }, 0).tone, 'lost');
  });
});
