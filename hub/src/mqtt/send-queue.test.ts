// The bounded send queue: retained state coalesced per topic and never dropped,
// the other lanes dropping their oldest, retained first out, and a reconnect's
// requeue and state reset keeping the newest values.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Lane, type OutMessage, outMessage, tombstone } from './out-message.js';
import { SendQueue } from './send-queue.js';

const msg = (topic: string, lane: Lane, text = topic) => outMessage(topic, lane, Buffer.from(text));
const drain = (q: SendQueue) => {
  const out: string[] = [];
  for (let m = q.shift(); m !== undefined; m = q.shift()) out.push(`${m.key}=${m.render('').payload.toString()}`);
  return out;
};

describe('send queue', () => {
  it('sends retained state first, then control, then stream; keeps only the newest value per retained topic', () => {
    const q = new SendQueue({ control: 10, stream: 10 });
    q.push(msg('t1', 'stream'));
    q.push(msg('s1', 'state', 'old'));
    q.push(msg('c1', 'control'));
    q.push(msg('s2', 'state'));
    q.push(msg('s1', 'state', 'new'));
    assert.deepStrictEqual(drain(q), ['s2=s2', 's1=new', 'c1=c1', 't1=t1']);
  });

  it('drops the oldest of a full lane and counts it, never retained state', () => {
    const dropped: string[] = [];
    const q = new SendQueue({ control: 2, stream: 3 }, (m) => dropped.push(m.key));
    for (let i = 0; i < 5; i++) q.push(msg(`t${i}`, 'stream'));
    for (let i = 0; i < 3; i++) q.push(msg(`c${i}`, 'control'));
    for (let i = 0; i < 100; i++) q.push(msg(`s${i}`, 'state'));
    assert.equal(q.dropped, 3);
    assert.deepStrictEqual(dropped, ['t0', 't1', 'c0']);
    assert.equal(q.size, 100 + 2 + 3);
    assert.deepStrictEqual(drain(q).slice(100), ['c1=c1', 'c2=c2', 't2=t2', 't3=t3', 't4=t4']);
  });

  it('puts in-flight messages back at the front in order, without overwriting newer retained values', () => {
    const q = new SendQueue({ control: 10, stream: 10 });
    const inFlight: OutMessage[] = [msg('t0', 'stream'), msg('s1', 'state', 'sent'), msg('t1', 'stream')];
    q.push(msg('t2', 'stream'));
    q.push(msg('s1', 'state', 'newer'));
    q.requeue(inFlight);
    assert.deepStrictEqual(drain(q), ['s1=newer', 't0=t0', 't1=t1', 't2=t2']);
  });

  it('on reset takes the whole state and keeps pending clears', () => {
    const q = new SendQueue();
    q.push(tombstone('gone'));
    q.push(msg('stale', 'state', 'old'));
    q.resetRetained([msg('a', 'state'), msg('stale', 'state', 'current')]);
    assert.deepStrictEqual(drain(q), ['a=a', 'stale=current', 'gone=']);
  });
});
