import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type CborValue, decodeCbor } from './cbor/decode.js';
import { type Encodable, encodeCbor, encodeWith } from './cbor/encode.js';
import { DEFAULT_LIMITS } from './constants.js';
import { ProtocolError } from './errors.js';
import type { SenmlRecord } from './messages.js';
import { readPack, resolveTime, writePack } from './senml.js';

const NOW = 1_764_000_000_000;

/** Through real CBOR bytes, so labels arrive as the wire has them. */
function resolve(pack: SenmlRecord[]) {
  const cbor = decodeCbor(encodeWith(writePack, pack));
  assert.ok(cbor.ok);
  return readPack(cbor.value as CborValue, NOW, DEFAULT_LIMITS, 'pack');
}

describe('SenML resolution (RFC 8428 §4.6)', () => {
  it('concatenates base name and name, adds base time and base value', () => {
    const r = resolve([
      { bn: 'dev1/', bt: 1_700_000_000, bv: 10, bu: 'W', n: 'p', t: 1, v: 5 },
      { n: 'q', v: -1, u: 'kW' },
    ]);
    assert.ok(!(r instanceof ProtocolError));
    assert.deepStrictEqual(r.records, [
      { name: 'dev1/p', time: 1_700_000_001_000, unit: 'W', value: 15 },
      { name: 'dev1/q', time: 1_700_000_000_000, unit: 'kW', value: 9 },
    ]);
  });
  it('replaces a base field when a later record sets it again', () => {
    const r = resolve([
      { bn: 'a.', n: 'x', v: 1 },
      { bn: 'b.', n: 'x', v: 2 },
    ]);
    assert.ok(!(r instanceof ProtocolError));
    assert.deepStrictEqual(
      r.records.map((x) => x.name),
      ['a.x', 'b.x'],
    );
  });
  it('treats times below 2^28 as relative to now, and a missing time as now', () => {
    assert.equal(resolveTime(0, NOW), NOW);
    assert.equal(resolveTime(-60, NOW), NOW - 60_000);
    assert.equal(resolveTime(2 ** 28 - 1, NOW), NOW + (2 ** 28 - 1) * 1000);
    assert.equal(resolveTime(2 ** 28, NOW), 2 ** 28 * 1000);
  });
  it('applies base sum to s', () => {
    const r = resolve([{ bs: 100, n: 'e', s: 5 }]);
    assert.ok(!(r instanceof ProtocolError));
    assert.equal(r.records[0]?.sum, 105);
  });
  it('rejects a value that overflows once its base is added', () => {
    const r = resolve([{ bv: 1.7e308, n: 'x', v: 1.7e308 }]);
    assert.ok(r instanceof ProtocolError);
  });
  it('rejects a pack over maxRecords', () => {
    const cbor = decodeCbor(
      encodeWith(
        writePack,
        Array.from({ length: 11 }, () => ({ n: 'x', v: 1 })),
      ),
    );
    assert.ok(cbor.ok);
    const r = readPack(cbor.value, NOW, { ...DEFAULT_LIMITS, maxRecords: 10 }, 'pack');
    assert.ok(r instanceof ProtocolError);
  });
  it('ignores unknown text labels that do not end in "_"', () => {
    const cbor = decodeCbor(
      encodeCbor([
        new Map<number | string, Encodable>([
          [0, 'x'],
          [2, 1],
          ['note', 'hi'],
        ]),
      ]),
    );
    assert.ok(cbor.ok);
    const r = readPack(cbor.value, NOW, DEFAULT_LIMITS, 'pack');
    assert.ok(!(r instanceof ProtocolError));
    assert.deepStrictEqual(r.pack, [{ n: 'x', v: 1 }]);
  });
});
