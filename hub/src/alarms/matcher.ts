// Which rules watch which device, worked out when a rule or a device changes, never
// per frame: a frame then costs one map lookup per record plus the rules that watch
// that metric on that device (README.md § Alarms and notifications).

import type { AlarmRule, AlarmSelector } from '@halyard/firmware-protocol';
import type { DeviceRecord } from '../store/store.js';

/** A rule watching one device, with the (rule, device) key its state is kept under, made once here rather than per frame. */
export interface Watch {
  rule: AlarmRule;
  key: string;
}

export const watchKey = (rule: string, device: string) => `${rule}\n${device}`;

/** A device's enabled rules, by what feeds them. */
export interface DeviceRules {
  /** `metric` rules by metric name. */
  metric: Map<string, Watch[]>;
  /** `no_data` rules by metric name. */
  noData: Map<string, Watch[]>;
  offline: AlarmRule[];
  event: AlarmRule[];
  command: AlarmRule[];
  twin: AlarmRule[];
}

export function selects(s: AlarmSelector, d: Pick<DeviceRecord, 'id' | 'tags' | 'model'>): boolean {
  if (s.devices !== undefined && s.devices.length > 0 && !s.devices.includes(d.id)) return false;
  if (s.tags !== undefined && !s.tags.every((t) => d.tags.includes(t))) return false;
  if (s.model !== undefined && d.model !== s.model) return false;
  return true;
}

function push(m: Map<string, Watch[]>, k: string, w: Watch): void {
  const list = m.get(k);
  if (list === undefined) m.set(k, [w]);
  else list.push(w);
}

/** The enabled rules of `rules` that select device `d`, sorted by what feeds them; undefined when none does. */
export function rulesFor(rules: Iterable<AlarmRule>, d: Pick<DeviceRecord, 'id' | 'tags' | 'model'>): DeviceRules | undefined {
  let out: DeviceRules | undefined;
  for (const r of rules) out = addRule(out, r, d);
  return out;
}

/** `rules` with rule `r` added if it is enabled and selects device `d` (made when there were none). */
export function addRule(
  rules: DeviceRules | undefined,
  r: AlarmRule,
  d: Pick<DeviceRecord, 'id' | 'tags' | 'model'>,
): DeviceRules | undefined {
  if (!r.enabled || !selects(r.selector, d)) return rules;
  const out: DeviceRules = rules ?? { metric: new Map(), noData: new Map(), offline: [], event: [], command: [], twin: [] };
  const c = r.condition;
  switch (c.kind) {
    case 'metric':
      push(out.metric, c.metric, { rule: r, key: watchKey(r.id, d.id) });
      break;
    case 'no_data':
      push(out.noData, c.metric, { rule: r, key: watchKey(r.id, d.id) });
      break;
    case 'offline':
      out.offline.push(r);
      break;
    case 'event':
      out.event.push(r);
      break;
    case 'command':
      out.command.push(r);
      break;
    case 'twin':
      out.twin.push(r);
      break;
  }
  return out;
}

/** Takes rule `id` out of `rules`; undefined when nothing is left. */
export function removeRule(rules: DeviceRules, id: string): DeviceRules | undefined {
  for (const m of [rules.metric, rules.noData]) {
    for (const [metric, list] of m) {
      const i = list.findIndex((w) => w.rule.id === id);
      if (i === -1) continue;
      list.splice(i, 1);
      if (list.length === 0) m.delete(metric);
    }
  }
  for (const list of [rules.offline, rules.event, rules.command, rules.twin]) {
    const i = list.findIndex((r) => r.id === id);
    if (i !== -1) list.splice(i, 1);
  }
  const empty =
    rules.metric.size + rules.noData.size + rules.offline.length + rules.event.length + rules.command.length + rules.twin.length === 0;
  return empty ? undefined : rules;
}
