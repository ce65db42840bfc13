// Persistent sessions (clean=false) outlive their connection so a client can come
// back to its subscriptions and unfinished QoS 2 exchanges ([MQTT-3.1.2-4]); MQTT
// 3.1.1 sets no end to that, and client ids cost nothing, so a session not resumed
// within --mqtt-session-expiry is ended here, and what it held is freed.

import type { SessionStore } from './session-store.js';

export class SessionExpiry {
  private readonly timers = new Map<string, NodeJS.Timeout>();

  /**
   * `ttlMs` 0 ends a session with its connection. `expired` hears of each session
   * ended, with the number of unreleased QoS 2 packets it still held.
   */
  constructor(
    private readonly store: SessionStore,
    private readonly ttlMs: number,
    private readonly expired: (clientId: string, forgotten: number) => void,
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

  /** A clean=false client went away: its session ends unless resumed in time (`now`: at once). */
  left(clientId: string, now = false): void {
    this.resumed(clientId);
    // Even at 0, a timer: a client taking the id over registers just after this one
    // leaves (in the same turn), and its arrival cancels the timer.
    const t = setTimeout(
      () => {
        this.timers.delete(clientId);
        this.end(clientId);
      },
      now ? 0 : this.ttlMs,
    );
    t.unref();
    this.timers.set(clientId, t);
  }

  /** Ends now every waiting session whose client id starts with `prefix`. */
  endAll(prefix: string): void {
    for (const [clientId, t] of this.timers) {
      if (!clientId.startsWith(prefix)) continue;
      clearTimeout(t);
      this.timers.delete(clientId);
      this.end(clientId);
    }
  }

  close(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  private end(clientId: string): void {
    this.store.endSession(clientId).then(
      (forgotten) => this.expired(clientId, forgotten),
      (err: unknown) => this.failed(clientId, err),
    );
  }
}
