import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ENTRY_BYTES, OfflineQueues, type QueuedPacket } from './offline-queue.js';

const msg = (n: number, bytes = 10): QueuedPacket => ({
  topic: 't',
  payload: Buffer.alloc(bytes - 1, 0x61),
  qos: 1,
  brokerId: 'b',
  brokerCounter: n,
  messageId: undefined,
});

function journal() {
  const live = new Map<number, QueuedPacket>();
  return {
    live,
    put: (_c: string, seq: number, p: QueuedPacket) => live.set(seq, { ...p }),
    delete: (_c: string, seq: number) => live.delete(seq),
  };
}

describe('offline queues', () => {
  it('drops the oldest beyond the count bound, counting per client', () => {
    const drops: string[] = [];
    const j = journal();
    const q = new OfflineQueues({ messages: 3, bytes: 1_000 }, j, (c) => drops.push(c));
    for (let n = 1; n <= 5; n++) q.enqueue('a', msg(n));
    q.enqueue('b', msg(1));
    assert.deepEqual(
      q.list('a').map((p) => p.brokerCounter),
      [3, 4, 5],
    );
    assert.deepEqual(q.depth('a'), { messages: 3, bytes: 30, dropped: 2 });
    assert.deepEqual(drops, ['a', 'a']);
    assert.equal(q.size, 4);
    assert.equal(j.live.size, 4, 'the journal saw the drops');
  });

  it('drops the oldest beyond the byte bound, and never keeps a message bigger than it', () => {
    const q = new OfflineQueues({ messages: 100, bytes: 25 }, undefined, () => {});
    q.enqueue('a', msg(1));
    q.enqueue('a', msg(2));
    q.enqueue('a', msg(3));
    assert.deepEqual(
      q.list('a').map((p) => p.brokerCounter),
      [2, 3],
    );
    q.enqueue('a', msg(4, 30));
    assert.deepEqual(q.depth('a'), { messages: 0, bytes: 0, dropped: 4 });
  });

  it('queues a publication once per client however many of its filters match', () => {
    const q = new OfflineQueues({ messages: 10, bytes: 1_000 }, undefined, () => {});
    q.enqueue('a', msg(1));
    q.enqueue('a', msg(1));
    assert.equal(q.depth('a').messages, 1);
  });

  it('records the packet id of a sent message, sends it again with it, and forgets it on PUBACK', () => {
    const j = journal();
    const q = new OfflineQueues({ messages: 10, bytes: 1_000 }, j, () => {});
    q.enqueue('a', msg(1));
    q.enqueue('a', msg(2));
    assert.equal(q.sent('a', 'b', 1, 700), true);
    assert.equal(q.sent('a', 'b', 9, 701), false, 'not queued');
    assert.deepEqual(
      q.list('a').map((p) => p.messageId),
      [700, undefined],
    );
    assert.equal([...j.live.values()].find((p) => p.brokerCounter === 1)?.messageId, 700);
    assert.equal(q.acknowledge('a', 700)?.brokerCounter, 1);
    assert.equal(q.acknowledge('a', 700), undefined);
    assert.equal(q.discard('a', 'b', 2)?.brokerCounter, 2);
    assert.equal(q.size, 0);
    assert.equal(j.live.size, 0);
  });

  it('drop() forgets a session whole', () => {
    const q = new OfflineQueues({ messages: 10, bytes: 1_000 }, undefined, () => {});
    q.enqueue('a', msg(1));
    q.enqueue('a', msg(2));
    assert.equal(q.drop('a'), 2);
    assert.deepEqual(q.depth('a'), { messages: 0, bytes: 0, dropped: 0 });
    assert.equal(q.size, 0);
  });

  it('bounds all queues together: the largest are cut to one level, oldest first, and small ones keep everything', () => {
    const drops: string[] = [];
    const sheds: unknown[] = [];
    const j = journal();
    const q = new OfflineQueues(
      // The bookkeeping per message left out here, so the levels are round.
      { messages: 1_000, bytes: 10_000, totalBytes: 1_000, entryBytes: 0 },
      j,
      (c, why) => drops.push(`${c}:${why}`),
      (r) => sheds.push(r),
    );
    let n = 0;
    const add = (c: string, count: number) => {
      for (let i = 0; i < count; i++) q.enqueue(c, msg(++n));
    };
    add('big', 60);
    add('mid', 35);
    add('small', 5);
    assert.equal(q.bytes, 1_000, 'at the bound, not over it: nothing dropped');
    assert.equal(drops.length, 0);

    // Over: cut to nine tenths (900). Only the largest is above the level that reaches it (500).
    add('big', 1);
    assert.deepEqual(sheds, [{ sessions: 1, messages: 11, bytes: 110 }]);
    assert.deepEqual(q.depth('big'), { messages: 50, bytes: 500, dropped: 11 });
    assert.equal(q.list('big')[0]?.brokerCounter, 12, 'the oldest went');
    assert.deepEqual(q.depth('mid'), { messages: 35, bytes: 350, dropped: 0 });
    assert.deepEqual(q.depth('small'), { messages: 5, bytes: 50, dropped: 0 });
    assert.equal(q.bytes, 900);

    // Two large ones: both are cut to the level (425), the small one is not.
    add('mid', 11);
    assert.deepEqual(sheds[1], { sessions: 2, messages: 12, bytes: 120 });
    assert.deepEqual(q.depth('big'), { messages: 42, bytes: 420, dropped: 19 });
    assert.deepEqual(q.depth('mid'), { messages: 42, bytes: 420, dropped: 4 });
    assert.deepEqual(q.depth('small'), { messages: 5, bytes: 50, dropped: 0 });
    assert.equal(q.bytes, 890);
    assert.ok(drops.every((d) => d.endsWith(':total')));
    assert.equal(drops.length, 23);
    assert.equal(j.live.size, q.size, 'the journal saw every drop');

    // A session that ends gives its bytes back.
    q.drop('mid');
    assert.equal(q.bytes, 470);
  });

  it('counts what each message costs beyond its topic and payload toward the total', () => {
    const q = new OfflineQueues({ messages: 10, bytes: 1_000, totalBytes: 10_000 }, undefined, () => {});
    q.enqueue('a', msg(1));
    q.enqueue('a', msg(2));
    assert.equal(q.bytes, 2 * (10 + ENTRY_BYTES));
    assert.equal(q.depth('a').bytes, 20, "a session's own bound counts topics and payloads");
    q.drop('a');
    assert.equal(q.bytes, 0);
  });
});
