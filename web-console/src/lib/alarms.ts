// Alarms as the console shows them (README.md § Alarms and notifications): lists kept
// current from live `alarm` updates, severities in words and tones, a rule's
// condition in one line, and the chart marks at raise and clear times. Pure.

import { ALARM_SEVERITIES, type AlarmInfo, type AlarmRule, type AlarmSeverity } from '@halyard/firmware-protocol';
import { duration } from './format.ts';

/** The tone (status colour class) of a severity; the word is always shown beside it. */
export const SEVERITY_TONE: Record<AlarmSeverity, string> = { critical: 'bad', major: 'bad', minor: 'pending', warning: 'pending' };

/** `list` with `a` in it (replacing its older state), newest raise first, at most `max`. */
export function mergeAlarm(list: readonly AlarmInfo[], a: AlarmInfo, max = 1_000): AlarmInfo[] {
  const i = list.findIndex((x) => x.id === a.id);
  if (i >= 0) {
    if ((list[i] as AlarmInfo).updatedAt > a.updatedAt) return list as AlarmInfo[];
    const next = [...list];
    next[i] = a;
    return next;
  }
  return [a, ...list].sort((x, y) => y.raisedAt - x.raisedAt).slice(0, max);
}

export interface AlarmFilter {
  /** `open`: active or acknowledged; `all`; or one state. */
  state: 'open' | 'all' | 'active' | 'acknowledged' | 'cleared';
  severity: AlarmSeverity | '';
  q: string;
}

export function matches(a: AlarmInfo, f: AlarmFilter): boolean {
  if (f.state === 'open' ? a.state === 'cleared' : f.state !== 'all' && a.state !== f.state) return false;
  if (f.severity !== '' && a.severity !== f.severity) return false;
  const q = f.q.trim().toLowerCase();
  return q === '' || `${a.device} ${a.ruleName} ${a.message}`.toLowerCase().includes(q);
}

/** A rule's selector and condition in words, for lists. */
export function ruleText(r: Pick<AlarmRule, 'selector' | 'condition' | 'minDuration'>): string {
  const c = r.condition;
  const forText = (ms: number) => (ms > 0 ? ` for ${duration(ms)}` : '');
  let what: string;
  switch (c.kind) {
    case 'metric': {
      const bounds =
        c.above !== undefined && c.below !== undefined
          ? `outside ${c.below}…${c.above}`
          : c.above !== undefined
            ? `above ${c.above}`
            : `below ${c.below}`;
      what = `${c.metric} ${bounds}${forText(c.for)}${c.hysteresis > 0 ? ` (hysteresis ${c.hysteresis})` : ''}`;
      break;
    }
    case 'no_data':
      what = `no ${c.metric} for ${duration(c.for)}`;
      break;
    case 'offline':
      what = `offline${forText(c.for)}`;
      break;
    case 'event':
      what = `event ${c.name ?? '(any)'} at level ${c.minLevel}+${c.clearName ? `, cleared by ${c.clearName}` : ''}`;
      break;
    case 'command':
      what = `command ${c.name ?? '(any)'} ${c.states.join(' or ').replaceAll('_', ' ')}`;
      break;
    case 'twin':
      what = `desired ${c.key} not applied within ${duration(c.within)}`;
      break;
  }
  const s = r.selector;
  const parts = [
    s.devices && s.devices.length > 0 ? `devices ${s.devices.join(', ')}` : '',
    s.tags && s.tags.length > 0 ? `tags ${s.tags.join(', ')}` : '',
    s.model ? `model ${s.model}` : '',
  ].filter((x) => x !== '');
  return `${what} · ${parts.length === 0 ? 'every device' : parts.join('; ')}${r.minDuration > 0 ? ` · held at least ${duration(r.minDuration)}` : ''}`;
}

/** A vertical mark on a chart: an alarm raised (bad) or cleared (good) at `at`. */
export interface ChartMark {
  at: number;
  tone: 'bad' | 'good';
  label: string;
}

/** Marks of a device's alarms within [from, to], of those `shows` keeps. */
export function alarmMarks(
  list: readonly AlarmInfo[],
  from: number,
  to: number,
  shows: (a: AlarmInfo) => boolean = () => true,
): ChartMark[] {
  const out: ChartMark[] = [];
  for (const a of list) {
    if (!shows(a)) continue;
    if (a.raisedAt >= from && a.raisedAt <= to) out.push({ at: a.raisedAt, tone: 'bad', label: `${a.ruleName} raised (${a.severity})` });
    if (a.clearedAt !== null && a.clearedAt >= from && a.clearedAt <= to)
      out.push({ at: a.clearedAt, tone: 'good', label: `${a.ruleName} cleared` });
  }
  return out.sort((x, y) => x.at - y.at);
}

/**
 * Whether an alarm belongs on the chart of `metric`: one of a rule on a metric (a
 * threshold, no data) on that metric's chart only; the others (offline, events,
 * commands, twins) on every chart. `ruleMetric`: the metric of each rule that has one.
 */
export function alarmOnChart(a: Pick<AlarmInfo, 'rule'>, metric: string, ruleMetric: ReadonlyMap<string, string>): boolean {
  const watched = ruleMetric.get(a.rule);
  return watched === undefined || watched === metric;
}

/** The metric of each rule watching one (threshold, no data), by rule id. */
export function rulesMetrics(rules: readonly AlarmRule[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const r of rules) if (r.condition.kind === 'metric' || r.condition.kind === 'no_data') out.set(r.id, r.condition.metric);
  return out;
}

/**
 * The lines to draw for marks at pixel positions `xs` (sorted): marks closer than `gap`
 * pixels to the line before share it, red if any of them is a raise. A flapping alarm
 * over a week is then a few lines where it flapped, not a solid block over the data.
 */
export function markLines(xs: readonly { x: number; tone: ChartMark['tone'] }[], gap: number): { x: number; tone: ChartMark['tone'] }[] {
  const out: { x: number; tone: ChartMark['tone'] }[] = [];
  for (const m of xs) {
    const last = out[out.length - 1];
    if (last !== undefined && m.x - last.x < gap) {
      if (m.tone === 'bad') last.tone = 'bad';
      continue;
    }
    out.push({ x: m.x, tone: m.tone });
  }
  return out;
}

/**
 * What the alarms page says when it shows none: still loading, no alarm ever, none
 * open under the default view (others are cleared: not a filter the operator set), or
 * none matching the operator's own filter.
 */
export function emptyAlarmsTitle(loaded: boolean, total: number, f: AlarmFilter): string {
  if (!loaded) return 'Loading the alarms…';
  if (total === 0) return 'No alarms yet';
  if (f.state === 'open' && f.severity === '' && f.q === '') return 'No alarm is open: every alarm has cleared';
  return 'No alarm matches the filter';
}

export const SEVERITIES = ALARM_SEVERITIES;
