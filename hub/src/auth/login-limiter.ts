// Throttling password guesses (operators over HTTP, integrators over MQTT). The
// guessing client is slowed, never the account: failures are counted per address
// and per address and username, so wrong passwords from one address cannot keep
// the account's owner out from another (SECURITY.md, "Password guessing").

import { isIPv6 } from 'node:net';

export interface LoginLimiterOptions {
  /** Failures per address and username after which that pair waits. */
  freePerUser: number;
  /** Failures per address, whatever the usernames, after which the address waits (people share addresses). */
  freePerAddress: number;
  /** Wait after the last free failure, ms; doubles with every further failure. */
  baseDelayMs: number;
  /** Longest wait, ms. */
  maxDelayMs: number;
  /** A key with no failure for this long is forgotten, ms. */
  forgetAfterMs: number;
  /** Most keys remembered; past it the least recently failing are forgotten first. */
  maxKeys: number;
}

export const LOGIN_LIMITER_DEFAULTS: Readonly<LoginLimiterOptions> = Object.freeze({
  freePerUser: 5,
  freePerAddress: 20,
  baseDelayMs: 1_000,
  maxDelayMs: 15 * 60_000,
  forgetAfterMs: 15 * 60_000,
  maxKeys: 50_000,
});

interface Failures {
  count: number;
  last: number;
  /** No attempt before this time, ms since the epoch. */
  until: number;
}

export class LoginLimiter {
  private readonly opts: LoginLimiterOptions;
  /** In order of last failure (re-inserted on each), so the oldest go first when full. */
  private readonly keys = new Map<string, Failures>();

  constructor(options: Partial<LoginLimiterOptions> = {}) {
    this.opts = { ...LOGIN_LIMITER_DEFAULTS, ...options };
  }

  /** Keys remembered now (for tests and metrics). */
  get size(): number {
    return this.keys.size;
  }

  /** Seconds this address must wait before trying this username, else 0. */
  blocked(ip: string, username: string, now = Date.now()): number {
    let until = 0;
    for (const key of [addressKey(ip), pairKey(ip, username)]) {
      const f = this.live(key, now);
      if (f !== undefined && f.until > until) until = f.until;
    }
    return until > now ? Math.ceil((until - now) / 1000) : 0;
  }

  failed(ip: string, username: string, now = Date.now()): void {
    this.count(addressKey(ip), this.opts.freePerAddress, now);
    this.count(pairKey(ip, username), this.opts.freePerUser, now);
  }

  /**
   * The right password from this address: its guesses at this username are
   * forgotten. The address's own count stays, or one valid account would let
   * its holder reset the count between guesses at others.
   */
  succeeded(ip: string, username: string): void {
    this.keys.delete(pairKey(ip, username));
  }

  private live(key: string, now: number): Failures | undefined {
    const f = this.keys.get(key);
    if (f !== undefined && now - f.last > this.opts.forgetAfterMs && now >= f.until) {
      this.keys.delete(key);
      return undefined;
    }
    return f;
  }

  private count(key: string, free: number, now: number): void {
    const f = this.live(key, now) ?? { count: 0, last: now, until: 0 };
    f.count++;
    f.last = now;
    if (f.count >= free) {
      const delay = Math.min(this.opts.maxDelayMs, this.opts.baseDelayMs * 2 ** Math.min(30, f.count - free));
      f.until = Math.max(f.until, now + delay);
    }
    this.keys.delete(key);
    this.keys.set(key, f);
    while (this.keys.size > this.opts.maxKeys) {
      const oldest = this.keys.keys().next().value;
      if (oldest === undefined) break;
      this.keys.delete(oldest);
    }
  }
}

/**
 * Whom an address stands for: an IPv4 address (also IPv4-mapped IPv6) is itself;
 * an IPv6 address is its /64, the smallest block one subscriber is usually given,
 * so walking through a prefix's addresses does not buy fresh guesses.
 */
export function clientOf(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1] as string;
  if (!isIPv6(ip)) return ip;
  const [head = '', tail = ''] = ip.toLowerCase().split('%')[0]?.split('::') ?? [];
  const left = head === '' ? [] : head.split(':');
  const right = ip.includes('::') ? (tail === '' ? [] : tail.split(':')) : [];
  const groups = [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

const addressKey = (ip: string) => `a\n${clientOf(ip)}`;
const pairKey = (ip: string, username: string) => `u\n${clientOf(ip)}\n${username}`;
