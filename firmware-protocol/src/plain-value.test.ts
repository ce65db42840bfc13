import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { type Encodable, encodeCbor } from './cbor/encode.js';
import { decode } from './codec.js';
import { DEFAULT_LIMITS, MessageType } from './constants.js';
import type { Data } from './messages.js';
import { checkPlainValue, PlainValueProblemKind } from './plain-value.js';

const LIMITS = { maxDepth: 6, maxItems: 5, maxString: 12 };

/** A COMMAND frame carrying `params`, encoded as the hub would send it (reserved keys and all). */
function commandFrame(params: unknown): Uint8Array {
  return encodeCbor([MessageType.Command, 'c', 'n', params as Encodable, 0]);
}

describe('checkPlainValue', () => {
  it('names the path of a reserved key, at any depth, and allows it with null in a merge patch', () => {
    const v = { a: [1, { b: { constructor: { x: 1 } } }] };
    assert.deepEqual(checkPlainValue(v, DEFAULT_LIMITS, { path: 'params' }), {
      kind: PlainValueProblemKind.Key,
      path: 'params.a.1.b.constructor',
      message: 'params.a.1.b.constructor: the key "constructor" is reserved (SPEC.md §3.2)',
    });
    const proto = JSON.parse('{"__proto__": 1}') as unknown;
    assert.equal(checkPlainValue(proto, DEFAULT_LIMITS)?.path, '__proto__');
    assert.equal(checkPlainValue({ prototype: null }, DEFAULT_LIMITS, { mergePatch: true }), undefined);
    assert.equal(checkPlainValue({ prototype: null }, DEFAULT_LIMITS)?.kind, PlainValueProblemKind.Key);
    assert.equal(checkPlainValue({ prototype: {} }, DEFAULT_LIMITS, { mergePatch: true })?.kind, PlainValueProblemKind.Key);
  });

  it('counts depth from the enclosing message, strings in UTF-8 bytes, and entries', () => {
    // Depth 1 taken by the message array: five more levels fit, six do not.
    assert.equal(checkPlainValue([[[[[1]]]]], LIMITS, { depth: 1 }), undefined);
    assert.deepEqual(checkPlainValue({ a: [[[[[1]]]]] }, LIMITS, { path: 'p', depth: 1 })?.path, 'p.a.0.0.0.0');
    assert.equal(checkPlainValue('é'.repeat(6), LIMITS), undefined);
    assert.equal(checkPlainValue('é'.repeat(7), LIMITS)?.kind, PlainValueProblemKind.String);
    assert.equal(checkPlainValue({ ['k'.repeat(13)]: 1 }, LIMITS)?.kind, PlainValueProblemKind.String);
    assert.equal(checkPlainValue(new Uint8Array(13), LIMITS)?.kind, PlainValueProblemKind.String);
    assert.equal(checkPlainValue([1, 2, 3, 4, 5, 6], LIMITS)?.kind, PlainValueProblemKind.Items);
    assert.equal(checkPlainValue({ a: 1, b: 2, c: 3, d: 4, e: 5, f: 6 }, LIMITS)?.kind, PlainValueProblemKind.Items);
    assert.equal(checkPlainValue({ x: Number.NaN }, LIMITS)?.path, 'x');
    assert.equal(checkPlainValue({ x: new Date(0) }, LIMITS)?.kind, PlainValueProblemKind.Type);
    // A JSON form's byte strings count as byte strings, one level less deep.
    const bytesOf = (o: Readonly<Record<string, unknown>>) => (typeof o.b64 === 'string' ? o.b64.length : undefined);
    assert.equal(checkPlainValue([[[[{ b64: 'x'.repeat(12) }]]]], LIMITS, { depth: 1, bytesOf }), undefined);
    assert.equal(checkPlainValue([{ b64: 'x'.repeat(13) }], LIMITS, { bytesOf })?.path, '0');
  });

  it('agrees with the decoder on every generated value (seeded)', () => {
    const key = fc.oneof(fc.constantFrom('__proto__', 'constructor', 'prototype', 'a', 'é'.repeat(7)), fc.string({ maxLength: 14 }));
    const { value } = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        fc.constant(null),
        fc.boolean(),
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.integer(),
        fc.string({ maxLength: 14 }),
        fc.uint8Array({ maxLength: 14 }),
        fc.array(tie('value'), { maxLength: 7 }),
        fc.dictionary(key, tie('value'), { maxKeys: 7 }).map((d) => {
          // fast-check builds dictionaries with defineProperty; keep "__proto__" an own key.
          const o: Record<string, unknown> = {};
          for (const k of Object.keys(d))
            Object.defineProperty(o, k, { value: d[k], enumerable: true, writable: true, configurable: true });
          return o;
        }),
      ),
    }));
    const limits = { ...DEFAULT_LIMITS, ...LIMITS, maxFrame: 1 << 20 };
    fc.assert(
      fc.property(value, (v) => {
        const problem = checkPlainValue(v, limits, { depth: 1 });
        const r = decode(commandFrame(v), { limits });
        assert.equal(r.ok, problem === undefined, `check says ${JSON.stringify(problem)}, decoder says ${r.ok ? 'ok' : r.error.message}`);
        if (r.ok && r.message.type === MessageType.Command) assert.ok((r.message.params as Data) !== undefined);
      }),
      { numRuns: 3_000, seed: 13 },
    );
  });
});
