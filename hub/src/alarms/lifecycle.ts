// An alarm's life (README.md § Alarms and notifications): `active` -> `acknowledged`
// -> `cleared`, or `active` -> `cleared`; a flap is noted on an alarm not cleared.
// Pure, so both store engines apply the same moves inside their transactions.

import type { AlarmAction, AlarmHistoryEntry, AlarmInfo, JsonValue } from '@halyard/firmware-protocol';

/** Steps kept in an alarm's history: the first (its raise) and the newest ones. */
export const MAX_ALARM_HISTORY = 50;

/**
 * Cleared alarms kept per rule and device: the newest ones; an older one goes when
 * a new alarm is raised. A device flapping a rule raised a new alarm each time and
 * every one was kept, so one device could grow the store without bound.
 */
export const MAX_CLEARED_ALARMS = 100;

/** A step asked of an alarm. `by` null: the hub's own (automatic) step. */
export interface AlarmStep {
  id: string;
  action: Exclude<AlarmAction, 'raised'>;
  at: number;
  by: string | null;
  note: string | null;
  value: JsonValue | null;
}

/** Why a step was refused, for the API's answer. */
export type StepRefusal = 'cleared' | 'acknowledged';

function pushHistory(history: AlarmHistoryEntry[], entry: AlarmHistoryEntry): AlarmHistoryEntry[] {
  const next = [...history, entry];
  // Keep the raise (what started it) and the newest steps.
  return next.length <= MAX_ALARM_HISTORY ? next : [next[0] as AlarmHistoryEntry, ...next.slice(next.length - MAX_ALARM_HISTORY + 1)];
}

/**
 * The alarm after `step`, or why it cannot be taken: nothing moves a cleared alarm;
 * acknowledging twice is refused.
 */
export function applyStep(a: AlarmInfo, step: AlarmStep): AlarmInfo | StepRefusal {
  if (a.state === 'cleared') return 'cleared';
  const entry: AlarmHistoryEntry = { action: step.action, at: step.at, by: step.by, note: step.note, value: step.value };
  const base = { ...a, updatedAt: step.at, history: pushHistory(a.history, entry) };
  switch (step.action) {
    case 'acknowledged':
      if (a.state === 'acknowledged') return 'acknowledged';
      return { ...base, state: 'acknowledged', acknowledgedAt: step.at, acknowledgedBy: step.by, note: step.note };
    case 'cleared':
      return { ...base, state: 'cleared', clearedAt: step.at, clearedBy: step.by, clearedValue: step.value, note: step.note ?? a.note };
    case 'flap':
      return { ...base, flaps: a.flaps + 1 };
  }
}
