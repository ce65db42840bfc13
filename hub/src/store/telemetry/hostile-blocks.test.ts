// Corrupt telemetry blocks (a storage fault: a flipped bit on disk, a truncated row, a
// restored backup of another version) must never crash the hub, hang a query or
// allocate from a corrupt length: unpacking throws an Error or returns points that
// are well formed. Fuzzed with fast-check over random bytes, truncations and bit
// flips of real blocks of both formats.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeCbor } from '@halyard/firmware-protocol';
import fc from 'fast-check';
import { testSeed } from '../../../test/helpers/random.js';
import { packBlock, unpackBlock } from './blocks.js';
import type { CodecValue } from './codec.js';

/** Unpacks `data`; passes if it throws an Error or returns well-formed points, no more than its bits allow. */
function survives(data: Uint8Array): void {
  let points: ReturnType<typeof unpackBlock>;
  try {
    points = unpackBlock(data);
  } catch (err) {
    assert.ok(err instanceof Error, `a thrown ${typeof err}`);
    return;
  }
  assert.equal(points.ts.length, points.values.length, 'as many values as times');
  assert.ok(points.ts.length <= data.length * 8, `${points.ts.length} points from ${data.length} bytes`);
  for (const t of points.ts) assert.equal(typeof t, 'number', `a time ${String(t)}`);
  for (const v of points.values)
    assert.ok(
      typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean' || v instanceof Uint8Array,
      `a value ${JSON.stringify(v)}`,
    );
}

const value: fc.Arbitrary<CodecValue> = fc.oneof(
  fc.double(),
  fc.integer({ min: -1000, max: 1000 }).map((i) => i / 10),
  fc.string({ maxLength: 10 }),
  fc.boolean(),
  fc.uint8Array({ maxLength: 6 }),
);

/** A real block of the current format, from a random series. */
const block = fc
  .integer({ min: 1, max: 200 })
  .chain((n) =>
    fc.tuple(fc.array(fc.integer({ min: 0, max: 5_000 }), { minLength: n, maxLength: n }), fc.array(value, { minLength: n, maxLength: n })),
  )
  .map(([gaps, values]) => {
    let t = 1_764_000_000_000;
    const ts = gaps.map((g) => (t += g));
    return packBlock(ts, values, 0, ts.length).data;
  });

/** A block of the first format: CBOR [t0, [Δt...], [value...]]. */
const legacy = fc
  .integer({ min: 1, max: 50 })
  .chain((n) =>
    fc.tuple(
      fc.nat(),
      fc.array(fc.nat({ max: 10_000 }), { minLength: n, maxLength: n }),
      // The first format held finite numbers only (CBOR as the device channel writes it).
      fc.array(
        value.filter((v) => typeof v !== 'number' || Number.isFinite(v)),
        { minLength: n, maxLength: n },
      ),
    ),
  )
  .map(([t0, d, v]) => encodeCbor([t0, d, v]));

const corrupt = (source: fc.Arbitrary<Uint8Array>) =>
  fc.oneof(
    source.chain((b) => fc.nat({ max: b.length }).map((cut) => b.subarray(0, cut))),
    source.chain((b) =>
      fc.array(fc.nat({ max: b.length * 8 - 1 }), { minLength: 1, maxLength: 8 }).map((bits) => {
        const c = b.slice();
        for (const bit of bits) c[bit >>> 3] = (c[bit >>> 3] as number) ^ (0x80 >>> (bit & 7));
        return c;
      }),
    ),
  );

describe('corrupt telemetry blocks', () => {
  it('random bytes in either format throw an Error or unpack to well-formed points', { timeout: 60_000 }, () => {
    fc.assert(
      fc.property(fc.constantFrom(1, 0x83), fc.uint8Array({ maxLength: 300 }), (first, rest) => {
        const data = new Uint8Array(rest.length + 1);
        data[0] = first;
        data.set(rest, 1);
        survives(data);
      }),
      { numRuns: 5_000, seed: testSeed(0xbad0) },
    );
  });

  it('truncated and bit-flipped blocks of the current format throw an Error or unpack to well-formed points', { timeout: 60_000 }, () => {
    fc.assert(fc.property(corrupt(block), survives), { numRuns: 5_000, seed: testSeed(0xbad1) });
  });

  it('truncated and bit-flipped blocks of the first (CBOR) format throw an Error or unpack to well-formed points', {
    timeout: 60_000,
  }, () => {
    fc.assert(fc.property(corrupt(legacy), survives), { numRuns: 5_000, seed: testSeed(0xbad2) });
  });

  it('a first-format block whose arrays do not match, or hold what is not a point, is refused', () => {
    for (const shape of [
      [1, [1, 2, 3], [1]],
      ['x', [1], [1]],
      [1, ['a'], [1]],
      [1, { a: 1 }, [1]],
      [1, [1], [{ a: 1 }]],
      [1, [1], [[1]]],
      [1, [1], [null]],
    ])
      assert.throws(() => unpackBlock(encodeCbor(shape)), /corrupt telemetry block/, JSON.stringify(shape));
  });
});
