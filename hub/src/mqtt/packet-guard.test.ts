// The packet size guard reads MQTT fixed headers from a byte stream cut anywhere.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PacketSizeGuard } from './packet-guard.js';

/** A packet of type byte 0x30 (PUBLISH) with `n` body bytes. */
function packet(n: number): Buffer {
  const len: number[] = [];
  let x = n;
  do {
    let b = x % 128;
    x = Math.floor(x / 128);
    if (x > 0) b |= 0x80;
    len.push(b);
  } while (x > 0);
  return Buffer.concat([Buffer.from([0x30, ...len]), Buffer.alloc(n, 7)]);
}

/** Feeds `bytes` in chunks of `size`; false as soon as the guard refuses. */
function feed(guard: PacketSizeGuard, bytes: Buffer, size: number): boolean {
  for (let i = 0; i < bytes.length; i += size) if (!guard.feed(bytes.subarray(i, i + size))) return false;
  return true;
}

describe('packet size guard', () => {
  it('lets packets up to the limit through, however the stream is cut', () => {
    const stream = Buffer.concat([packet(0), packet(127), packet(128), packet(500), packet(2), packet(1_000 - 3)]);
    for (const size of [1, 2, 3, 7, 64, 4096, stream.length])
      assert.equal(feed(new PacketSizeGuard(1_000), stream, size), true, `chunks of ${size}`);
  });

  it('refuses a packet over the limit from its header alone', () => {
    const g = new PacketSizeGuard(1_000);
    assert.equal(g.feed(packet(10)), true);
    // 1,000 body bytes + 3 header bytes: over; only the header is needed.
    assert.equal(g.feed(packet(1_000).subarray(0, 3)), false);
    assert.equal(new PacketSizeGuard(256 * 1024).feed(Buffer.from([0x10, 0xff, 0xff, 0xff, 0x7f])), false);
  });

  it('refuses a remaining length of more than four bytes', () => {
    assert.equal(new PacketSizeGuard(2 ** 30).feed(Buffer.from([0x30, 0x80, 0x80, 0x80, 0x80, 0x01])), false);
  });
});
