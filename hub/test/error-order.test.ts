// ERROR and the ACKs before it (SPEC.md §8.3): a device that sends good frames and
// then a bad one gets the ACKs of the good ones first, then an ERROR naming the bad
// one's seq, then the close; so it drops exactly the bad frame and resends nothing.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CloseCode, encode, MessageType } from '@halyard/firmware-protocol';
import { TestDevice } from './helpers/device.js';
import { startTestHub, type TestHub } from './helpers/hub.js';

const MAX_FRAME = 4_096;

/** A small, valid TELEMETRY. */
function telemetry(seq: number): Buffer {
  return Buffer.from(encode({ type: MessageType.Telemetry, seq, pack: [{ n: 'temperature', u: 'Cel', v: 20 + seq }] }));
}

/** Ways to be refused; `seq` is what the ERROR names (none when it cannot name a sequenced message). */
const BAD: { what: string; bytes: (seq: number) => Buffer | string; close: number; seq?: number }[] = [
  { what: 'trailing bytes', bytes: (seq) => Buffer.concat([telemetry(seq), Buffer.from([0])]), close: CloseCode.Malformed, seq: 4 },
  {
    what: 'a tag in the pack',
    // [3, seq, [1(1)]]: the record is an epoch-date tag.
    bytes: (seq) => Buffer.concat([Buffer.from([0x83, 0x03, 0x19, seq >> 8, seq & 0xff]), Buffer.from('81c101', 'hex')]),
    close: CloseCode.Malformed,
    seq: 4,
  },
  {
    what: 'a message over maxFrame',
    bytes: (seq) => Buffer.from(encode({ type: MessageType.Telemetry, seq, pack: [{ n: 'blob', vd: new Uint8Array(MAX_FRAME) }] })),
    close: CloseCode.TooLarge,
    seq: 4,
  },
  {
    what: 'a field',
    bytes: (seq) => Buffer.from(encode({ type: MessageType.Event, seq, name: 'bad/name' })),
    close: CloseCode.Malformed,
    seq: 4,
  },
  { what: 'a text message', bytes: () => 'hello', close: CloseCode.Malformed },
];

describe('ERROR after the ACKs due before it', () => {
  let t: TestHub;
  before(async () => {
    // A long commit interval keeps the good frames' commit in flight when the bad one arrives.
    t = await startTestHub(['--max-frame', String(MAX_FRAME), '--commit-interval', '200ms']);
  });
  after(() => t.close());

  for (const [i, bad] of BAD.entries()) {
    it(`good frames, then one refused for ${bad.what}: ACKs first, then ERROR${bad.seq ? ' with the bad seq' : ''}`, async () => {
      const id = `order-${i}`;
      const token = await t.api.provision(id);
      const d = await TestDevice.connect(t.ws, token);
      // One write each, in the same turn: the hub reads all four before the first commit.
      for (const seq of [1, 2, 3]) d.sendRaw(telemetry(seq));
      d.sendRaw(bad.bytes(4));
      const closed = await d.waitClosed();
      assert.equal(closed.code, bad.close);
      const after = d.received.slice(d.received.findIndex((m) => m.type === MessageType.Welcome) + 1);
      const errorAt = after.findIndex((m) => m.type === MessageType.Error);
      assert.ok(errorAt >= 0, 'an ERROR before the close');
      const error = after[errorAt] as { code: number; seq?: number };
      assert.equal(error.code, bad.close);
      assert.equal(error.seq, bad.seq, 'ERROR names the refused frame');
      const acked = Math.max(0, ...after.slice(0, errorAt).map((m) => (m.type === MessageType.Ack ? m.seq : 0)));
      assert.equal(acked, 3, `the good frames are acknowledged before the ERROR; got ${JSON.stringify(after.map((m) => m.type))}`);
      assert.equal(errorAt, after.length - 1, 'nothing after the ERROR');
      // The next session starts where the good frames ended.
      const again = await TestDevice.connect(t.ws, token);
      assert.equal(again.welcome?.acked, 3);
      await again.close();
    });
  }
});

/** A TELEMETRY of exactly `size` bytes (one byte-string value pads it). */
function telemetryOfSize(seq: number, size: number): Buffer {
  const make = (n: number) => Buffer.from(encode({ type: MessageType.Telemetry, seq, pack: [{ n: 'blob', vd: new Uint8Array(n) }] }));
  const overhead = make(size / 2).length - size / 2;
  const bytes = make(size - overhead);
  assert.equal(bytes.length, size);
  return bytes;
}

describe('message size: 4413 with ERROR up to 4 x maxFrame, 1009 past it (SPEC.md §8.4)', () => {
  let t: TestHub;
  before(async () => {
    t = await startTestHub(['--max-frame', String(MAX_FRAME)]);
  });
  after(() => t.close());

  it('a message of 4 x maxFrame bytes is refused with ERROR 4413 naming its seq', async () => {
    const d = await TestDevice.connect(t.ws, await t.api.provision('size-at-limit'));
    d.sendRaw(telemetryOfSize(1, 4 * MAX_FRAME));
    assert.equal((await d.waitClosed()).code, CloseCode.TooLarge);
    assert.deepEqual(
      d.received.filter((m) => m.type === MessageType.Error).map((m) => [(m as { code: number }).code, (m as { seq?: number }).seq]),
      [[CloseCode.TooLarge, 1]],
    );
  });

  it('one byte more is closed by the WebSocket layer with 1009 and no ERROR', async () => {
    const d = await TestDevice.connect(t.ws, await t.api.provision('size-past-limit'));
    d.sendRaw(telemetryOfSize(1, 4 * MAX_FRAME + 1));
    assert.equal((await d.waitClosed()).code, 1009);
    assert.equal(d.error, undefined);
  });
});
