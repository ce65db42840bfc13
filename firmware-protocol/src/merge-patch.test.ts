import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelay } from './backoff.js';
import { applyMergePatch, deepEqual } from './merge-patch.js';

// RFC 7396 Appendix A, every example.
const EXAMPLES: [unknown, unknown, unknown][] = [
  [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
  [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
  [{ a: 'b' }, { a: null }, {}],
  [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
  [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
  [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
  [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
  [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
  [
    ['a', 'b'],
    ['c', 'd'],
    ['c', 'd'],
  ],
  [{ a: 'b' }, ['c'], ['c']],
  [{ a: 'foo' }, null, null],
  [{ a: 'foo' }, 'bar', 'bar'],
  [{ e: null }, { a: 1 }, { e: null, a: 1 }],
  [[1, 2], { a: 'b', c: null }, { a: 'b' }],
  [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
];

describe('JSON merge patch (RFC 7396)', () => {
  for (const [target, patch, result] of EXAMPLES) {
    it(`${JSON.stringify(target)} + ${JSON.stringify(patch)}`, () => {
      const before = structuredClone(target);
      assert.deepStrictEqual(applyMergePatch(target, patch), result);
      assert.deepStrictEqual(target, before, 'the target is not mutated');
    });
  }
  it('deepEqual compares structure, including byte strings', () => {
    assert.ok(deepEqual({ a: [1, { b: new Uint8Array([1]) }] }, { a: [1, { b: new Uint8Array([1]) }] }));
    assert.ok(!deepEqual({ a: 1 }, { a: 1, b: 2 }));
    assert.ok(!deepEqual([1], { 0: 1 }));
    assert.ok(!deepEqual(null, {}));
  });
});

describe('reconnect backoff (SPEC.md §8.3)', () => {
  it('draws from [0, min(cap, base * 2^attempt))', () => {
    const opts = { baseMs: 1000, capMs: 60_000 };
    assert.equal(
      backoffDelay(0, opts, () => 0.999999),
      999,
    );
    assert.equal(
      backoffDelay(3, opts, () => 0.5),
      4000,
    );
    assert.equal(
      backoffDelay(20, opts, () => 0.999999),
      59_999,
    );
    assert.equal(
      backoffDelay(1000, opts, () => 0),
      0,
    );
  });
});
