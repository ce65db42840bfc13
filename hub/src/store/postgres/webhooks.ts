// Webhooks and their delivery queue in PostgreSQL (as ../webhooks.ts does in
// SQLite). Deliveries go with their webhook (ON DELETE CASCADE).

import { HubError, HubErrorCode } from '../../errors.js';
import {
  DELIVERY_COLUMNS,
  type DeliveryAttempt,
  type DeliveryQuery,
  type DeliveryRecord,
  type DeliveryRow,
  type DueDelivery,
  type NewDelivery,
  toDelivery,
  type WebhookRecord,
} from '../webhooks.js';
import { type Queryable, refuseAtCap } from './pool.js';

export async function putWebhook(db: Queryable, w: WebhookRecord): Promise<WebhookRecord> {
  await db.query(
    `INSERT INTO webhooks (id, doc, updated_at) VALUES ($1, $2, $3)
     ON CONFLICT (id) DO UPDATE SET doc = excluded.doc, updated_at = excluded.updated_at`,
    [w.id, JSON.stringify(w), w.updatedAt],
  );
  return w;
}

/** Transaction advisory lock that makes webhook creations count one after another, on every hub ('hlyd' 'hook'). */
const WEBHOOKS_LOCK = [0x686c7964, 0x686f6f6b] as const;

/** A new webhook, unless `max` exist already (QueueFull); counted under the lock. */
export async function createWebhook(db: Queryable, a: { webhook: WebhookRecord; max: number }): Promise<WebhookRecord> {
  await refuseAtCap(db, WEBHOOKS_LOCK, 'webhooks', a.max, 'webhooks');
  return putWebhook(db, a.webhook);
}

export async function replaceWebhook(db: Queryable, w: WebhookRecord): Promise<WebhookRecord> {
  const r = await db.query('UPDATE webhooks SET doc = $1, updated_at = $2 WHERE id = $3', [JSON.stringify(w), w.updatedAt, w.id]);
  if (r.rowCount === 0) throw new HubError(HubErrorCode.WebhookUnknown, `no webhook "${w.id}"`);
  return w;
}

export async function getWebhook(db: Queryable, id: string): Promise<WebhookRecord | undefined> {
  return (await db.query<{ doc: WebhookRecord }>('SELECT doc FROM webhooks WHERE id = $1', [id])).rows[0]?.doc;
}

export async function listWebhooks(db: Queryable): Promise<WebhookRecord[]> {
  // COLLATE "C": byte order, as SQLite sorts.
  return (await db.query<{ doc: WebhookRecord }>('SELECT doc FROM webhooks ORDER BY id COLLATE "C"')).rows.map((r) => r.doc);
}

export async function deleteWebhook(db: Queryable, id: string): Promise<WebhookRecord> {
  const r = (await db.query<{ doc: WebhookRecord }>('DELETE FROM webhooks WHERE id = $1 RETURNING doc', [id])).rows[0];
  if (r === undefined) throw new HubError(HubErrorCode.WebhookUnknown, `no webhook "${id}"`);
  return r.doc;
}

export async function enqueueDeliveries(
  db: Queryable,
  a: { deliveries: readonly NewDelivery[]; maxPending: number },
): Promise<{ queued: number; dropped: Record<string, number> }> {
  const room = new Map<string, number>();
  const dropped: Record<string, number> = {};
  let queued = 0;
  for (const d of a.deliveries) {
    let left = room.get(d.webhook);
    if (left === undefined) {
      // FOR UPDATE on the webhook: two nodes queueing for one webhook count its room one after the other.
      const exists = ((await db.query('SELECT 1 FROM webhooks WHERE id = $1 FOR UPDATE', [d.webhook])).rowCount ?? 0) > 0;
      const pending = exists
        ? ((
            await db.query<{ n: number }>("SELECT count(*) AS n FROM webhook_deliveries WHERE webhook = $1 AND state = 'pending'", [
              d.webhook,
            ])
          ).rows[0]?.n ?? 0)
        : 0;
      left = exists ? a.maxPending - pending : 0;
    }
    if (left <= 0) {
      dropped[d.webhook] = (dropped[d.webhook] ?? 0) + 1;
      room.set(d.webhook, 0);
      continue;
    }
    await db.query(
      `INSERT INTO webhook_deliveries (id, webhook, event, body, state, attempts, created_at, next_at)
       VALUES ($1, $2, $3, $4, 'pending', 0, $5, $5) ON CONFLICT (id) DO NOTHING`,
      [d.id, d.webhook, d.event, d.body, d.createdAt],
    );
    room.set(d.webhook, left - 1);
    queued++;
  }
  return { queued, dropped };
}

export async function recordAttempt(db: Queryable, a: DeliveryAttempt): Promise<void> {
  const state = a.delivered ? 'delivered' : a.nextAt === null ? 'failed' : 'pending';
  await db.query(
    `UPDATE webhook_deliveries SET attempts = attempts + 1, state = $1, next_at = $2, last_status = $3, last_error = $4, finished_at = $5
     WHERE id = $6 AND state = 'pending'`,
    [state, state === 'pending' ? a.nextAt : null, a.status, a.error, state === 'pending' ? null : a.at, a.id],
  );
}

export async function pruneDeliveries(db: Queryable, a: { before: number }): Promise<number> {
  return (await db.query("DELETE FROM webhook_deliveries WHERE state <> 'pending' AND finished_at < $1", [a.before])).rowCount ?? 0;
}

export async function dueDeliveries(db: Queryable, q: { webhook: string; now: number; limit: number }): Promise<DueDelivery[]> {
  return (
    await db.query<DueDelivery>(
      `SELECT id, webhook, event, body, attempts, created_at AS "createdAt" FROM webhook_deliveries
       WHERE webhook = $1 AND state = 'pending' AND next_at <= $2 ORDER BY next_at, rowid LIMIT $3`,
      [q.webhook, q.now, q.limit],
    )
  ).rows;
}

export async function nextDue(db: Queryable): Promise<number | undefined> {
  return (
    (await db.query<{ n: number | null }>("SELECT min(next_at) AS n FROM webhook_deliveries WHERE state = 'pending'")).rows[0]?.n ??
    undefined
  );
}

export async function listDeliveries(db: Queryable, q: DeliveryQuery): Promise<DeliveryRecord[]> {
  const args: (string | number)[] = [q.webhook];
  const where = ['webhook = $1'];
  if (q.state !== undefined) {
    args.push(q.state);
    where.push(`state = $${args.length}`);
  }
  if (q.beforeRowid !== undefined) {
    args.push(q.beforeRowid);
    where.push(`rowid < $${args.length}`);
  }
  args.push(q.limit);
  return (
    await db.query<DeliveryRow>(
      `SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries WHERE ${where.join(' AND ')} ORDER BY rowid DESC LIMIT $${args.length}`,
      args,
    )
  ).rows.map(toDelivery);
}

export async function pendingByWebhook(db: Queryable): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const r of (
    await db.query<{ webhook: string; n: number }>(
      "SELECT webhook, count(*) AS n FROM webhook_deliveries WHERE state = 'pending' GROUP BY webhook",
    )
  ).rows)
    out[r.webhook] = r.n;
  return out;
}
