// Operators' sessions: who a session token belongs to, remembered while it lives.
// Shared by the HTTP API and the console gateway.

import type { Role } from '@halyard/firmware-protocol';
import type { EventBus } from '../bus.js';
import type { SessionLookup } from '../store/store.js';
import { sha256 } from './secrets.js';

export const SESSION_COOKIE = 'halyard_session';
export const SESSION_TTL_MS = 7 * 24 * 3_600_000;
/** How long a token the database did not know is not asked about again, ms (cluster mode). */
const MISS_MS = 5_000;

export interface Caller {
  username: string;
  role: Role;
  /** How the caller authenticated; only cookie callers need the CSRF check. */
  via: 'cookie' | 'bearer';
  tokenHash: Uint8Array;
}

/**
 * Resolves session tokens to their operators (undefined when expired, unknown or
 * disabled), remembering live sessions so a busy API client costs no database read
 * per request. Every change that ends sessions (logout, an operator
 * disabled, demoted, re-passworded or deleted) publishes `session.ended` once it is
 * written, and that empties the memory before any later request is read; expiry is
 * checked on every hit. Unknown tokens are never remembered.
 */
export class SessionCache {
  private readonly live = new Map<string, { caller: Omit<Caller, 'via'>; expiresAt: number }>();

  /** Tokens the store did not know when last asked (cluster mode), until when: a stranger's guesses cost one read each per MISS_MS. */
  private readonly misses = new Map<string, number>();

  constructor(
    readonly lookup: SessionLookup,
    bus: EventBus,
    private readonly max = 10_000,
    /**
     * Cluster mode: loads the session with this token hash (and its operator) into
     * the lookup from the database, for a session another node created (login there,
     * request here). Undefined on a single hub, whose lookup knows every session.
     */
    private readonly reload?: (tokenHash: Uint8Array) => Promise<void>,
  ) {
    bus.subscribe('session.ended', () => this.live.clear());
  }

  /** Whether resolveFresh may find more than resolve (cluster mode). */
  get refreshes(): boolean {
    return this.reload !== undefined;
  }

  /** As resolve; in cluster mode a token unknown here is looked up in the database once (another node's login). */
  async resolveFresh(token: string, via: Caller['via'], now = Date.now()): Promise<Caller | undefined> {
    const known = this.resolve(token, via, now);
    if (known !== undefined || this.reload === undefined) return known;
    const tokenHash = sha256(token);
    const key = Buffer.from(tokenHash).toString('base64');
    if ((this.misses.get(key) ?? 0) > now) return undefined;
    await this.reload(tokenHash).catch(() => {});
    const found = this.resolve(token, via, now);
    if (found === undefined) {
      if (this.misses.size >= this.max) this.misses.clear();
      this.misses.set(key, now + MISS_MS);
    }
    return found;
  }

  resolve(token: string, via: Caller['via'], now = Date.now()): Caller | undefined {
    const tokenHash = sha256(token);
    const key = Buffer.from(tokenHash).toString('base64');
    const hit = this.live.get(key);
    if (hit !== undefined) {
      if (hit.expiresAt >= now) return { ...hit.caller, via };
      this.live.delete(key);
    }
    const s = this.lookup.getSession(tokenHash);
    if (s === undefined || s.expiresAt < now) return undefined;
    const o = this.lookup.getOperator(s.username);
    if (o === undefined || o.disabled) return undefined;
    const caller = { username: o.username, role: o.role, tokenHash };
    if (this.live.size >= this.max) this.live.clear();
    this.live.set(key, { caller, expiresAt: s.expiresAt });
    return { ...caller, via };
  }
}
