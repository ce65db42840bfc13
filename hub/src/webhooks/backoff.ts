// When a failed delivery is tried again: exponential backoff with "equal jitter"
// (a random delay between half and all of base * 2^(attempt-1), capped), so that
// deliveries queued together while a receiver was down do not come back together.

/** First retry after about this long (ms), then doubling. */
export const RETRY_BASE_MS = 1_000;
/** Longest wait between two attempts (ms). */
export const RETRY_MAX_MS = 15 * 60_000;

/** Delay before the attempt after `attempts` failed ones; `random` in [0, 1). */
export function retryDelay(attempts: number, random: number, base = RETRY_BASE_MS, max = RETRY_MAX_MS): number {
  const ceiling = Math.min(max, base * 2 ** Math.min(30, Math.max(0, attempts - 1)));
  return Math.round(ceiling / 2 + (random * ceiling) / 2);
}
