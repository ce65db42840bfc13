import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AttemptWindow } from './rate-limit.js';

describe('AttemptWindow', () => {
  it('counts attempts per key within the window', () => {
    const w = new AttemptWindow(60_000, 20, 1_000);
    for (let i = 0; i < 5; i++) w.hit('a', i * 1_000);
    assert.equal(w.count('a', 5_000), 5);
    assert.equal(w.count('b', 5_000), 0);
    assert.equal(w.count('a', 62_500), 2, 'the first three left the window');
    assert.equal(w.count('a', 200_000), 0);
    assert.equal(w.size, 0, 'an empty key is forgotten');
  });

  it('keeps at most maxPerKey times per key and maxKeys keys, the longest-quiet going first', () => {
    const w = new AttemptWindow(60_000, 20, 1_000);
    for (let i = 0; i < 100; i++) w.hit('busy', 0);
    assert.equal(w.count('busy', 0), 20);
    for (let i = 0; i < 50_000; i++) w.hit(`spray-${i}`, 1);
    assert.equal(w.size, 1_000);
    assert.equal(w.count('busy', 1), 0);
    assert.equal(w.count('spray-49999', 1), 1);
  });
});
