// Operator authentication as HTTP middleware: the caller on each request's context,
// role checks, CSRF defence for cookie callers. Sessions, token extraction, roles
// and login throttling are in ../auth/.

import type { Role } from '@halyard/firmware-protocol';
import type { Context, MiddlewareHandler } from 'hono';
import { sameOrigin } from '../auth/origin.js';
import { requestToken } from '../auth/request-token.js';
import { hasRole } from '../auth/roles.js';
import type { Caller, SessionCache } from '../auth/sessions.js';
import { HubError, HubErrorCode } from '../errors.js';
import type { AppEnv } from './env.js';

/** Puts the caller (or undefined) on every request's context. */
export function authenticate(sessions: SessionCache): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const found = requestToken(c.req.header('authorization'), c.req.header('cookie'));
    c.set('caller', found ? await sessions.resolveFresh(found.token, found.via) : undefined);
    await next();
  };
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
