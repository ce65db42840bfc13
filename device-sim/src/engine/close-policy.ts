// What a device does after a connection ends: retry (and how soon at the earliest),
// or stop for good. One table for HTTP answers at the upgrade (SPEC.md §2.2) and one
// for close codes (SPEC.md §8.3, §8.4), so the rules live in one place.

import { CloseCode } from '@halyard/firmware-protocol';

/** Why a device stopped trying: each is a reason not to retry automatically. */
export type StopReason = 'unauthorized' | 'revoked' | 'replaced' | 'bad-request' | 'stopped';

export type Disposition =
  | {
      action: 'retry';
      /** Earliest reconnect, ms: Retry-After, or 10 s after 4429. */
      minDelayMs: number;
      /** The hub refused a message (4400, 4413): drop the one its ERROR's seq names before resending. */
      dropRefused: boolean;
    }
  | { action: 'stop'; reason: StopReason };

const retry = (minDelayMs = 0, dropRefused = false): Disposition => ({ action: 'retry', minDelayMs, dropRefused });

/** SPEC.md §2.2: answers to the upgrade request other than 101. */
export function dispositionForStatus(status: number, retryAfterSeconds?: number): Disposition {
  switch (status) {
    case 400:
      // "fix the client; do not retry in a loop".
      return { action: 'stop', reason: 'bad-request' };
    case 401:
      return { action: 'stop', reason: 'unauthorized' };
    case 403:
      return { action: 'stop', reason: 'revoked' };
    case 429:
    case 503:
      // Retry-After is a minimum; without one, the backoff alone decides.
      return retry(Math.max(0, retryAfterSeconds ?? 0) * 1_000);
    default:
      // 404 from a proxy, 5xx while the hub restarts: transient from the device's view.
      return retry();
  }
}

/** SPEC.md §8.4: close codes, or the code of the ERROR that came before the close. */
export function dispositionForClose(code: number): Disposition {
  switch (code) {
    case CloseCode.Revoked:
      return { action: 'stop', reason: 'revoked' };
    case CloseCode.Replaced:
      // "do not reconnect for this connection": another instance holds the session.
      return { action: 'stop', reason: 'replaced' };
    case CloseCode.Unauthorized:
      return { action: 'stop', reason: 'unauthorized' };
    case CloseCode.RateLimited:
      return retry(10_000);
    case CloseCode.Malformed:
    case CloseCode.TooLarge:
      return retry(0, true);
    default:
      // 1000 from the hub, 1001 going away, 1006 dropped, 1011, 4408, unknown codes.
      return retry();
  }
}

/** Parses a Retry-After header holding seconds (the hub's form); an HTTP date counts as absent. */
export function parseRetryAfter(value: string | string[] | undefined): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || !/^\s*\d+\s*$/.test(text)) return undefined;
  return Number(text);
}
