// Persistent sessions (clean=false) outlive their connection so a client can come
// back to its subscriptions and unfinished QoS 2 exchanges ([MQTT-3.1.2-4]); MQTT
// 3.1.1 sets no end to that, and client ids cost nothing. So a session not resumed
// within --mqtt-session-expiry is ended here, and what it held is freed; an account
// keeps at most --mqtt-max-sessions of them waiting (the oldest ends first), and a
// deleted account none. Sessions read back after a restart keep the time their
// client went away.

import type { SessionStore } from './session-store.js';

export type SessionEnd = 'expired' | 'too_many' | 'account_deleted' | 'dropped_by_admin';

export interface SessionLimits {
  /** ms a session waits for its client; 0 ends it with the connection. */
  ttlMs: number;
  /** Sessions waiting per account; 0 = no limit. */
  perAccount: number;
}

/** The account of a client id scoped as `account:id` (the broker scopes them so). */
export function accountOf(clientId: string): string {
  const colon = clientId.indexOf(':');
  return colon < 0 ? '' : clientId.slice(0, colon);
}

export class SessionExpiry {
  /** Waiting sessions, oldest first (a Map keeps insertion order). */
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private closed = false;

  /**
   * `ended` hears of each session ended, why, and how many unreleased QoS 2
   * packets and queued QoS 1 messages it still held.
   */
  constructor(
    private readonly store: SessionStore,
    private readonly limits: SessionLimits,
    private readonly ended: (clientId: string, why: SessionEnd, forgotten: { unreleased: number; queued: number }) => void,
    private readonly failed: (clientId: string, err: unknown) => void,
  ) {}

  /** Sessions kept for clients that are not connected. */
  get waiting(): number {
    return this.timers.size;
  }

  /** A client with this id connected: its session, if any, is in use again. */
  resumed(clientId: string): void {
    const t = this.timers.get(clientId);
    if (t === undefined) return;
    clearTimeout(t);
    this.timers.delete(clientId);
  }

  /**
   * A clean=false client went away: its session ends unless resumed in time
   * (`now`: at once, and why: its account is gone, an admin dropped it). `since`:
   * when it went away, for a session read back after a restart (ms since the epoch).
   */
  left(clientId: string, now?: SessionEnd, since = Date.now()): void {
    this.resumed(clientId);
    // The broker is closing (its clients leave): sessions wait on disk for the next start.
    if (this.closed) return;
    // Even at 0, a timer: a client taking the id over registers just after this one
    // leaves (in the same turn), and its arrival cancels the timer.
    const t = setTimeout(
      () => {
        this.timers.delete(clientId);
        this.end(clientId, now ?? 'expired');
      },
      now !== undefined ? 0 : Math.max(0, this.limits.ttlMs - (Date.now() - since)),
    );
    t.unref();
    this.timers.set(clientId, t);
    if (now === undefined) this.trim(accountOf(clientId));
  }

  /** Ends now every waiting session of an account (deleted). */
  endAccount(account: string): void {
    for (const clientId of [...this.timers.keys()]) {
      if (accountOf(clientId) === account) this.endNow(clientId, 'account_deleted');
    }
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  /**
   * Ends the account's oldest waiting sessions beyond its limit; `keep`: how many may
   * wait (fewer while others of the account are connected, broker.ts).
   */
  trim(account: string, keep = this.limits.perAccount): void {
    if (this.limits.perAccount === 0) return;
    const mine = [...this.timers.keys()].filter((id) => accountOf(id) === account);
    for (const clientId of mine.slice(0, Math.max(0, mine.length - keep))) this.endNow(clientId, 'too_many');
  }

  /** Ends a waiting session now (an admin dropped it); false when none waits under that id. */
  drop(clientId: string): boolean {
    if (!this.timers.has(clientId)) return false;
    this.endNow(clientId, 'dropped_by_admin');
    return true;
  }

  /** Ends a waiting session now, one beyond the account's bound counted elsewhere (a cluster); false when none waits under that id. */
  evict(clientId: string): boolean {
    if (!this.timers.has(clientId)) return false;
    this.endNow(clientId, 'too_many');
    return true;
  }

  private endNow(clientId: string, why: SessionEnd): void {
    clearTimeout(this.timers.get(clientId));
    this.timers.delete(clientId);
    this.end(clientId, why);
  }

  private end(clientId: string, why: SessionEnd): void {
    this.store.endSession(clientId).then(
      (forgotten) => this.ended(clientId, why, forgotten),
      (err: unknown) => this.failed(clientId, err),
    );
  }
}
