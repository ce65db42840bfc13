// Bad input from raw sockets never crashes the hub: each kind gets its close code,
// memory stays bounded, and 10 honest devices streaming meanwhile lose nothing and
// duplicate nothing.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CloseCode, type Encodable, encode, encodeCbor, MessageType } from '@halyard/firmware-protocol';
import { TestDevice } from './helpers/device.js';
import { startTestHub, type TestHub } from './helpers/hub.js';
import { frame, RawWs } from './helpers/raw-ws.js';

const HELLO = encode({ type: MessageType.Hello, proto: 1, fw: '1', model: 'm' });
const hex = (h: string) => Buffer.from(h, 'hex');
const bin = (b: Uint8Array) => frame(2, b);

interface Attack {
  name: string;
  /** Send HELLO first, so the attack happens inside an open session. */
  hello: boolean;
  frames: Buffer[];
  /** Acceptable close codes. */
  expect: number[];
}

const ws = (code: number) => [code];
const MAL = [CloseCode.Malformed];
const ATTACKS: Attack[] = [
  // WebSocket layer (closed by ws with RFC 6455 codes)
  { name: 'unmasked client frame', hello: false, frames: [frame(2, HELLO, { mask: false })], expect: ws(1002) },
  { name: 'declared length 2^62', hello: true, frames: [frame(2, new Uint8Array(0), { declaredLength: 2n ** 62n })], expect: [1009, 1002] },
  { name: 'RSV bits set', hello: true, frames: [frame(2, HELLO, { rsv: 0b011 })], expect: ws(1002) },
  { name: 'reserved opcode 0x3', hello: true, frames: [frame(0x3, new Uint8Array([1]))], expect: ws(1002) },
  { name: 'fragmented control frame', hello: true, frames: [frame(0x9, new Uint8Array([1]), { fin: false })], expect: ws(1002) },
  { name: '126-byte ping', hello: true, frames: [frame(0x9, new Uint8Array(126))], expect: ws(1002) },
  { name: 'continuation without a start', hello: true, frames: [frame(0x0, new Uint8Array([1]))], expect: ws(1002) },
  { name: 'text frame with invalid UTF-8', hello: true, frames: [frame(0x1, new Uint8Array([0xc3, 0x28]))], expect: ws(1007) },
  { name: 'message over 4x maxFrame', hello: true, frames: [bin(new Uint8Array(300_000))], expect: ws(1009) },
  // Our checks (ERROR, then our close code)
  { name: 'text frame', hello: true, frames: [frame(0x1, Buffer.from('hello'))], expect: MAL },
  { name: 'message over maxFrame', hello: true, frames: [bin(encodeCbor([15, 1, 'x'.repeat(70_000)]))], expect: [CloseCode.TooLarge] },
  { name: 'empty message', hello: true, frames: [bin(new Uint8Array(0))], expect: MAL },
  { name: 'not CBOR at all', hello: false, frames: [bin(Buffer.from('GET / HTTP/1.1'))], expect: MAL },
  { name: 'nesting 200k deep', hello: true, frames: [bin(Buffer.concat([Buffer.alloc(60_000, 0x81), Buffer.from([0])]))], expect: MAL },
  { name: 'huge declared array', hello: true, frames: [bin(hex('8203 9b00000000ffffffff'.replace(' ', '')))], expect: MAL },
  { name: 'indefinite-length array', hello: true, frames: [bin(hex('9f0301ff'))], expect: MAL },
  {
    name: 'trailing bytes',
    hello: true,
    frames: [bin(Buffer.concat([encode({ type: 3, seq: 1, pack: [{ n: 'x', v: 1 }] }), hex('00')]))],
    expect: MAL,
  },
  { name: 'RegExp tag (27)', hello: true, frames: [bin(hex('830301d81b8266526567457870626129'))], expect: MAL },
  { name: 'Set tag (258)', hello: true, frames: [bin(hex('830301d901028101'))], expect: MAL },
  { name: 'cyclic shared reference (28/29)', hello: true, frames: [bin(hex('830301d81c81d81d00'))], expect: MAL },
  { name: 'cbor-x record tag', hello: true, frames: [bin(hex('830301d9dfff8101'))], expect: MAL },
  {
    name: '__proto__ key',
    hello: true,
    frames: [bin(encodeCbor([5, 1, new Map([['__proto__', { name: 'x' }]]) as unknown as Encodable]))],
    expect: MAL,
  },
  { name: 'invalid UTF-8 text', hello: true, frames: [bin(hex('830501a1646e616d6562c328'))], expect: MAL },
  { name: 'unknown message type', hello: true, frames: [bin(encodeCbor([99, 1]))], expect: MAL },
  { name: 'hub-only type from a device', hello: true, frames: [bin(encode({ type: MessageType.Ack, seq: 1 }))], expect: MAL },
  {
    name: 'sequence number 0',
    hello: true,
    frames: [
      bin(
        encodeCbor([
          3,
          0,
          [
            new Map<number, string | number>([
              [0, 'x'],
              [2, 1],
            ]),
          ],
        ] as Encodable),
      ),
    ],
    expect: MAL,
  },
  { name: 'wrong field types', hello: true, frames: [bin(encodeCbor([8, 7, 'done']))], expect: MAL },
  {
    name: 'invalid SenML',
    hello: true,
    frames: [
      bin(
        encodeCbor([
          3,
          1,
          [
            new Map<number, string | number>([
              [0, 'bad name'],
              [2, 1],
            ]),
          ],
        ] as Encodable),
      ),
    ],
    expect: MAL,
  },
  { name: 'telemetry before HELLO', hello: false, frames: [bin(encode({ type: 3, seq: 1, pack: [{ n: 'x', v: 1 }] }))], expect: MAL },
  { name: 'second HELLO', hello: true, frames: [bin(HELLO)], expect: MAL },
  {
    name: 'HELLO with an escape sequence in its model',
    hello: false,
    frames: [bin(encode({ type: MessageType.Hello, proto: 1, fw: '1', model: '\u001b[2J\u0000' }))],
    expect: MAL,
  },
  { name: 'undefined simple value', hello: true, frames: [bin(hex('8203f7'))], expect: MAL },
  {
    name: '100k empty fragments',
    hello: true,
    frames: [
      frame(2, new Uint8Array(0), { fin: false }),
      ...Array.from({ length: 100_000 }, () => frame(0, new Uint8Array(0), { fin: false })),
    ],
    expect: [1008, CloseCode.TooLarge],
  },
];

describe('hostile frames from raw sockets', () => {
  let t: TestHub;
  const honest: TestDevice[] = [];
  let streaming = true;
  const sent = new Map<string, number>();
  let stream: Promise<void>;
  /** Heap of this process (the hub runs in it) before the attacks, and the most seen after one. */
  let heapBefore = 0;
  let heapPeak = 0;

  before(async () => {
    t = await startTestHub();
    heapBefore = process.memoryUsage().heapUsed;
    for (let i = 0; i < 10; i++) {
      const id = `honest-${i}`;
      honest.push(await TestDevice.connect(t.ws, await t.api.provision(id)));
      sent.set(id, 0);
    }
    // Honest devices stream throughout: one frame each per event-loop turn of the writer.
    stream = (async () => {
      let n = 0;
      while (streaming) {
        n++;
        for (const [i, d] of honest.entries()) {
          d.telemetry([{ n: 'v', v: n, t: -n / 1000 }]);
          sent.set(`honest-${i}`, n);
        }
        await d0(honest[0] as TestDevice);
      }
    })();
  });
  after(() => t.close());

  // Waits for the previous frame's ACK: steady streaming without unbounded buffering.
  async function d0(d: TestDevice) {
    await d.waitAck(d.seq, 10_000);
  }

  for (const [i, a] of ATTACKS.entries()) {
    it(`${a.name} -> ${a.expect.join(' or ')}`, async () => {
      const token = await t.api.provision(`attacker-${i}`);
      const raw = await RawWs.open(t.hub.port, token);
      assert.equal(raw.status, 101);
      if (a.hello) raw.write(frame(2, HELLO));
      for (const f of a.frames) raw.write(f);
      const code = await raw.closed();
      raw.destroy();
      heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
      assert.ok(a.expect.includes(code), `closed with ${code}, expected ${a.expect.join(' or ')}`);
      if (code >= 4000) {
        const errorFrame = raw.binary.find((b) => b[1] === 0x0f);
        assert.ok(errorFrame, 'an ERROR message precedes the close');
      }
    });
  }

  it('honest devices lost nothing and stored nothing twice', async () => {
    streaming = false;
    await stream;
    for (const d of honest) await d.waitAck(d.seq);
    for (const [id, n] of sent) {
      const r = await t.api.get(`/devices/${id}/telemetry?name=v&from=0&limit=100000`);
      const values = r.body.series[0].points.map((p: { v: number }) => p.v).sort((a: number, b: number) => a - b);
      assert.equal(values.length, n, `${id}: ${values.length} rows for ${n} frames`);
      assert.deepStrictEqual(
        values,
        Array.from({ length: n }, (_, k) => k + 1),
      );
    }
    assert.ok((sent.get('honest-0') ?? 0) > 10, 'the honest devices streamed during the attacks');
  });

  it('kept memory bounded: no attack made the hub hold its declared sizes', async () => {
    const grew = (heapPeak - heapBefore) / 2 ** 20;
    console.log(
      JSON.stringify({
        attacks: ATTACKS.length,
        heapBeforeMiB: Math.round(heapBefore / 2 ** 20),
        heapPeakMiB: Math.round(heapPeak / 2 ** 20),
      }),
    );
    // The 100k-fragment attack alone builds ~10 MiB of frames in this process; a 2^62 or
    // 2^32-element declaration honoured would be gigabytes.
    assert.ok(grew < 96, `heap grew ${grew.toFixed(0)} MiB during the attacks`);
  });

  it('logged a line for each refused session and is still healthy', async () => {
    const closes = t.logs.filter((l) => String(l.msg).startsWith('closing device session'));
    assert.ok(closes.length >= ATTACKS.filter((a) => a.expect.some((c) => c >= 4000)).length);
    const h = await fetch(`${t.http}/healthz`);
    assert.equal(h.status, 200);
  });
});
