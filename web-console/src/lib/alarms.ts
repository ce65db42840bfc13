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

/** Marks of a device's alarms within [from, to]. */
export function alarmMarks(list: readonly AlarmInfo[], from: number, to: number): ChartMark[] {
  const out: ChartMark[] = [];
  for (const a of list) {
    if (a.raisedAt >= from && a.raisedAt <= to) out.push({ at: a.raisedAt, tone: 'bad', label: `${a.ruleName} raised (${a.severity})` });
    if (a.clearedAt !== null && a.clearedAt >= from && a.clearedAt <= to)
      out.push({ at: a.clearedAt, tone: 'good', label: `${a.ruleName} cleared` });
  }
  return out.sort((x, y) => x.at - y.at);
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

export const SEVERITIES = ALARM_SEVERITIES;
