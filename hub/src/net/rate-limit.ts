// Rate limits the gateways share (device and console connections, device
// upgrades). A token bucket per connection (SPEC.md §9): `rate` messages per
// second on average, bursts up to `burst`. Over the limit the gateway stops reading
// the socket until tokens return, so a fast sender is slowed, never cut off or
// made to lose data.

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

/**
 * Attempts per key within a sliding window, for very many keys in bounded memory:
 * each key keeps at most `maxPerKey` times (enough to tell that a limit of that
 * size is reached), and past `maxKeys` keys the longest-quiet are forgotten first.
 */
export class AttemptWindow {
  /** In order of last attempt (re-inserted on each). */
  private readonly keys = new Map<string, number[]>();

  constructor(
    private readonly windowMs: number,
    private readonly maxPerKey: number,
    private readonly maxKeys: number,
  ) {}

  get size(): number {
    return this.keys.size;
  }

  /** Attempts for `key` within the window ending now. */
  count(key: string, now: number): number {
    return this.recent(key, now)?.length ?? 0;
  }

  hit(key: string, now: number): void {
    const list = this.recent(key, now) ?? [];
    list.push(now);
    if (list.length > this.maxPerKey) list.shift();
    this.keys.delete(key);
    this.keys.set(key, list);
    while (this.keys.size > this.maxKeys) {
      const oldest = this.keys.keys().next().value;
      if (oldest === undefined) break;
      this.keys.delete(oldest);
    }
  }

  private recent(key: string, now: number): number[] | undefined {
    const list = this.keys.get(key);
    if (list === undefined) return undefined;
    while (list.length > 0 && (list[0] as number) <= now - this.windowMs) list.shift();
    if (list.length > 0) return list;
    this.keys.delete(key);
    return undefined;
  }
}
