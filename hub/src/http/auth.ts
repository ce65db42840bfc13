// Who is calling: an operator's session from the cookie (the console) or from
// `Authorization: Bearer` (API clients); role checks; CSRF defence for cookie
// callers. Login throttling is in login-limiter.ts.

import type { Role } from '@halyard/firmware-protocol';
import type { Context, MiddlewareHandler } from 'hono';
import { bearer, sha256 } from '../auth/secrets.js';
import type { EventBus } from '../bus.js';
import { HubError, HubErrorCode } from '../errors.js';
import type { SessionLookup } from '../store/store.js';
import type { AppEnv } from './env.js';

export const SESSION_COOKIE = 'halyard_session';
export const SESSION_TTL_MS = 7 * 24 * 3_600_000;

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

  constructor(
    readonly lookup: SessionLookup,
    bus: EventBus,
    private readonly max = 10_000,
  ) {
    bus.subscribe('session.ended', () => this.live.clear());
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

/** What a session token looks like: randomToken()'s base64url, with room to grow. */
const SESSION_TOKEN = /^[A-Za-z0-9_-]{16,256}$/;

/**
 * The token a request carries: bearer first, then the session cookie. The HTTP
 * API and the console upgrade both read it here, before anyone is authenticated,
 * so nothing in a header may make it throw: the cookie is not percent-decoded at
 * all (the hub's tokens never need it) and anything not shaped like a token is
 * no token.
 */
export function requestToken(
  authorization: string | undefined,
  cookieHeader: string | undefined,
): { token: string; via: Caller['via'] } | undefined {
  const b = bearer(authorization);
  if (b !== undefined) return { token: b, via: 'bearer' };
  const value = cookieValue(cookieHeader, SESSION_COOKIE);
  return value !== undefined && SESSION_TOKEN.test(value) ? { token: value, via: 'cookie' } : undefined;
}

/** The first cookie of that name, as sent (no decoding), trimmed. */
function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq !== -1 && pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim();
  }
  return undefined;
}

/** Puts the caller (or undefined) on every request's context. */
export function authenticate(sessions: SessionCache): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const found = requestToken(c.req.header('authorization'), c.req.header('cookie'));
    c.set('caller', found ? sessions.resolve(found.token, found.via) : undefined);
    await next();
  };
}

/** The request's origin matches the hub's own (SPEC.md §10.1; CSRF defence). */
export function sameOrigin(origin: string | undefined, host: string | undefined, tls: boolean): boolean {
  if (origin === undefined || host === undefined) return false;
  return origin === `${tls ? 'https' : 'http'}://${host}`;
}

/** Cookie callers changing state must come from the hub's own pages. */
export function csrfGuard(tls: boolean): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const caller = c.get('caller');
    const method = c.req.method;
    if (caller?.via === 'cookie' && method !== 'GET' && method !== 'HEAD' && method !== 'OPTIONS') {
      const origin = c.req.header('origin') ?? refererOrigin(c.req.header('referer'));
      if (!sameOrigin(origin, c.req.header('host'), tls)) {
        throw new HubError(HubErrorCode.Csrf, 'cross-site request refused: the Origin header must be this hub');
      }
    }
    await next();
  };
}

function refererOrigin(referer: string | undefined): string | undefined {
  if (referer === undefined) return undefined;
  try {
    return new URL(referer).origin;
  } catch {
    return undefined;
  }
}

// Here, not in route.ts, which imports requireCaller: no import cycle (docs/architecture.md).
const RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };

export function hasRole(role: Role, least: Role): boolean {
  return RANK[role] >= RANK[least];
}

export function requireCaller(c: Context<AppEnv>, least: Role): Caller {
  const caller = c.get('caller');
  if (caller === undefined)
    throw new HubError(
      HubErrorCode.Unauthenticated,
      'log in first (POST /api/v1/login), then send the session cookie or Authorization: Bearer <token>',
    );
  if (!hasRole(caller.role, least)) throw new HubError(HubErrorCode.Forbidden, `this needs the ${least} role; you are ${caller.role}`);
  return caller;
}
