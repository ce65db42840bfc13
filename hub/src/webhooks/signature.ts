// Delivery signatures (README.md § Alarms and notifications), as Stripe signs its
// webhooks: header `Halyard-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>` where
// the HMAC is keyed with the webhook's secret over `<t>.<body>`. The timestamp is
// inside the signed text, so a receiver that rejects old timestamps (5 minutes is
// usual) rejects replays; the delivery id (body `id`, header `Halyard-Webhook-Id`)
// lets it drop duplicates, which at-least-once delivery produces.

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'halyard-signature';
export const ID_HEADER = 'halyard-webhook-id';
export const EVENT_HEADER = 'halyard-event';

export function sign(secret: string, t: number, body: string): string {
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;
}

/** Checks a signature header the way a receiver should (tests use it; README shows the same in a few lines). */
export function verify(secret: string, header: string, body: string, nowSeconds: number, toleranceSeconds = 300): boolean {
  const parts = new Map(header.split(',').map((kv) => kv.split('=', 2) as [string, string]));
  const t = Number(parts.get('t'));
  const got = parts.get('v1');
  if (!Number.isSafeInteger(t) || got === undefined || Math.abs(nowSeconds - t) > toleranceSeconds) return false;
  const want = createHmac('sha256', secret).update(`${t}.${body}`).digest();
  const given = Buffer.from(got, 'hex');
  return given.length === want.length && timingSafeEqual(given, want);
}

/** A new webhook secret: 32 random bytes, base64url, with a recognisable prefix. */
export function newSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}
