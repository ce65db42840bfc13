// What a webhook is told: hub events turned into delivery bodies, and which webhooks
// want which (README.md § Alarms and notifications). Every body is
// `{id, type, createdAt, data}`; `id` is the delivery's, the same on every retry.

import type { AlarmInfo, CommandInfo, PresenceInfo, WebhookEvent } from '@halyard/firmware-protocol';
import type { WebhookRecord } from '../store/store.js';

/** Command states a `command.failed` delivery reports. */
export const FAILED_COMMAND_STATES: ReadonlySet<string> = new Set(['failed', 'rejected', 'timed_out', 'expired']);

export interface WebhookMessage {
  type: WebhookEvent;
  data: Record<string, unknown>;
  /** For alarm filters. */
  alarm?: AlarmInfo;
}

export function alarmMessage(alarm: AlarmInfo): WebhookMessage {
  // The history stays out (the API has it): a delivery says what just happened.
  const { history, ...rest } = alarm;
  const action = history[history.length - 1]?.action ?? 'raised';
  return { type: 'alarm', data: { action, alarm: rest }, alarm };
}

export function presenceMessage(p: PresenceInfo): WebhookMessage {
  return { type: p.online ? 'device.online' : 'device.offline', data: { device: p.device, reason: p.reason, code: p.code, at: p.at } };
}

/** A command's change, when it is a failure (undefined otherwise). */
export function commandMessage(c: CommandInfo): WebhookMessage | undefined {
  if (!FAILED_COMMAND_STATES.has(c.state)) return undefined;
  return { type: 'command.failed', data: { command: c } };
}

/** Whether `w` wants `m`. */
export function wants(w: WebhookRecord, m: WebhookMessage): boolean {
  if (!w.enabled || m.type === 'test' || !(w.events as string[]).includes(m.type)) return false;
  if (m.alarm !== undefined) {
    if (w.alarmSeverities !== null && !w.alarmSeverities.includes(m.alarm.severity)) return false;
    if (w.alarmRules !== null && !w.alarmRules.includes(m.alarm.rule)) return false;
  }
  return true;
}

export function body(id: string, m: WebhookMessage, createdAt: number): string {
  return JSON.stringify({ id, type: m.type, createdAt, data: m.data });
}
