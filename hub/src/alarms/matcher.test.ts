// Which rules watch a device, kept up to date one rule at a time (addRule, removeRule)
// as a rule is written, must equal matching every rule again (rulesFor).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AlarmRule } from '@halyard/firmware-protocol';
import { addRule, type DeviceRules, removeRule, rulesFor } from './matcher.js';

const device = { id: 'd1', tags: ['site-a'], model: 'thermo' };

function ruleOf(id: string, condition: AlarmRule['condition'], selector: AlarmRule['selector'] = {}, enabled = true): AlarmRule {
  return { id, name: id, severity: 'minor', enabled, selector, condition } as AlarmRule;
}

/** A device's rules as plain sets of rule ids per feed, order aside. */
function shape(r: DeviceRules | undefined) {
  if (r === undefined) return undefined;
  const ids = (l: readonly { id: string }[]) => l.map((x) => x.id).sort();
  const byMetric = (m: Map<string, { rule: AlarmRule; key: string }[]>) =>
    Object.fromEntries([...m].sort().map(([k, l]) => [k, l.map((w) => `${w.rule.id}|${w.key}`).sort()]));
  return {
    metric: byMetric(r.metric),
    noData: byMetric(r.noData),
    offline: ids(r.offline),
    event: ids(r.event),
    command: ids(r.command),
    twin: ids(r.twin),
  };
}

describe('alarm rule matching, one rule at a time', () => {
  it('gives what matching every rule again gives, for rules added, changed, disabled and deleted', () => {
    const rules = new Map<string, AlarmRule>([
      ['hot', ruleOf('hot', { kind: 'metric', metric: 'temp', above: 30 } as AlarmRule['condition'])],
      ['wet', ruleOf('wet', { kind: 'metric', metric: 'hum', above: 90 } as AlarmRule['condition'], { tags: ['site-a'] })],
      ['gone', ruleOf('gone', { kind: 'offline', for: 60_000 } as AlarmRule['condition'])],
      ['quiet', ruleOf('quiet', { kind: 'no_data', metric: 'temp', for: 60_000 } as AlarmRule['condition'])],
    ]);
    let kept = rulesFor(rules.values(), device);
    const write = (id: string, rule: AlarmRule | undefined) => {
      if (rule === undefined) rules.delete(id);
      else rules.set(id, rule);
      let next = kept === undefined ? undefined : removeRule(kept, id);
      if (rule !== undefined) next = addRule(next, rule, device);
      kept = next;
      assert.deepEqual(shape(kept), shape(rulesFor(rules.values(), device)), `after writing ${id}`);
    };
    write('hot', ruleOf('hot', { kind: 'metric', metric: 'temp', above: 40 } as AlarmRule['condition']));
    write('wet', ruleOf('wet', { kind: 'metric', metric: 'hum', above: 90 } as AlarmRule['condition'], { tags: ['site-b'] }));
    write('gone', ruleOf('gone', { kind: 'offline', for: 60_000 } as AlarmRule['condition'], {}, false));
    write('boom', ruleOf('boom', { kind: 'event', name: 'boom' } as AlarmRule['condition'], { devices: ['d1'] }));
    write('hot', ruleOf('hot', { kind: 'no_data', metric: 'temp', for: 5_000 } as AlarmRule['condition']));
    write('quiet', undefined);
    write('hot', undefined);
    write('boom', undefined);
    assert.equal(kept, undefined, 'no rule left for the device');
    write('wet', ruleOf('wet', { kind: 'metric', metric: 'hum', above: 90 } as AlarmRule['condition'], { model: 'thermo' }));
    assert.deepEqual(shape(kept)?.metric, { hum: ['wet|wet\nd1'] });
  });
});
