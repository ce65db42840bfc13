import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDuration, parseDuration, parseSize } from './units.js';

describe('durations and sizes', () => {
  it('parses every duration unit', () => {
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration('10s'), 10_000);
    assert.equal(parseDuration('1.5s'), 1_500);
    assert.equal(parseDuration('5m'), 300_000);
    assert.equal(parseDuration('1h'), 3_600_000);
    assert.equal(parseDuration('30d'), 2_592_000_000);
    assert.equal(parseDuration('0'), 0);
  });
  it('takes bare numbers as ms only where asked', () => {
    assert.equal(parseDuration('30'), undefined);
    assert.equal(parseDuration('30', true), 30);
    assert.equal(parseDuration(250, true), 250);
    assert.equal(parseDuration(250), undefined);
  });
  it('refuses nonsense', () => {
    for (const bad of ['', 's', '-5s', '5 parsecs', '1e3s', 'NaN']) assert.equal(parseDuration(bad), undefined, bad);
  });
  it('parses sizes', () => {
    assert.equal(parseSize('64KiB'), 65_536);
    assert.equal(parseSize('1MiB'), 1_048_576);
    assert.equal(parseSize('1kb'), 1_000);
    assert.equal(parseSize('4096'), 4_096);
    assert.equal(parseSize('4 TB'), undefined);
  });
  it('formats durations', () => {
    assert.equal(formatDuration(250), '250ms');
    assert.equal(formatDuration(90_000), '1.5m');
  });
});
