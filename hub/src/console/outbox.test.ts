// The slow-console outbox (SPEC.md §10.4) against a fake socket and clock.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ConsoleUpdate, decodeCbor, encodeCbor } from '@halyard/firmware-protocol';
import { Outbox, type OutboxSink } from './outbox.js';
import { encodeUpdate } from './updates.js';

class FakeSink implements OutboxSink {
  bufferedAmount = 0;
  readonly sent: ConsoleUpdate[] = [];
  send(bytes: Uint8Array): void {
    const r = decodeCbor(bytes);
    if (!r.ok) throw r.error;
    this.sent.push(r.value as unknown as ConsoleUpdate);
  }
}

const OPTS = { highWaterBytes: 1000, lowWaterBytes: 100, maxEvents: 3, checkIntervalMs: 60_000, maxBackedUpMs: 30_000 };

function setup() {
  const sink = new FakeSink();
  let now = 0;
  let stuck = 0;
  const box = new Outbox(
    sink,
    () => stuck++,
    OPTS,
    () => now,
  );
  return {
    sink,
    box,
    advance(ms: number) {
      now += ms;
    },
    stuck: () => stuck,
  };
}

const presence = (device: string, online: boolean) =>
  encodeUpdate({
    t: 'presence',
    presence: { device, online, reason: online ? 'connected' : 'closed', code: null, at: 1 },
    rtt: 5,
    lastSeen: 1,
  });

describe('console outbox', () => {
  it('sends at once while the socket keeps up', () => {
    const { sink, box } = setup();
    box.offer('fleet', 'presence:a', presence('a', true));
    box.offer('events', undefined, encodeCbor({ t: 'event' }));
    assert.deepEqual(
      sink.sent.map((m) => m.t),
      ['presence', 'event'],
    );
    assert.equal(box.backedUp, false);
    box.close();
  });

  it('keeps only the latest state per key once backed up, then sends it with a dropped count', () => {
    const { sink, box } = setup();
    sink.bufferedAmount = 5_000;
    for (let i = 0; i < 10; i++) box.offer('fleet', 'presence:a', presence('a', i % 2 === 0));
    box.offer('fleet', 'presence:b', presence('b', true));
    box.offer('stats', 'stats', encodeCbor({ t: 'stats', n: 1 }));
    box.offer('stats', 'stats', encodeCbor({ t: 'stats', n: 2 }));
    assert.equal(sink.sent.length, 0, 'nothing more is queued in a backed-up socket');
    assert.equal(box.backedUp, true);

    sink.bufferedAmount = 500;
    box.check();
    assert.equal(sink.sent.length, 0, 'not drained below the low-water mark yet');

    sink.bufferedAmount = 0;
    box.check();
    assert.equal(box.backedUp, false);
    const [a, b, stats, ...dropped] = sink.sent as Record<string, unknown>[];
    assert.equal((a?.presence as { online?: boolean } | undefined)?.online, false, 'the last of ten presence updates');
    assert.equal((b?.presence as { device?: string } | undefined)?.device, 'b');
    assert.equal(stats?.n, 2);
    assert.deepEqual(
      dropped.map((d) => [d.t, d.stream, d.count]),
      [
        ['dropped', 'fleet', 9],
        ['dropped', 'stats', 1],
      ],
    );
    box.close();
  });

  it('keeps the newest point per device and metric', () => {
    const { sink, box } = setup();
    sink.bufferedAmount = 5_000;
    const tel = (points: { name: string; time: number; value: number }[]) =>
      box.offerTelemetry('d1', points, encodeUpdate({ t: 'telemetry', device: 'd1', points }));
    tel([
      { name: 'temp', time: 1_000, value: 1 },
      { name: 'hum', time: 1_000, value: 50 },
    ]);
    tel([{ name: 'temp', time: 3_000, value: 3 }]);
    // A late sample must not replace a newer one.
    tel([{ name: 'temp', time: 2_000, value: 2 }]);
    sink.bufferedAmount = 0;
    box.check();
    const [t, d] = sink.sent as Record<string, unknown>[];
    assert.equal(t?.t, 'telemetry');
    assert.deepEqual(t?.points, [
      { name: 'temp', time: 3_000, value: 3 },
      { name: 'hum', time: 1_000, value: 50 },
    ]);
    assert.deepEqual([d?.t, d?.stream, d?.count], ['dropped', 'telemetry', 2]);
    box.close();
  });

  it('bounds events to the newest few and counts the rest', () => {
    const { sink, box } = setup();
    sink.bufferedAmount = 5_000;
    for (let i = 0; i < 10; i++) box.offer('events', undefined, encodeCbor({ t: 'event', i }));
    sink.bufferedAmount = 0;
    box.check();
    const sent = sink.sent as Record<string, unknown>[];
    assert.deepEqual(
      sent.filter((m) => m.t === 'event').map((m) => m.i),
      [7, 8, 9],
    );
    assert.deepEqual(sent.at(-1), { t: 'dropped', stream: 'events', count: 7 });
    box.close();
  });

  it('sends control messages even when backed up, and discards a stream on request', () => {
    const { sink, box } = setup();
    sink.bufferedAmount = 5_000;
    box.offer('fleet', 'presence:a', presence('a', true));
    box.control(encodeCbor({ t: 'reply', req: 1, ok: true }));
    box.discard('fleet');
    assert.deepEqual(
      sink.sent.map((m) => m.t),
      ['reply'],
    );
    sink.bufferedAmount = 0;
    box.check();
    assert.deepEqual(
      sink.sent.map((m) => m.t),
      ['reply'],
      'the discarded update and its count are gone',
    );
    box.close();
  });

  it('keeps one snapshot per stream while backed up, built once when the socket drains', () => {
    const { sink, box, advance } = setup();
    let built = 0;
    const make = () => {
      built++;
      return [encodeCbor({ t: 'fleet', n: built })];
    };
    sink.bufferedAmount = 5_000;
    box.offer('fleet', 'presence:a', presence('a', true));
    for (let i = 0; i < 10; i++) {
      box.snapshot('fleet', make);
      advance(1_000);
    }
    assert.equal(built, 0, 'nothing built while backed up');
    sink.bufferedAmount = 0;
    box.check();
    assert.equal(built, 1);
    assert.deepEqual(
      sink.sent.map((m) => m.t),
      ['fleet'],
      'one snapshot, which superseded the pending update',
    );
    box.close();
  });

  it('makes at most one snapshot of a stream per interval; those asked for sooner become one at its end', async () => {
    const sink = new FakeSink();
    const box = new Outbox(sink, () => {}, { ...OPTS, snapshotIntervalMs: 30 });
    let built = 0;
    let secondBuilt = () => {};
    const second = new Promise<void>((resolve) => {
      secondBuilt = resolve;
    });
    const make = () => {
      built++;
      if (built === 2) secondBuilt();
      return [encodeCbor({ t: 'stats', n: built })];
    };
    for (let i = 0; i < 50; i++) box.snapshot('stats', make);
    assert.equal(built, 1, 'the first at once, the rest wait');
    await second;
    assert.equal(built, 2, 'the 49 asked for meanwhile became one');
    assert.equal(sink.sent.length, 2);
    box.close();
  });

  it('reports a console that stays backed up too long', () => {
    const t = setup();
    t.sink.bufferedAmount = 5_000;
    t.box.offer('stats', 'stats', encodeCbor({ t: 'stats' }));
    t.advance(29_000);
    t.box.check();
    assert.equal(t.stuck(), 0);
    t.advance(2_000);
    t.box.check();
    assert.equal(t.stuck(), 1);
  });
});
