// Webhooks and their deliveries as the hub's HTTP API hands them out (JSON), for the
// console and API clients. README.md § Alarms and notifications says what each
// field means and how a receiver checks a delivery's signature.

import type { AlarmSeverity } from './alarm-types.js';

/**
 * What a webhook can be told about: alarms (raised, acknowledged, cleared), a device
 * coming online or going offline, a command that failed (failed, rejected, timed
 * out, expired), and the test delivery an admin asks for.
 */
export const WEBHOOK_EVENTS = ['alarm', 'device.online', 'device.offline', 'command.failed'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number] | 'test';

export interface WebhookInfo {
  id: string;
  name: string;
  url: string;
  events: (typeof WEBHOOK_EVENTS)[number][];
  /** Alarms of these severities only; null: all. */
  alarmSeverities: AlarmSeverity[] | null;
  /** Alarms of these rules (ids) only; null: all. */
  alarmRules: string[] | null;
  enabled: boolean;
  createdAt: number;
  createdBy: string;
  updatedAt: number;
}

export const WEBHOOK_DELIVERY_STATES = ['pending', 'delivered', 'failed'] as const;
/** `pending` (queued or waiting to retry) -> `delivered` (a 2xx answer) or `failed` (retry time over). */
export type WebhookDeliveryState = (typeof WEBHOOK_DELIVERY_STATES)[number];

export interface WebhookDeliveryInfo {
  /** Also the body's `id` and the `Halyard-Webhook-Id` header: receivers deduplicate by it. */
  id: string;
  webhook: string;
  event: WebhookEvent;
  state: WebhookDeliveryState;
  attempts: number;
  createdAt: number;
  /** When the next attempt is due (pending), else null. */
  nextAt: number | null;
  /** The receiver's HTTP status at the last attempt; null: no answer (see lastError). */
  lastStatus: number | null;
  lastError: string | null;
  finishedAt: number | null;
}
