// The alarm lifecycle's moves (README.md § Alarms and notifications), pure.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AlarmInfo } from '@halyard/firmware-protocol';
import { applyStep, MAX_ALARM_HISTORY } from './lifecycle.js';
import { rulesFor, selects } from './matcher.js';

const raised: AlarmInfo = {
  id: 'al-1',
  rule: 'r-1',
  ruleName: 'Too hot',
  device: 'd-1',
  severity: 'major',
  state: 'active',
  kind: 'metric',
  message: 'temp 31 above 30',
  raisedAt: 1_000,
  raisedValue: 31,
  acknowledgedAt: null,
  acknowledgedBy: null,
  note: null,
  clearedAt: null,
  clearedBy: null,
  clearedValue: null,
  flaps: 0,
  updatedAt: 1_000,
  history: [{ action: 'raised', at: 1_000, by: null, note: null, value: 31 }],
};
const step = (action: 'acknowledged' | 'cleared' | 'flap', at: number, by: string | null = null) => ({
  id: 'al-1',
  action,
  at,
  by,
  note: by === null ? null : 'note',
  value: 27,
});

describe('alarm lifecycle', () => {
  it('active -> acknowledged -> cleared, each step in the history; nothing moves a cleared alarm', () => {
    const acked = applyStep(raised, step('acknowledged', 2_000, 'op'));
    assert.ok(typeof acked !== 'string');
    assert.deepEqual([acked.state, acked.acknowledgedBy, acked.note], ['acknowledged', 'op', 'note']);
    assert.equal(applyStep(acked, step('acknowledged', 2_500, 'op')), 'acknowledged');
    const cleared = applyStep(acked, step('cleared', 3_000));
    assert.ok(typeof cleared !== 'string');
    assert.deepEqual([cleared.state, cleared.clearedBy, cleared.clearedValue, cleared.note], ['cleared', null, 27, 'note']);
    assert.deepEqual(
      cleared.history.map((h) => h.action),
      ['raised', 'acknowledged', 'cleared'],
    );
    for (const a of ['acknowledged', 'cleared', 'flap'] as const) assert.equal(applyStep(cleared, step(a, 4_000)), 'cleared');
  });

  it('an active alarm clears directly; flaps count; the history keeps its raise and the newest steps', () => {
    let a: AlarmInfo = raised;
    for (let i = 0; i < 100; i++) {
      const next = applyStep(a, step('flap', 2_000 + i));
      assert.ok(typeof next !== 'string');
      a = next;
    }
    assert.equal(a.flaps, 100);
    assert.equal(a.history.length, MAX_ALARM_HISTORY);
    assert.equal(a.history[0]?.action, 'raised');
    assert.equal(a.history[MAX_ALARM_HISTORY - 1]?.at, 2_099);
    const cleared = applyStep(a, step('cleared', 5_000));
    assert.ok(typeof cleared !== 'string' && cleared.state === 'cleared' && cleared.acknowledgedBy === null);
  });
});

describe('rule matching', () => {
  const d = { id: 'boiler-1', tags: ['site-a', 'boiler'], model: 'b200' };
  it('every part of a selector must match: any listed id, all tags, the model; {} selects all', () => {
    assert.ok(selects({}, d));
    assert.ok(selects({ devices: ['x', 'boiler-1'] }, d));
    assert.ok(!selects({ devices: ['x'] }, d));
    assert.ok(selects({ tags: ['boiler', 'site-a'] }, d));
    assert.ok(!selects({ tags: ['boiler', 'site-b'] }, d));
    assert.ok(selects({ model: 'b200', tags: ['boiler'] }, d));
    assert.ok(!selects({ model: 'b300', tags: ['boiler'] }, d));
  });

  it("a device's enabled rules, sorted by what feeds them, keyed once per (rule, device)", () => {
    const base = { name: 'r', severity: 'minor' as const, minDuration: 0, createdAt: 0, createdBy: 'a', updatedAt: 0, updatedBy: 'a' };
    const rules = [
      {
        ...base,
        id: 'a',
        enabled: true,
        selector: {},
        condition: { kind: 'metric' as const, metric: 'temp', above: 1, for: 0, hysteresis: 0 },
      },
      {
        ...base,
        id: 'b',
        enabled: true,
        selector: {},
        condition: { kind: 'metric' as const, metric: 'temp', below: 0, for: 0, hysteresis: 0 },
      },
      { ...base, id: 'c', enabled: false, selector: {}, condition: { kind: 'offline' as const, for: 0 } },
      { ...base, id: 'd', enabled: true, selector: { model: 'other' }, condition: { kind: 'offline' as const, for: 0 } },
      {
        ...base,
        id: 'e',
        enabled: true,
        selector: { tags: ['boiler'] },
        condition: { kind: 'no_data' as const, metric: 'hum', for: 1_000 },
      },
    ];
    const m = rulesFor(rules, d);
    assert.ok(m !== undefined);
    assert.deepEqual(
      m.metric.get('temp')?.map((w) => [w.rule.id, w.key]),
      [
        ['a', 'a\nboiler-1'],
        ['b', 'b\nboiler-1'],
      ],
    );
    assert.deepEqual(
      m.noData.get('hum')?.map((w) => w.rule.id),
      ['e'],
    );
    assert.deepEqual(m.offline, [], 'disabled, and not selecting the device');
    assert.equal(rulesFor([rules[2], rules[3]] as never, d), undefined);
  });
});
