// A token bucket per device (SPEC.md §9): `rate` messages per second on average,
// bursts up to `burst`. Over the limit the gateway stops reading the socket until
// tokens return, so a fast sender is slowed, never cut off or made to lose data.

export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.last = now;
  }

  private refill(now: number): void {
    if (now > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.rate) / 1000);
      this.last = now;
    }
  }

  /** Spends one token and returns 0 if there is one; otherwise spends nothing and returns the ms until there is. */
  take(now: number): number {
    this.refill(now);
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil(((1 - this.tokens) * 1000) / this.rate));
  }
}

/** Counts events in a sliding window; `hit` returns how many fell within it, including this one. */
export class WindowCounter {
  private readonly times: number[] = [];

  constructor(private readonly windowMs: number) {}

  hit(now: number): number {
    this.times.push(now);
    while (this.times.length > 0 && (this.times[0] as number) <= now - this.windowMs) this.times.shift();
    return this.times.length;
  }
}
