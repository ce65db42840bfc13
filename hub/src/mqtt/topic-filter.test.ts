// Topic filters: the cases MQTT 3.1.1 §4.7 spells out, and a property check that
// filtersOverlap never says "no" when some topic matches both filters (the ACL
// would then refuse a subscription that could deliver something).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { testSeed } from '../../test/helpers/random.js';
import { filterError, filtersOverlap, topicMatches } from './topic-filter.js';

describe('topic filters', () => {
  it('matches topics as MQTT 3.1.1 §4.7 says', () => {
    const cases: [string, string, boolean][] = [
      ['sport/tennis/player1/#', 'sport/tennis/player1', true], // [MQTT-4.7.1-2]: # includes the parent
      ['sport/tennis/player1/#', 'sport/tennis/player1/ranking', true],
      ['sport/tennis/player1/#', 'sport/tennis/player1/score/wimbledon', true],
      ['sport/#', 'sport', true],
      ['sport/tennis/+', 'sport/tennis/player1', true],
      ['sport/tennis/+', 'sport/tennis/player1/ranking', false],
      ['sport/+', 'sport', false],
      ['sport/+', 'sport/', true],
      ['+/+', '/finance', true],
      ['/+', '/finance', true],
      ['+', '/finance', false],
      ['#', '$SYS/broker', false], // [MQTT-4.7.2-1]
      ['+/monitor/Clients', '$SYS/monitor/Clients', false],
      ['$SYS/#', '$SYS/broker', true],
      ['halyard/devices/+/cmd/+', 'halyard/devices/d1/cmd/reboot', true],
      ['halyard/devices/+/cmd/+', 'halyard/devices/d1/cmd/reboot/status', false],
      ['halyard/devices/+/cmd/+', 'halyard/devices/d1/cmd', false],
      ['halyard/devices/d1', 'halyard/devices/d10', false],
      ['halyard/devices/d10', 'halyard/devices/d1', false],
      ['a//b', 'a//b', true],
      ['a/+/b', 'a//b', true],
      ['a/+', 'a//b', false],
      ['+', '', true],
      ['a', 'a/', false],
      ['#', 'a/b/c', true],
      ['+/#', '$SYS', false],
    ];
    for (const [filter, topic, expected] of cases) assert.equal(topicMatches(filter, topic), expected, `${filter} ~ ${topic}`);
  });

  it('validates filters', () => {
    for (const ok of ['#', '+', 'a/+/b', 'a/#', '/', 'a//b']) assert.equal(filterError(ok), undefined, ok);
    for (const bad of ['', 'a#', 'a/#/b', 'a+/b', '$SYS/#', `${'a/'.repeat(40)}a`, 'a\u0000b']) assert.ok(filterError(bad), bad);
  });

  it('says two filters overlap whenever some topic matches both', () => {
    const level = fc.constantFrom('a', 'b', '', '+');
    const filter = fc
      .tuple(fc.array(level, { minLength: 1, maxLength: 4 }), fc.boolean())
      .map(([levels, hash]) => (hash ? [...levels, '#'] : levels).join('/'));
    const topic = fc.array(fc.constantFrom('a', 'b', ''), { minLength: 1, maxLength: 6 }).map((l) => l.join('/'));
    fc.assert(
      fc.property(filter, filter, topic, (x, y, t) => {
        if (topicMatches(x, t) && topicMatches(y, t)) assert.ok(filtersOverlap(x, y), `${x} and ${y} both match ${t}`);
      }),
      // fast-check names the seed in a failure; HALYARD_TEST_SEED replays it.
      { numRuns: 5_000, seed: testSeed(0x70b1c) },
    );
  });

  it('says filters do not overlap when they cannot', () => {
    assert.equal(filtersOverlap('halyard/devices/d1/#', 'halyard/devices/d2/status'), false);
    assert.equal(filtersOverlap('halyard/#', 'other/#'), false);
    assert.equal(filtersOverlap('a/b', 'a/b/c'), false);
    assert.equal(filtersOverlap('a/+', 'a/b/#'), true);
    assert.equal(filtersOverlap('a/b/#', 'a'), false);
    assert.equal(filtersOverlap('a/#', 'a'), true);
  });
});
