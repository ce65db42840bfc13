// Webhooks and their delivery queue in SQLite (README.md § Alarms and
// notifications). A webhook is one JSON document, its signing secret inside: the
// hub must compute HMACs with it, so it is stored as given, not hashed (SECURITY.md).
// Each delivery is a row from the moment it is queued until it is pruned: pending
// rows are the queue (they survive restarts), finished rows are the delivery log.

import type { WebhookDeliveryInfo, WebhookDeliveryState, WebhookEvent, WebhookInfo } from '@halyard/firmware-protocol';
import { HubError, HubErrorCode } from '../errors.js';
import type { Db } from './db.js';
import { refuseAtCap, sql } from './prepared.js';

export interface WebhookRecord extends WebhookInfo {
  /** The HMAC-SHA256 key (README.md § Alarms and notifications). */
  secret: string;
}

export interface NewDelivery {
  id: string;
  webhook: string;
  event: WebhookEvent;
  /** The exact JSON body sent on every attempt. */
  body: string;
  createdAt: number;
}

/** A pending delivery as the sender needs it. */
export interface DueDelivery {
  id: string;
  webhook: string;
  event: WebhookEvent;
  body: string;
  attempts: number;
  createdAt: number;
}

/** One attempt's outcome: delivered, or failed with a retry at `nextAt` (null: given up). */
export interface DeliveryAttempt {
  id: string;
  at: number;
  status: number | null;
  error: string | null;
  delivered: boolean;
  nextAt: number | null;
}

export interface DeliveryQuery {
  webhook: string;
  state?: WebhookDeliveryState;
  /** Only deliveries queued before this one (by rowid): the next page. */
  beforeRowid?: number;
  limit: number;
}

export interface DeliveryRecord extends WebhookDeliveryInfo {
  rowid: number;
}

export interface DeliveryRow {
  rowid: number;
  id: string;
  webhook: string;
  event: string;
  state: string;
  attempts: number;
  created_at: number;
  next_at: number | null;
  last_status: number | null;
  last_error: string | null;
  finished_at: number | null;
}

export const toDelivery = (r: DeliveryRow): DeliveryRecord => ({
  rowid: Number(r.rowid),
  id: r.id,
  webhook: r.webhook,
  event: r.event as WebhookEvent,
  state: r.state as WebhookDeliveryState,
  attempts: r.attempts,
  createdAt: Number(r.created_at),
  nextAt: r.next_at === null ? null : Number(r.next_at),
  lastStatus: r.last_status,
  lastError: r.last_error,
  finishedAt: r.finished_at === null ? null : Number(r.finished_at),
});

export const DELIVERY_COLUMNS = 'rowid, id, webhook, event, state, attempts, created_at, next_at, last_status, last_error, finished_at';

export function putWebhook(db: Db, w: WebhookRecord): WebhookRecord {
  sql(
    db,
    `INSERT INTO webhooks (id, doc, updated_at) VALUES (?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET doc = excluded.doc, updated_at = excluded.updated_at`,
  ).run(w.id, JSON.stringify(w), w.updatedAt);
  return w;
}

/** A new webhook, unless `max` exist already (QueueFull); counted and written in one transaction of the one writer. */
export function createWebhook(db: Db, a: { webhook: WebhookRecord; max: number }): WebhookRecord {
  return db.transaction(() => {
    refuseAtCap(db, 'webhooks', a.max, 'webhooks');
    return putWebhook(db, a.webhook);
  })();
}

/** Rewrites a webhook that exists (WebhookUnknown otherwise: one deleted meanwhile, on any hub, stays deleted). */
export function replaceWebhook(db: Db, w: WebhookRecord): WebhookRecord {
  const n = sql(db, 'UPDATE webhooks SET doc = ?, updated_at = ? WHERE id = ?').run(JSON.stringify(w), w.updatedAt, w.id).changes;
  if (n === 0) throw new HubError(HubErrorCode.WebhookUnknown, `no webhook "${w.id}"`);
  return w;
}

export function getWebhook(db: Db, id: string): WebhookRecord | undefined {
  const doc = sql(db, 'SELECT doc FROM webhooks WHERE id = ?').pluck().get(id) as string | undefined;
  return doc === undefined ? undefined : (JSON.parse(doc) as WebhookRecord);
}

/** By id. */
export function listWebhooks(db: Db): WebhookRecord[] {
  return (sql(db, 'SELECT doc FROM webhooks ORDER BY id').pluck().all() as string[]).map((d) => JSON.parse(d) as WebhookRecord);
}

/** WebhookUnknown. Its deliveries go with it. */
export function deleteWebhook(db: Db, id: string): WebhookRecord {
  return db.transaction(() => {
    const w = getWebhook(db, id);
    if (w === undefined) throw new HubError(HubErrorCode.WebhookUnknown, `no webhook "${id}"`);
    sql(db, 'DELETE FROM webhook_deliveries WHERE webhook = ?').run(id);
    sql(db, 'DELETE FROM webhooks WHERE id = ?').run(id);
    return w;
  })();
}

/**
 * Queues deliveries, each due at once, unless its webhook already holds `maxPending`
 * pending ones (or was deleted): those are dropped and counted by webhook.
 */
export function enqueueDeliveries(
  db: Db,
  a: { deliveries: readonly NewDelivery[]; maxPending: number },
): { queued: number; dropped: Record<string, number> } {
  return db.transaction(() => {
    const room = new Map<string, number>();
    const dropped: Record<string, number> = {};
    let queued = 0;
    for (const d of a.deliveries) {
      let left = room.get(d.webhook);
      if (left === undefined) {
        const exists = sql(db, 'SELECT 1 FROM webhooks WHERE id = ?').get(d.webhook) !== undefined;
        const pending = sql(db, "SELECT count(*) FROM webhook_deliveries WHERE webhook = ? AND state = 'pending'")
          .pluck()
          .get(d.webhook) as number;
        left = exists ? a.maxPending - pending : 0;
      }
      if (left <= 0) {
        dropped[d.webhook] = (dropped[d.webhook] ?? 0) + 1;
        room.set(d.webhook, 0);
        continue;
      }
      sql(
        db,
        `INSERT INTO webhook_deliveries (id, webhook, event, body, state, attempts, created_at, next_at)
         VALUES (?, ?, ?, ?, 'pending', 0, ?, ?) ON CONFLICT (id) DO NOTHING`,
      ).run(d.id, d.webhook, d.event, d.body, d.createdAt, d.createdAt);
      room.set(d.webhook, left - 1);
      queued++;
    }
    return { queued, dropped };
  })();
}

/** Records an attempt; a delivery no longer pending (deleted, or finished by another sender) is left as it is. */
export function recordAttempt(db: Db, a: DeliveryAttempt): void {
  const state = a.delivered ? 'delivered' : a.nextAt === null ? 'failed' : 'pending';
  sql(
    db,
    `UPDATE webhook_deliveries SET attempts = attempts + 1, state = ?, next_at = ?, last_status = ?, last_error = ?, finished_at = ?
     WHERE id = ? AND state = 'pending'`,
  ).run(state, state === 'pending' ? a.nextAt : null, a.status, a.error, state === 'pending' ? null : a.at, a.id);
}

/** Removes finished deliveries older than `before`; how many. */
export function pruneDeliveries(db: Db, a: { before: number }): number {
  return sql(db, "DELETE FROM webhook_deliveries WHERE state <> 'pending' AND finished_at < ?").run(a.before).changes;
}

/** A webhook's pending deliveries due at `now`, oldest due first. */
export function dueDeliveries(db: Db, q: { webhook: string; now: number; limit: number }): DueDelivery[] {
  return (
    sql(
      db,
      `SELECT id, webhook, event, body, attempts, created_at FROM webhook_deliveries
       WHERE webhook = ? AND state = 'pending' AND next_at <= ? ORDER BY next_at, rowid LIMIT ?`,
    ).all(q.webhook, q.now, q.limit) as { id: string; webhook: string; event: string; body: string; attempts: number; created_at: number }[]
  ).map((r) => ({
    id: r.id,
    webhook: r.webhook,
    event: r.event as WebhookEvent,
    body: r.body,
    attempts: r.attempts,
    createdAt: r.created_at,
  }));
}

/** When the next pending delivery is due; undefined when none is pending. */
export function nextDue(db: Db): number | undefined {
  const v = sql(db, "SELECT min(next_at) FROM webhook_deliveries WHERE state = 'pending'").pluck().get() as number | null;
  return v ?? undefined;
}

/** Newest first. */
export function listDeliveries(db: Db, q: DeliveryQuery): DeliveryRecord[] {
  const where = ['webhook = ?'];
  const args: (string | number)[] = [q.webhook];
  if (q.state !== undefined) {
    where.push('state = ?');
    args.push(q.state);
  }
  if (q.beforeRowid !== undefined) {
    where.push('rowid < ?');
    args.push(q.beforeRowid);
  }
  return (
    sql(db, `SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries WHERE ${where.join(' AND ')} ORDER BY rowid DESC LIMIT ?`).all(
      ...args,
      q.limit,
    ) as DeliveryRow[]
  ).map(toDelivery);
}

/** Pending deliveries by webhook (for metrics). */
export function pendingByWebhook(db: Db): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of sql(db, "SELECT webhook, count(*) AS n FROM webhook_deliveries WHERE state = 'pending' GROUP BY webhook").all() as {
    webhook: string;
    n: number;
  }[])
    out[r.webhook] = r.n;
  return out;
}
