import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decode, encode, MessageType } from '@halyard/firmware-protocol';
import fc from 'fast-check';
import { Outbox, replaceSeq } from './outbox.js';

// A fixed seed, so a run can be repeated; fast-check names the seed in a failure and
// HALYARD_TEST_SEED replays it.
const FC = { seed: Number(process.env.HALYARD_TEST_SEED ?? 0x0b0c5) >>> 0 };

function telemetry(outbox: Outbox, value = 1): number {
  const seq = outbox.allocate();
  outbox.push(seq, encode({ type: MessageType.Telemetry, seq, pack: [{ n: 'x', v: value }] }));
  return seq;
}

function sendAll(outbox: Outbox, now = 1): number[] {
  const sent: number[] = [];
  for (let e = outbox.peekUnsent(); e !== undefined; e = outbox.peekUnsent()) {
    sent.push(e.seq);
    outbox.markSent(now);
  }
  return sent;
}

describe('Outbox', () => {
  test('numbers messages from 1 and acks cumulatively, reporting latency of sent ones', () => {
    const box = new Outbox(10);
    for (let i = 0; i < 4; i++) telemetry(box);
    assert.deepEqual(sendAll(box, 100), [1, 2, 3, 4]);
    const latencies: number[] = [];
    assert.equal(
      box.ack(3, 130, (ms) => latencies.push(ms)),
      3,
    );
    assert.deepEqual(latencies, [30, 30, 30]);
    assert.deepEqual(box.seqs(), [4]);
    assert.equal(box.inFlight, 1);
  });

  test('drops the oldest entry when full and counts it', () => {
    const box = new Outbox(3);
    let dropped = 0;
    for (let i = 0; i < 5; i++) {
      const seq = box.allocate();
      dropped += box.push(seq, encode({ type: MessageType.Telemetry, seq, pack: [{ n: 'x', v: i }] }));
    }
    assert.equal(dropped, 2);
    assert.deepEqual(box.seqs(), [3, 4, 5]);
  });

  test('resends everything unacknowledged after a WELCOME, without what the hub holds', () => {
    const box = new Outbox(100);
    for (let i = 0; i < 6; i++) telemetry(box);
    sendAll(box);
    const out = box.welcome(4);
    assert.deepEqual(out, { dropped: 4, renumbered: 0 });
    assert.deepEqual(sendAll(box), [5, 6]);
    assert.equal(box.nextSeq, 7);
  });

  test('respects the in-flight window', () => {
    const box = new Outbox(100);
    for (let i = 0; i < 5; i++) telemetry(box);
    const sent: number[] = [];
    for (let e = box.peekUnsent(2); e !== undefined; e = box.peekUnsent(2)) {
      sent.push(e.seq);
      box.markSent(1);
    }
    assert.deepEqual(sent, [1, 2]);
    box.ack(1, 2);
    assert.equal(box.peekUnsent(2)?.seq, 3);
  });

  test('continues from acked + 1 when its counter is behind, renumbering never-sent messages', () => {
    const box = new Outbox(100);
    box.forget();
    telemetry(box, 10);
    telemetry(box, 11);
    const out = box.welcome(500);
    assert.deepEqual(out, { dropped: 0, renumbered: 2 });
    assert.deepEqual(box.seqs(), [501, 502]);
    assert.equal(telemetry(box), 503);
    const first = box.peekUnsent();
    assert.ok(first);
    const decoded = decode(first.bytes);
    assert.ok(decoded.ok);
    assert.equal(decoded.message.type, MessageType.Telemetry);
    if (decoded.message.type === MessageType.Telemetry) {
      assert.equal(decoded.message.seq, 501);
      assert.equal(decoded.message.pack[0]?.v, 10);
    }
  });

  test('drops a refused message only if it was on the wire', () => {
    const box = new Outbox(10);
    telemetry(box);
    assert.equal(box.dropRefused(1), undefined);
    sendAll(box);
    box.resetConnection();
    assert.equal(box.dropRefused(1)?.seq, 1);
    assert.equal(box.size, 0);
  });

  test('drops the refused message by the seq the ERROR named, wherever it is in the buffer (SPEC.md §8.3)', () => {
    const box = new Outbox(10);
    for (let i = 0; i < 4; i++) telemetry(box);
    sendAll(box);
    box.resetConnection();
    assert.equal(box.dropRefused(3)?.seq, 3);
    assert.deepEqual(box.seqs(), [1, 2, 4]);
    assert.equal(box.dropRefused(3), undefined, 'no longer there');
    assert.equal(box.dropRefused(1)?.seq, 1);
    assert.deepEqual(box.seqs(), [2, 4]);
    const resent: number[] = [];
    for (let e = box.peekUnsent(); e !== undefined; e = box.peekUnsent()) {
      resent.push(e.seq);
      box.markSent(1);
    }
    assert.deepEqual(resent, [2, 4]);
  });

  test('replaceSeq rewrites the seq of any width and keeps the rest', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), (a, b) => {
        const bytes = encode({ type: MessageType.Reported, seq: a, patch: { on: true } });
        const re = replaceSeq(bytes, b);
        assert.deepEqual(re, encode({ type: MessageType.Reported, seq: b, patch: { on: true } }));
      }),
      FC,
    );
  });

  test('a long run of pushes and acks keeps order and never loses an unacked entry', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 300 }), (ops) => {
        const box = new Outbox(1_000);
        let acked = 0;
        for (const op of ops) {
          if (op < 4) telemetry(box);
          else {
            sendAll(box);
            acked = Math.min(box.nextSeq - 1, acked + op);
            box.ack(acked, 1);
          }
        }
        const seqs = box.seqs();
        const expected = Array.from({ length: box.nextSeq - 1 - acked }, (_, i) => acked + 1 + i);
        assert.deepEqual(seqs, expected);
      }),
      FC,
    );
  });
});
