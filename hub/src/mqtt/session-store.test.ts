import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Client } from 'aedes';
import { SessionStore } from './session-store.js';

const client = (id: string) => ({ id }) as Client;

function packet(messageId: number, bytes: number) {
  return {
    cmd: 'publish' as const,
    topic: '$halyard/consumed',
    payload: Buffer.alloc(bytes, 0x61),
    qos: 2 as const,
    retain: false,
    dup: false,
    messageId,
    brokerId: 'b',
    brokerCounter: messageId,
  };
}

describe('session store', () => {
  it('admits QoS 2 publishes up to the bounds per client id and in total, and recognises retransmissions', () => {
    const s = new SessionStore({ inflight: { perClient: 2, total: 3 }, queue: { messages: 10, bytes: 10_000 } });
    assert.equal(s.admit('a', 1), 'new');
    assert.equal(s.admit('a', 1), 'duplicate');
    assert.equal(s.admit('a', 2), 'new');
    assert.equal(s.admit('a', 3), 'client_full');
    assert.equal(s.admit('b', 1), 'new');
    assert.equal(s.admit('c', 1), 'total_full');
    assert.equal(s.pending, 3);
    assert.equal(s.pendingOf('a'), 2);
  });

  it('keeps no payload, and frees a slot at PUBREL and a whole session when it ends', async () => {
    const s = new SessionStore({ inflight: { perClient: 10, total: 10 }, queue: { messages: 10, bytes: 10_000 } });
    assert.equal(s.admit('a', 1), 'new');
    assert.equal(s.admit('a', 2), 'new');
    await s.incomingStorePacket(client('a'), packet(1, 256 * 1024));
    await s.incomingStorePacket(client('a'), packet(2, 256 * 1024));
    const stored = await s.incomingGetPacket(client('a'), packet(1, 0));
    assert.equal(stored.messageId, 1);
    assert.equal((stored as { payload: Buffer }).payload.length, 0);

    await s.incomingDelPacket(client('a'), packet(1, 0));
    assert.equal(s.pendingOf('a'), 1);
    assert.equal(s.admit('a', 1), 'new', 'a released id may be used again');

    await s.addSubscriptions(client('a'), [{ topic: 'halyard/#', qos: 1 }]);
    assert.deepStrictEqual(await s.endSession('a'), { unreleased: 2, queued: 0 });
    assert.equal(s.pending, 0);
    await assert.rejects(s.incomingGetPacket(client('a'), packet(2, 0)), /no such packet/);
    assert.deepStrictEqual(await s.subscriptionsByClient(client('a')), []);
  });

  it('hands a returning client its queue one message at a time, holding back live deliveries of queued ones until it ends', async () => {
    const s = new SessionStore({ inflight: { perClient: 10, total: 10 }, queue: { messages: 10, bytes: 10_000 } });
    const c = client('a');
    s.sessionOpened('a');
    s.sessionLeft('a');
    const sub = { clientId: 'a', topic: 't', qos: 1 } as Parameters<SessionStore['outgoingEnqueueCombi']>[0][number];
    const publish = (n: number) =>
      ({ cmd: 'publish', topic: 't', payload: Buffer.from(String(n)), qos: 1, retain: false, brokerId: 'b', brokerCounter: n }) as never;
    for (const n of [1, 2]) await s.outgoingEnqueueCombi([sub], publish(n));

    // aedes reads the subscriptions, then streams the queue: from the first moment, queued messages wait for it.
    await s.subscriptionsByClient(c);
    assert.equal(s.holdsBack('a', 'b', 2), true);
    const stream = s.outgoingStream(c);
    const it = stream[Symbol.asyncIterator]();
    const first = (await it.next()).value as { brokerCounter: number };
    assert.equal(first.brokerCounter, 1);
    // Not taken yet: nothing more is handed on, however far ahead the reader asks.
    assert.equal(stream.readableLength, 0);
    await s.outgoingEnqueueCombi([sub], publish(3));
    assert.equal(s.holdsBack('a', 'b', 3), true, 'queued while the queue is sent: it comes in its turn');
    const rest: number[] = [];
    let last = first;
    for (;;) {
      await s.outgoingUpdate(c, { ...last, messageId: last.brokerCounter } as never);
      const next = await it.next();
      if (next.done === true) break;
      last = next.value as { brokerCounter: number };
      rest.push(last.brokerCounter);
    }
    assert.deepEqual(rest, [2, 3], 'to the end, including the one queued meanwhile');
    await s.outgoingEnqueueCombi([sub], publish(4));
    assert.equal(s.holdsBack('a', 'b', 4), false, 'once it has ended, live deliveries go straight out');

    // A connection that goes while its queue is sent ends its replay; the queue stays for the next one.
    await s.subscriptionsByClient(c);
    const cut = s.outgoingStream(c);
    await cut[Symbol.asyncIterator]().next();
    cut.destroy();
    assert.equal(s.holdsBack('a', 'b', 4), false);
    assert.equal(s.queues.depth('a').messages, 4);
  });
});
