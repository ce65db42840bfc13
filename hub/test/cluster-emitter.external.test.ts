// The embedded broker's link between nodes (hub/src/mqtt/cluster-emitter.ts) against a
// real Redis. The broker subscribes whenever a client does, so subscriptions reach the
// emitter's Redis connection at any moment of its connection handshake. ioredis
// writes a PSUBSCRIBE at once while it is still connecting, and its own handshake
// (the INFO of its ready check) was then refused by the client library in subscriber
// mode: the connection dropped, and patterns subscribed meanwhile were gone, so
// messages published on one node never reached a subscriber on another (seen in CI
// as a Home Assistant discovery config that one node's subscriber got and the other's
// never did).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AedesPublishPacket } from 'aedes';
import { type ClusterEmitter, clusterEmitter } from '../src/mqtt/cluster-emitter.js';
import { startRedis, type TestRedis } from './helpers/redis.js';

function packet(topic: string, text: string): AedesPublishPacket {
  return {
    cmd: 'publish',
    topic,
    payload: Buffer.from(text),
    qos: 0,
    retain: false,
    dup: false,
    brokerId: 'test',
    brokerCounter: 1,
  } as AedesPublishPacket;
}

describe('the cluster emitter on a real Redis', () => {
  let redis: TestRedis;
  const open: ClusterEmitter[] = [];

  before(async () => {
    redis = await startRedis();
  });

  after(async () => {
    await Promise.all(open.map((mq) => new Promise<void>((resolve) => mq.close(() => resolve()))));
    await redis?.stop();
  });

  it('keeps a subscription made while its connection is still in the handshake, and reports no error', async () => {
    const url = `${redis.url}?prefix=${redis.prefix}`;
    const emit = (mq: ClusterEmitter, p: AedesPublishPacket) =>
      new Promise<void>((resolve, reject) => mq.emit(p, (err) => (err ? reject(err) : resolve())));
    const publisher = clusterEmitter(url, 100);
    open.push(publisher);
    await emit(publisher, packet('warm-up', 'connected'));
    const errors: string[] = [];
    const subscriber = clusterEmitter(url, 100);
    open.push(subscriber);
    subscriber.state.on('error', (err: Error) => errors.push(err.message));
    let heard: (text: string) => void = () => {};
    const message = new Promise<string>((resolve, reject) => {
      heard = resolve;
      setTimeout(
        () => reject(new Error(`nothing heard on a pattern subscribed during the handshake; errors: ${errors.join('; ') || 'none'}`)),
        5_000,
      ).unref();
    });
    await new Promise<void>((resolve) => {
      // The moment ioredis reports the TCP connection, before its handshake is done.
      subscriber.state.once('subConnect', () => {
        subscriber.on(
          'early/#',
          (p, done) => {
            heard(p.payload.toString());
            done();
          },
          resolve,
        );
      });
    });
    await emit(publisher, packet('early/one', 'hello'));
    assert.equal(await message, 'hello');
    assert.deepEqual(errors, [], 'the connection reported no error');
  });
});
