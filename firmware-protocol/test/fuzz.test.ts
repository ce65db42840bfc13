// Property-based fuzzing of the codec with fast-check: whatever the bytes, decode()
// returns a typed result and never throws. HALYARD_FUZZ_RUNS raises the count
// (issue 9's long run uses 100,000).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decode, decodeCbor, decodeConsoleRequest, encode, encodeCbor, ProtocolError } from '../src/index.js';

const RUNS = Number(process.env.HALYARD_FUZZ_RUNS ?? 2_000);
// A fixed seed, so a run can be repeated; fast-check names the seed in a failure and
// HALYARD_TEST_SEED replays it (or explores other inputs, with HALYARD_FUZZ_RUNS).
const SEED = Number(process.env.HALYARD_TEST_SEED ?? 0xc0dec) >>> 0;
const NOW = 1_764_000_000_000;
const vectors = (
  JSON.parse(readFileSync(new URL('../test-vectors/valid.json', import.meta.url), 'utf8')) as { vectors: { hex: string }[] }
).vectors.map((v) => new Uint8Array(Buffer.from(v.hex, 'hex')));

function checkResult(bytes: Uint8Array): void {
  let r: ReturnType<typeof decode>;
  try {
    r = decode(bytes, { now: NOW });
  } catch (err) {
    assert.fail(`decode threw for ${Buffer.from(bytes).toString('hex')}: ${String(err)}`);
  }
  if (r.ok) {
    // Anything accepted must survive a round trip unchanged.
    const again = decode(encode(r.message), { now: NOW });
    assert.ok(again.ok, `re-encoded message rejected: ${Buffer.from(bytes).toString('hex')}`);
  } else {
    assert.ok(r.error instanceof ProtocolError);
    assert.match(r.error.code, /^PROTO_ERR_/);
  }
}

describe('fuzz: codec', () => {
  it(`random bytes (${RUNS} runs)`, () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (b) => checkResult(b)),
      { numRuns: RUNS, seed: SEED },
    );
  });
  it(`mutated valid vectors (${RUNS} runs)`, () => {
    const mutation = fc.record({
      vector: fc.integer({ min: 0, max: vectors.length - 1 }),
      edits: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 2 })), { minLength: 1, maxLength: 4 }),
    });
    fc.assert(
      fc.property(mutation, ({ vector, edits }) => {
        let b = Array.from(vectors[vector] as Uint8Array);
        for (const [at, byte, op] of edits) {
          const i = b.length === 0 ? 0 : at % b.length;
          if (op === 0) b[i] = byte;
          else if (op === 1) b.splice(i, 0, byte);
          else b.splice(i, 1);
        }
        b = b.slice(0, 4096);
        checkResult(new Uint8Array(b));
        const c = decodeConsoleRequest(new Uint8Array(b));
        assert.equal(typeof c.ok, 'boolean');
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });
  it(`generic CBOR values round-trip (${RUNS} runs)`, () => {
    const value = fc.letrec((tie) => ({
      v: fc.oneof(
        { depthSize: 'small' },
        fc.constant(null),
        fc.boolean(),
        fc.integer(),
        fc.maxSafeInteger(),
        fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Object.is(d, -0)),
        fc.string({ unit: 'binary' }),
        fc.uint8Array({ maxLength: 16 }),
        fc.array(tie('v'), { maxLength: 5 }),
        fc.dictionary(
          fc.string().filter((k) => !['__proto__', 'constructor', 'prototype'].includes(k)),
          tie('v'),
          { maxKeys: 5, noNullPrototype: true },
        ),
      ),
    })).v;
    fc.assert(
      fc.property(value, (v) => {
        const r = decodeCbor(encodeCbor(v as never));
        if (!r.ok) assert.equal(r.error.code, 'PROTO_ERR_DEPTH');
        else assert.deepStrictEqual(r.value, v);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });
});
