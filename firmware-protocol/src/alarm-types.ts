// Alarm rules and alarms as the hub hands them out: HTTP API (JSON), console channel
// (CBOR), MQTT (`halyard/alarms`, `halyard/devices/{id}/alarms`) and the hub's bus
// topic `alarm`. README.md § Alarms and notifications says what each field means.

import type { JsonValue } from './merge-patch.js';

export const ALARM_SEVERITIES = ['critical', 'major', 'minor', 'warning'] as const;
/** Most severe first. */
export type AlarmSeverity = (typeof ALARM_SEVERITIES)[number];

export const ALARM_STATES = ['active', 'acknowledged', 'cleared'] as const;
/** `active` -> `acknowledged` -> `cleared`; `active` may also clear directly. */
export type AlarmState = (typeof ALARM_STATES)[number];

/** Command states a `command` condition may name. */
export const ALARM_COMMAND_STATES = ['failed', 'rejected', 'timed_out', 'expired'] as const;
export type AlarmCommandState = (typeof ALARM_COMMAND_STATES)[number];

/**
 * What raises an alarm. Durations are ms. A `metric` condition with `above` raises when
 * the value is above it, with `below` when below it, with both when outside
 * [below, above]; it clears when the value is back inside by `hysteresis` (units of
 * the metric): raise above 30, hysteresis 2, clears at 28 or below.
 */
export type AlarmCondition =
  | { kind: 'metric'; metric: string; above?: number; below?: number; for: number; hysteresis: number }
  /** No point of `metric` for `for` ms while the device is known (online or not); clears at the next point. */
  | { kind: 'no_data'; metric: string; for: number }
  /** Offline for `for` ms; clears when the device is back online. */
  | { kind: 'offline'; for: number }
  /** An event with this name (any if absent) at `minLevel` or above; clears on an event named `clearName`, or by hand. */
  | { kind: 'event'; name?: string; minLevel: number; clearName?: string }
  /** A command (this name, any if absent) ending in one of `states`; clears when the next such command succeeds. */
  | { kind: 'command'; name?: string; states: AlarmCommandState[] }
  /** Desired `key` not matched by reported within `within` ms of being set; clears once reported matches. */
  | { kind: 'twin'; key: string; within: number };

export type AlarmConditionKind = AlarmCondition['kind'];

/** Which devices a rule watches: all listed criteria must match; an empty selector matches every device. */
export interface AlarmSelector {
  /** Any of these ids. */
  devices?: string[];
  /** Carries every one of these tags. */
  tags?: string[];
  model?: string;
}

/** A rule as written by an operator. */
export interface AlarmRuleDoc {
  name: string;
  description?: string;
  enabled: boolean;
  severity: AlarmSeverity;
  selector: AlarmSelector;
  condition: AlarmCondition;
  /**
   * ms an alarm stays raised at least (flapping is damped: a condition that ends
   * sooner clears the alarm only once this time has passed, and counts as a flap); 0: none.
   */
  minDuration: number;
}

export interface AlarmRule extends AlarmRuleDoc {
  id: string;
  createdAt: number;
  createdBy: string;
  updatedAt: number;
  updatedBy: string;
}

export type AlarmAction = 'raised' | 'acknowledged' | 'cleared' | 'flap';

/** One step of an alarm's life. `by` is null for the hub's own steps. */
export interface AlarmHistoryEntry {
  action: AlarmAction;
  at: number;
  by: string | null;
  note: string | null;
  value: JsonValue | null;
}

/** One alarm: one raise of one rule on one device, until cleared. Never two not cleared for a (rule, device). */
export interface AlarmInfo {
  id: string;
  rule: string;
  ruleName: string;
  device: string;
  severity: AlarmSeverity;
  state: AlarmState;
  kind: AlarmConditionKind;
  /** What happened, in words ("temp 31.5 above 30 for 10s"). */
  message: string;
  raisedAt: number;
  /** The value that raised it (a metric's value, an event's data, a command's error...). */
  raisedValue: JsonValue | null;
  acknowledgedAt: number | null;
  acknowledgedBy: string | null;
  note: string | null;
  clearedAt: number | null;
  /** null when it cleared by itself. */
  clearedBy: string | null;
  clearedValue: JsonValue | null;
  /** Times the condition ended and came back while raised (or ended before `minDuration`). */
  flaps: number;
  updatedAt: number;
  /** Oldest first, at most the newest 50 steps. */
  history: AlarmHistoryEntry[];
}

/** Alarms not cleared, by severity. */
export type AlarmCounts = Record<AlarmSeverity, number>;
