// The telemetry range in the URL: every range the picker offers round-trips, anything
// else falls back to the default, and other query parameters are kept.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_RANGE_MS, parseRange, parseSpan, RANGES, rangeSearch, spanSearch } from '../src/lib/time-range.ts';

describe('telemetry range in the URL', () => {
  it('reads every range the picker offers', () => {
    assert.equal(parseRange('?range=7d'), 7 * 86_400_000);
    assert.equal(parseRange('?range=5m'), 5 * 60_000);
    for (const r of RANGES) assert.equal(parseRange(rangeSearch('', r.ms)), r.ms, r.token);
  });

  it('falls back to the default for a missing or unknown range', () => {
    for (const s of ['', '?', '?range=', '?range=7D', '?range=8d', '?range=604800000', '?range=7d%00', '?other=7d'])
      assert.equal(parseRange(s), DEFAULT_RANGE_MS, s);
  });

  it('writes the range, drops it for the default, keeps other parameters', () => {
    assert.equal(rangeSearch('', 7 * 86_400_000), '?range=7d');
    assert.equal(rangeSearch('?range=7d', DEFAULT_RANGE_MS), '');
    assert.equal(rangeSearch('?x=1&range=1h', 86_400_000), '?x=1&range=24h');
    assert.equal(rangeSearch('?x=1&range=1h', DEFAULT_RANGE_MS), '?x=1');
  });

  it('keeps a custom range in the URL as ISO times, and reads back only a range', () => {
    const span: [number, number] = [Date.UTC(2026, 0, 1, 10), Date.UTC(2026, 0, 1, 12)];
    const q = spanSearch('?range=7d', span);
    assert.equal(q, '?range=7d&from=2026-01-01T10%3A00%3A00.000Z&to=2026-01-01T12%3A00%3A00.000Z');
    assert.deepEqual(parseSpan(q), span);
    assert.equal(spanSearch(q, undefined), '?range=7d');
    for (const bad of ['', '?from=2026-01-01T10:00:00Z', '?from=x&to=y', '?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z'])
      assert.equal(parseSpan(bad), undefined, bad);
  });
});
