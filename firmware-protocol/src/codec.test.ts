import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeCbor } from './cbor/encode.js';
import { decode, encode, messageName } from './codec.js';
import { CloseCode, DEFAULT_LIMITS, MessageType } from './constants.js';
import type { Message } from './messages.js';

const NOW = 1_764_000_000_000;

function decodeOk(bytes: Uint8Array, accept: 'uplink' | 'downlink' | 'any' = 'any') {
  const r = decode(bytes, { now: NOW, accept });
  assert.ok(r.ok, r.ok ? '' : `${r.error.code} ${r.error.message}`);
  return r.message;
}
function decodeErr(bytes: Uint8Array, accept: 'uplink' | 'downlink' | 'any' = 'any') {
  const r = decode(bytes, { now: NOW, accept });
  assert.equal(r.ok, false);
  return r.ok ? undefined : r.error;
}

describe('codec: messages', () => {
  const samples: Message[] = [
    { type: 1, proto: 1, fw: '1.0', model: 'm', boot: 3, caps: ['twin'] },
    { type: 2, acked: 0, ping: 30, maxFrame: 65536, time: NOW, session: 's1' },
    { type: 3, seq: 9, pack: [{ n: 'x', v: 1 }] },
    { type: 4, seq: 0 },
    { type: 5, seq: 10, name: 'boot', level: 1, data: [1, 'two', null, true, { k: new Uint8Array([1]) }] },
    { type: 6, id: 'c1', name: 'toggle', params: { on: true }, deadline: NOW },
    { type: 7, id: 'c1' },
    { type: 8, id: 'c1', status: 0, body: null },
    { type: 9, version: 1, desired: {} },
    { type: 10, seq: 11, patch: { a: { b: null } } },
    { type: 15, code: 4429, message: '' },
  ];
  for (const m of samples) {
    it(`${messageName(m.type)} round-trips`, () => {
      const back = decodeOk(encode(m)) as unknown as Record<string, unknown>;
      delete back.records;
      if (m.type === MessageType.Event) delete back.time;
      assert.deepStrictEqual(back, m);
    });
  }
  it('keeps the direction: a hub refuses downlink types and a device uplink ones', () => {
    assert.equal(decodeErr(encode({ type: 4, seq: 1 }), 'uplink')?.code, 'PROTO_ERR_UNKNOWN_TYPE');
    assert.equal(decodeErr(encode({ type: 7, id: 'c' }), 'downlink')?.code, 'PROTO_ERR_UNKNOWN_TYPE');
  });
  it('names the offending field', () => {
    const e = decodeErr(encodeCbor([1, { proto: 1, fw: 'x', model: 7 }]));
    assert.equal(e?.field, 'hello.model');
    assert.equal(e?.closeCode, CloseCode.Malformed);
  });
  it('ignores unknown keys in HELLO for forward compatibility', () => {
    const m = decodeOk(encodeCbor([1, { proto: 1, fw: 'x', model: 'm', future: [1, 2] }]));
    assert.deepStrictEqual(m, { type: 1, proto: 1, fw: 'x', model: 'm' });
  });
  it('limits identifiers to maxIdentifier bytes, counting UTF-8', () => {
    const long = 'é'.repeat(65); // 130 bytes, 65 UTF-16 units
    assert.equal(decodeErr(encodeCbor([1, { proto: 1, fw: long, model: 'm' }]))?.field, 'hello.fw');
    decodeOk(encodeCbor([1, { proto: 1, fw: 'é'.repeat(64), model: 'm' }]));
  });
  it('refuses control characters in identifiers, naming the field', () => {
    for (const bad of ['1.0\u0000', 'a\nb', '\u001b[31m', 'x\u007f']) {
      const e = decodeErr(encodeCbor([1, { proto: 1, fw: bad, model: 'm' }]));
      assert.equal(e?.field, 'hello.fw', JSON.stringify(bad));
      assert.match(e?.message ?? '', /control characters/);
    }
    assert.equal(decodeErr(encodeCbor([1, { proto: 1, fw: '1', model: 'esp\tboard' }]))?.field, 'hello.model');
    assert.equal(decodeErr(encodeCbor([1, { proto: 1, fw: '1', model: 'm', caps: ['twin', 'o\rta'] }]))?.field, 'hello.caps[1]');
    // Text beyond ASCII is still fine.
    decodeOk(encodeCbor([1, { proto: 1, fw: '1.0 β', model: 'Gerät ✓' }]));
  });
  it('resolves an EVENT time: absolute, relative, or now', () => {
    assert.equal((decodeOk(encode({ type: 5, seq: 1, name: 'e', t: 1_700_000_000 })) as { time: number }).time, 1_700_000_000_000);
    assert.equal((decodeOk(encode({ type: 5, seq: 1, name: 'e', t: -2.5 })) as { time: number }).time, NOW - 2500);
    assert.equal((decodeOk(encode({ type: 5, seq: 1, name: 'e' })) as { time: number }).time, NOW);
  });
  it("refuses times outside 1970-01-01 .. 2200-01-01 with 4400 and the message's seq (SPEC.md §5.2)", () => {
    for (const [t, bt] of [
      [1e300, undefined],
      [-1e300, undefined],
      [7_258_118_400, undefined],
      [0, -1e10],
    ] as const) {
      const pack = [{ n: 'x', v: 1, t, ...(bt === undefined ? {} : { bt }) }];
      const e = decodeErr(encode({ type: 3, seq: 9, pack }));
      assert.equal(e?.code, 'PROTO_ERR_SENML', `t=${t} bt=${bt}`);
      assert.equal(e?.closeCode, CloseCode.Malformed);
      assert.equal(e?.seq, 9);
    }
    const ev = decodeErr(encode({ type: 5, seq: 4, name: 'e', t: 1e300 }));
    assert.equal(ev?.field, 'event.t');
    assert.equal(ev?.seq, 4);
    assert.equal(
      (decodeOk(encode({ type: 3, seq: 1, pack: [{ n: 'x', v: 1, t: 7_258_118_399 }] })) as { records: { time: number }[] }).records[0]
        ?.time,
      7_258_118_399_000,
    );
  });
  it('reports an oversized frame with close code 4413', () => {
    const r = decode(encode({ type: 15, code: 1, message: 'x'.repeat(100) }), { limits: { ...DEFAULT_LIMITS, maxFrame: 64 } });
    assert.ok(!r.ok);
    assert.equal(r.error.code, 'PROTO_ERR_TOO_LARGE');
    assert.equal(r.error.closeCode, CloseCode.TooLarge);
  });
  it('names the seq of a refused message whenever its first bytes show one (SPEC.md §8.3)', () => {
    const telemetry = encode({ type: 3, seq: 300, pack: [{ n: 'x', v: 1 }] });
    const cases: [string, Uint8Array, { limits?: typeof DEFAULT_LIMITS }][] = [
      ['trailing bytes', Buffer.concat([telemetry, Buffer.from([0])]), {}],
      ['a tag in the pack', Buffer.from('8303' + '19012d' + '81c101', 'hex'), {}],
      ['too large', telemetry, { limits: { ...DEFAULT_LIMITS, maxFrame: 8 } }],
      ['undefined after a self-describe tag', Buffer.from('d9d9f7' + '830a19012e' + 'a16161f7', 'hex'), {}],
      ['indefinite-length array', Buffer.from('9f0a18ffa0ff', 'hex'), {}],
      ['a field', encodeCbor([5, 303, { name: 'bad/name' }]), {}],
    ];
    const expected = [300, 301, 300, 302, 255, 303];
    cases.forEach(([what, bytes, opts], i) => {
      const r = decode(bytes, { ...opts, accept: 'uplink' });
      assert.ok(!r.ok, what);
      assert.equal(r.error.seq, expected[i], what);
    });
    // A tag right in the pack: the prefix [3, 7, ...] is still readable.
    const tagged = Buffer.from('830307c101', 'hex');
    assert.equal(decodeErr(tagged)?.code, 'PROTO_ERR_TAG');
    assert.equal(decodeErr(tagged)?.seq, 7);
    // No seq where the message has none, or it is not readable.
    for (const bytes of [
      Buffer.from('8204c101', 'hex'), // [4, tag]: not in the sequence space
      Buffer.from('8303c10101', 'hex'), // the seq itself is tagged
      Buffer.from('830300818100', 'hex'), // seq 0 is not a sequence number
      Buffer.from('83031b0020000000000000', 'hex'), // 2^53
      Buffer.from('8303', 'hex'), // truncated before the seq
      encodeCbor([7, 'c', 1]),
    ]) {
      assert.equal(decodeErr(bytes)?.seq, undefined, bytes.toString('hex'));
    }
  });
  it('refuses a record that only sets base fields (SPEC.md §5.2)', () => {
    const baseOnly = new Map<number, string | number>([
      [-2, 'room.'],
      [-5, 10],
    ]);
    const next = new Map<number, string | number>([
      [0, 'x'],
      [2, 1],
    ]);
    const e = decodeErr(encodeCbor([3, 1, [baseOnly, next]]));
    assert.equal(e?.code, 'PROTO_ERR_SENML');
    assert.match(e?.message ?? '', /must carry a value/);
  });
  it('never returns a half-checked message: every field of every type is typed', () => {
    // One wrong-typed value in each position of each message.
    const wrong = [
      [1, { proto: '1', fw: 'x', model: 'm' }],
      [1, { proto: 1, fw: 'x', model: 'm', boot: -1 }],
      [1, { proto: 1, fw: 'x', model: 'm', caps: 'twin' }],
      [1, { proto: 1, fw: 'x', model: 'm', caps: [1] }],
      [1, 'hello'],
      [2, { acked: -1, ping: 30, maxFrame: 1, time: 0, session: 's' }],
      [2, { acked: 0, ping: 0, maxFrame: 1, time: 0, session: 's' }],
      [2, { acked: 0, ping: 30, maxFrame: 1, time: 0.5, session: 's' }],
      [2, { acked: 0, ping: 30, maxFrame: 1, time: 0, session: '' }],
      [
        3,
        '1',
        [
          new Map<number, string | number>([
            [0, 'x'],
            [2, 1],
          ]),
        ],
      ],
      [3, 1, { 0: 'x' }],
      [4, 'one'],
      [5, 1, { name: 5 }],
      [5, 1, { name: 'e', t: 'now' }],
      [5, 1, { name: 'e', level: 1.5 }],
      [6, 'c', 'n', null],
      [6, 'c', 'n', null, -5],
      [6, 5, 'n', null, 0],
      [6, 'c', 'bad name', null, 0],
      [7, ''],
      [7, 'c', 'extra'],
      [8, 'c', '0'],
      [8, 'c', 0, null, 'extra'],
      [9, -1, {}],
      [9, 1, null],
      [10, 1, [1]],
      [10, 0, {}],
      [15, '4400', 'x'],
      [15, 4400, 7],
    ];
    for (const w of wrong) {
      const r = decode(encodeCbor(w as never), { now: NOW });
      assert.equal(r.ok, false, `${JSON.stringify(w)} must be rejected`);
      if (!r.ok) assert.ok(['PROTO_ERR_FIELD', 'PROTO_ERR_SENML'].includes(r.error.code), `${JSON.stringify(w)}: ${r.error.code}`);
    }
  });
});
