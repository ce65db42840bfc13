import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OfflineQueues, type QueuedPacket } from './offline-queue.js';

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
});
