// Red team, wave 2: times and durations past what a millisecond clock holds. The
// API took any finite number for a time or a bucket width (`to=99999999999999999999999`,
// `bucket=99999999999999999999999d`), which PostgreSQL's bigint cannot hold: the
// query failed with 500 there, where SQLite answered with a float. Both engines now
// refuse them with 400 naming the field.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestHub, type TestHub } from './helpers/hub.js';

describe('red team: absurd times and durations in telemetry queries and exports', () => {
  let t: TestHub;
  before(async () => {
    t = await startTestHub();
    await t.api.provision('bounds-1');
  });
  after(() => t.close());

  const huge = '99999999999999999999999';
  const cases: [string, string][] = [
    [`/devices/bounds-1/telemetry?from=0&to=${huge}&bucket=1000000000000000000`, 'to'],
    [`/devices/bounds-1/telemetry?bucket=${huge}d`, 'bucket'],
    [`/devices/bounds-1/telemetry?from=${huge}&to=${huge}`, 'from'],
    [`/devices/bounds-1/telemetry/export?format=csv&bucket=${huge}d`, 'bucket'],
    [`/devices/bounds-1/telemetry/export?format=ndjson&from=0&to=${huge}&bucket=1000000000000000000`, 'to'],
    [`/events?since=${huge}`, 'since'],
  ];
  for (const [path, field] of cases) {
    it(`GET ${path.slice(0, 70)}: 400 on ${field}`, async () => {
      const r = await t.api.get(path);
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.equal(r.body.error.field, field);
    });
  }

  it('a command whose ttl is past any clock is refused with 400, not stored', async () => {
    const r = await t.api.post('/devices/bounds-1/commands', { name: 'noop', ttl: `${huge}d` });
    assert.equal(r.status, 400, JSON.stringify(r.body));
  });
});
