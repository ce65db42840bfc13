// Reconnect delays with exponential backoff and full jitter (SPEC.md §8.3).

export interface BackoffOptions {
  /** First delay's upper bound, ms. */
  baseMs: number;
  /** Largest delay, ms. */
  capMs: number;
}

export const DEFAULT_BACKOFF: Readonly<BackoffOptions> = Object.freeze({ baseMs: 1_000, capMs: 60_000 });

/**
 * Delay before reconnect attempt `attempt` (0 for the first retry):
 * a uniform random value in [0, min(cap, base * 2^attempt)).
 */
export function backoffDelay(attempt: number, opts: BackoffOptions = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const ceiling = Math.min(opts.capMs, opts.baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}
