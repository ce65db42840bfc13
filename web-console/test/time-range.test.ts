// The telemetry range in the URL: every range the picker offers round-trips, anything
// else falls back to the default, and other query parameters are kept.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_RANGE_MS, parseRange, RANGES, rangeSearch } from '../src/lib/time-range.ts';

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
});
