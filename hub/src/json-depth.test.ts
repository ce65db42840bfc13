import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jsonTextDepth, valueDepth } from './json-depth.js';

describe('json depth', () => {
  it('counts nesting in JSON text, skipping brackets inside strings and after escapes', () => {
    assert.equal(jsonTextDepth('1'), 0);
    assert.equal(jsonTextDepth('[]'), 1);
    assert.equal(jsonTextDepth('{"a":[{"b":[]}]}'), 4);
    assert.equal(jsonTextDepth('["[[[", "\\\\", "\\"[[", {}]'), 2);
    assert.equal(jsonTextDepth('[[],[[]],[]]'), 3);
    // Stops reading once past the limit.
    assert.equal(jsonTextDepth('['.repeat(1_000_000), 32), 33);
  });

  it('counts nesting of values, byte strings being leaves, without recursing past the limit', () => {
    assert.equal(valueDepth(1, 15), 0);
    assert.equal(valueDepth({ a: [new Uint8Array(2)] }, 15), 2);
    assert.equal(valueDepth(new Map([['a', [1]]]), 15), 2);
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    assert.ok(valueDepth(deep, 15) > 15);
    assert.equal(valueDepth(JSON.parse('[[[[1]]]]'), 15), 4);
  });
});
