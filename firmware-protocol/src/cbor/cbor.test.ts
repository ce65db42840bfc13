import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_LIMITS } from '../constants.js';
import { type CborValue, decodeCbor, LabelMap } from './decode.js';
import { type Encodable, encodeCbor } from './encode.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bytes = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));
const ok = (h: string): CborValue => {
  const r = decodeCbor(bytes(h));
  assert.ok(r.ok, r.ok ? '' : `${h}: ${r.error.message}`);
  return r.value;
};
const err = (h: string, limits = DEFAULT_LIMITS) => {
  const r = decodeCbor(bytes(h), limits);
  assert.equal(r.ok, false, `${h} must be rejected`);
  return r.ok ? '' : r.error.code;
};

// RFC 8949 Appendix A, the examples inside the subset SPEC.md §3 allows, with
// preferred serialization so encoding gives the same bytes back.
const APPENDIX_A: [Encodable, string][] = [
  [0, '00'],
  [1, '01'],
  [10, '0a'],
  [23, '17'],
  [24, '1818'],
  [25, '1819'],
  [100, '1864'],
  [1000, '1903e8'],
  [1000000, '1a000f4240'],
  [1000000000000, '1b000000e8d4a51000'],
  [-1, '20'],
  [-10, '29'],
  [-100, '3863'],
  [-1000, '3903e7'],
  [1.1, 'fb3ff199999999999a'],
  [1.5, 'f93e00'],
  [65504, '19ffe0'],
  [65504.5, 'fa477fe080'],
  [100000.5, 'fa47c35040'],
  [(2 - 2 ** -23) * 2 ** 127, 'fa7f7fffff'],
  [1.0e300, 'fb7e37e43c8800759c'],
  [2 ** -24, 'f90001'],
  [0.00006103515625, 'f90400'],
  [-4.1, 'fbc010666666666666'],
  [-4, '23'],
  [false, 'f4'],
  [true, 'f5'],
  [null, 'f6'],
  [new Uint8Array([1, 2, 3, 4]), '4401020304'],
  ['', '60'],
  ['a', '6161'],
  ['IETF', '6449455446'],
  ['"\\', '62225c'],
  ['\u00fc', '62c3bc'],
  ['\u6c34', '63e6b0b4'],
  ['\ud800\udd51', '64f0908591'],
  [[], '80'],
  [[1, 2, 3], '83010203'],
  [[1, [2, 3], [4, 5]], '8301820203820405'],
  [Array.from({ length: 25 }, (_, i) => i + 1), '98190102030405060708090a0b0c0d0e0f101112131415161718181819'],
  [{}, 'a0'],
  [
    new Map([
      [1, 2],
      [3, 4],
    ]),
    'a201020304',
  ],
  [{ a: 1, b: [2, 3] }, 'a26161016162820203'],
  [['a', { b: 'c' }], '826161a161626163'],
  [{ a: 'A', b: 'B', c: 'C', d: 'D', e: 'E' }, 'a56161614161626142616361436164614461656145'],
];

describe('CBOR: RFC 8949 Appendix A', () => {
  for (const [value, h] of APPENDIX_A) {
    it(`${h}`, () => {
      assert.equal(hex(encodeCbor(value)), h);
      const decoded = ok(h);
      if (value instanceof Map) {
        // Integer-keyed maps decode to a LabelMap (ordered entries), not a Map.
        assert.ok(decoded instanceof LabelMap);
        assert.deepStrictEqual(decoded.entries(), [...value.entries()]);
      } else {
        assert.deepStrictEqual(decoded, value);
      }
    });
  }
  it('decodes the non-preferred float widths too', () => {
    assert.equal(ok('fa3fc00000'), 1.5);
    assert.equal(ok('fb3ff8000000000000'), 1.5);
    assert.equal(ok('f97bff'), 65504);
    assert.ok(Object.is(ok('f98000'), -0));
  });
  it('decodes non-minimal integer heads', () => {
    assert.equal(ok('1b0000000000000001'), 1);
    assert.equal(ok('1900ff'), 255);
  });
  it('skips one leading self-describe tag 55799', () => {
    assert.deepStrictEqual(ok('d9d9f7820401'), [4, 1]);
    assert.equal(err('d9d9f7d9d9f701'), 'PROTO_ERR_TAG');
  });
});

describe('CBOR: integers', () => {
  for (const n of [0, 23, 24, 255, 256, 65535, 65536, 0xffffffff, 0x100000000, Number.MAX_SAFE_INTEGER]) {
    it(`${n} and ${-n} round-trip in the shortest head`, () => {
      assert.equal(ok(hex(encodeCbor(n))), n);
      if (n !== 0) assert.equal(ok(hex(encodeCbor(-n))), -n);
    });
  }
  it('rejects integers beyond 2^53-1', () => {
    assert.equal(err('1b0020000000000000'), 'PROTO_ERR_INTEGER_RANGE');
    assert.equal(err('1bffffffffffffffff'), 'PROTO_ERR_INTEGER_RANGE');
    assert.equal(err('3b001fffffffffffff'), 'PROTO_ERR_INTEGER_RANGE');
    assert.equal(ok('3b001ffffffffffffe'), -Number.MAX_SAFE_INTEGER);
  });
});

describe('CBOR: limits and hazards', () => {
  it('nesting exactly at the limit passes, one more fails', () => {
    assert.ok(Array.isArray(ok(`${'81'.repeat(16)}00`)));
    assert.equal(err(`${'81'.repeat(17)}00`), 'PROTO_ERR_DEPTH');
  });
  it('200,000 levels of nesting fail fast with a typed error, not a RangeError', () => {
    assert.equal(err(`${'81'.repeat(200_000)}00`, { ...DEFAULT_LIMITS, maxFrame: 1 << 20 }), 'PROTO_ERR_DEPTH');
  });
  it('refuses declared lengths larger than the message before allocating', () => {
    assert.equal(err('9a00000fff'), 'PROTO_ERR_TRUNCATED');
    assert.equal(err('9a0fffffff'), 'PROTO_ERR_LENGTH');
    assert.equal(err('ba00000fff'), 'PROTO_ERR_TRUNCATED');
    assert.equal(err('5a00000fff'), 'PROTO_ERR_TRUNCATED');
  });
  it('names a 64-bit length past 2^53 as such, not as an infinite one', () => {
    for (const head of ['9b', 'bb', '7b', '5b']) {
      const r = decodeCbor(bytes(`${head}ffffffffffffffff`));
      assert.equal(r.ok, false);
      if (r.ok) continue;
      assert.equal(r.error.code, 'PROTO_ERR_LENGTH');
      assert.match(r.error.message, /with a length of 2\^53 or more/);
      assert.doesNotMatch(r.error.message, /Infinity/);
    }
  });
  it('applies maxString to text and bytes', () => {
    const limits = { ...DEFAULT_LIMITS, maxString: 4 };
    assert.equal(err('6568656c6c6f', limits), 'PROTO_ERR_LENGTH');
    assert.equal(err('450102030405', limits), 'PROTO_ERR_LENGTH');
  });
  it('keeps decoded objects plain: no prototype games', () => {
    assert.equal(err('a1695f5f70726f746f5f5fa1616101'), 'PROTO_ERR_KEY');
    assert.equal(err('a16970726f746f74797065f6'), 'PROTO_ERR_KEY');
    const v = ok('a168746f537472696e6701') as Record<string, unknown>;
    assert.equal(v.toString, 1, 'an own key named like a prototype method is data');
    assert.equal(Object.getPrototypeOf(v), Object.prototype);
  });
  it('turns a map with integer keys into a LabelMap', () => {
    const v = ok('a261610102182a');
    assert.ok(v instanceof LabelMap);
    assert.deepStrictEqual(
      [...v.entries()],
      [
        ['a', 1],
        [2, 42],
      ],
    );
  });
  it('rejects duplicate keys in both kinds of map', () => {
    assert.equal(err('a2616101616102'), 'PROTO_ERR_KEY');
    assert.equal(err('a201010102'), 'PROTO_ERR_KEY');
  });
  it('copies byte strings out of the frame', () => {
    const frame = bytes('43010203');
    const r = decodeCbor(frame);
    assert.ok(r.ok);
    frame[1] = 9;
    assert.deepStrictEqual(r.value, new Uint8Array([1, 2, 3]));
  });
  it('keeps a leading byte order mark in text', () => {
    assert.equal(ok('64efbbbf41'), '\ufeffA');
  });
  it('rejects frames over maxFrame before reading them', () => {
    assert.equal(err('8401020304', { ...DEFAULT_LIMITS, maxFrame: 4 }), 'PROTO_ERR_TOO_LARGE');
  });
});

describe('CBOR: the encoder', () => {
  it('refuses values no peer can receive', () => {
    assert.throws(() => encodeCbor(Number.NaN), TypeError);
    assert.throws(() => encodeCbor(Number.POSITIVE_INFINITY), TypeError);
    assert.throws(() => encodeCbor(new Date() as unknown as Encodable), TypeError);
    assert.throws(() => encodeCbor((() => 1) as unknown as Encodable), TypeError);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.throws(() => encodeCbor(cyclic as Encodable), TypeError);
  });
  it('leaves out object entries whose value is undefined', () => {
    assert.equal(hex(encodeCbor({ a: 1, b: undefined })), 'a1616101');
  });
  it('writes long and non-ASCII strings with the right head', () => {
    for (const s of ['x'.repeat(23), 'x'.repeat(24), 'x'.repeat(300), 'é'.repeat(12), '日本語'.repeat(100), 'a😀b']) {
      assert.equal(ok(hex(encodeCbor(s))), s);
    }
  });
  it('grows past its initial buffer', () => {
    const big = new Uint8Array(20_000).fill(7);
    const out = encodeCbor([big, 'tail']);
    const r = decodeCbor(out, { ...DEFAULT_LIMITS, maxString: 32_768 });
    assert.ok(r.ok);
    assert.deepStrictEqual(r.value, [big, 'tail']);
  });
});
