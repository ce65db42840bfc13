// The one place a request's operator token is read from its headers, for the
// HTTP API and the console upgrade alike.

import { bearer } from './secrets.js';
import { type Caller, SESSION_COOKIE } from './sessions.js';

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
