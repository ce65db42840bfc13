// Whether the PostgreSQL server answers, as one explicit state the hub can report
// (/healthz, a gauge, one log line per change). pg's Pool reconnects lazily, on the
// next query, so nothing would notice the server coming back while the hub holds
// its writes: once a connection fault is seen, a probe (SELECT 1 on a fresh
// connection) retries with exponential backoff and full jitter until the server
// answers, and only the probe brings the state up again: a pooled connection can
// still answer for a moment while the server shuts down (its backend has not yet
// handled the signal), and taking that for a recovery would report the outage
// twice. Writes are not retried here: a failed batch is reported as failed
// and the gateway handles it as it does SQLite's (not acknowledged, the device
// resends; docs/architecture.md), and (device, seq) marks make resends exactly once.

import type { StoreConnection } from '../store.js';

export interface BackoffOptions {
  /** First probe delay, ms (default 100). */
  initialMs?: number;
  /** Longest probe delay, ms (default 2 s: the server is back at most this long before the hub notices). */
  maxMs?: number;
  /** [0, 1); tests pass a seeded one. */
  random?: () => number;
}

/** The delay before probe `attempt` (0-based): full jitter over an exponential ceiling, never under a tenth of it. */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const initial = options.initialMs ?? 100;
  const max = options.maxMs ?? 2_000;
  const ceiling = Math.min(max, initial * 2 ** Math.min(attempt, 30));
  const r = (options.random ?? Math.random)();
  return Math.round(ceiling * (0.1 + 0.9 * r));
}

/** An error message with the connection string's password (and user:password@ parts) taken out. */
export function redact(message: string, url: string): string {
  let out = message.replace(/(postgres(?:ql)?:\/\/)[^@\s/]*@/gi, '$1***@');
  try {
    const password = decodeURIComponent(new URL(url).password);
    if (password.length > 0) out = out.split(password).join('***');
  } catch {
    // Not a URL pg could use either; nothing more to take out.
  }
  return out;
}

export class ConnectionState {
  private current: StoreConnection;
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private changes = 0;
  private probing = false;

  constructor(
    private readonly url: string,
    /** One query that succeeds only with a working connection. */
    private readonly probe: () => Promise<unknown>,
    /** Called on every change of `up`, never twice in the same direction. */
    private readonly changed: (state: StoreConnection) => void,
    private readonly backoff: BackoffOptions = {},
  ) {
    this.current = { engine: 'postgres', up: true, since: Date.now(), error: null, attempts: 0 };
  }

  get state(): StoreConnection {
    return { ...this.current, attempts: this.attempt };
  }

  /**
   * Counts the changes of state. A call that was under way across a change cannot
   * speak for the server since: a batch on another connection, begun during the
   * outage, that fails once the server is back. `down` takes this as it was when the
   * call started and ignores a call that began before the last change, so that
   * several connections in flight at a change make one change, not one per
   * connection.
   */
  get epoch(): number {
    return this.changes;
  }

  /** A connection fault was seen: down from now (once), probing until the server answers. */
  down(err: unknown, epoch?: number): void {
    if (this.stopped || (epoch !== undefined && epoch !== this.changes)) return;
    const error = redact(err instanceof Error ? err.message : String(err), this.url);
    if (!this.current.up) {
      this.current = { ...this.current, error };
      return;
    }
    this.attempt = 0;
    this.changes++;
    this.current = { engine: 'postgres', up: false, since: Date.now(), error, attempts: 0 };
    this.changed(this.state);
    this.schedule();
  }

  /**
   * A call on a pooled connection succeeded. While up that says nothing new; while
   * down it is no proof (see the top of this file), so the probe goes now instead of
   * after its backoff, and the probe decides.
   */
  answered(): void {
    if (this.stopped || this.current.up || this.probing) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.runProbe();
  }

  /** The probe answered: up, if it was down. */
  private up(): void {
    if (this.stopped || this.current.up) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const attempts = this.attempt;
    this.attempt = 0;
    this.changes++;
    this.current = { engine: 'postgres', up: true, since: Date.now(), error: this.current.error, attempts: 0 };
    this.changed({ ...this.current, attempts });
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.stopped || this.current.up) return;
    const delay = backoffDelay(this.attempt, this.backoff);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.runProbe();
    }, delay);
    // A hub shutting down does not wait for the next probe.
    this.timer.unref();
  }

  private runProbe(): void {
    this.attempt++;
    this.probing = true;
    this.probe().then(
      () => {
        this.probing = false;
        this.up();
      },
      (err: unknown) => {
        this.probing = false;
        if (this.current.up || this.stopped) return;
        this.current = { ...this.current, error: redact(err instanceof Error ? err.message : String(err), this.url) };
        this.schedule();
      },
    );
  }
}
