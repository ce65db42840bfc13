// Login, logout, who am I, and changing one's own password.

import { deleteCookie, setCookie } from 'hono/cookie';
import { z } from 'zod';
import { DUMMY_PASSWORD_HASH, randomToken, sha256, verifyPassword } from '../../auth/secrets.js';
import { SESSION_COOKIE, SESSION_TTL_MS } from '../../auth/sessions.js';
import type { HubContext } from '../../context.js';
import { HubError, HubErrorCode } from '../../errors.js';
import { publicOperator } from '../../operators/service.js';
import { httpRequester } from '../requester.js';
import type { Routes } from '../route.js';
import { password } from '../schemas.js';

export const operatorShape = z.object({
  username: z.string(),
  role: z.enum(['admin', 'operator', 'viewer']),
  disabled: z.boolean(),
  createdAt: z.number(),
});

export function sessionRoutes(routes: Routes, ctx: HubContext): void {
  routes.add({
    method: 'post',
    path: '/login',
    summary: 'Log in: returns a bearer token and sets the session cookie',
    tag: 'session',
    role: 'public',
    body: z.object({ username: z.string().min(1).max(64), password: z.string().min(1).max(256) }),
    response: z.object({ token: z.string(), expiresAt: z.number(), operator: operatorShape }),
    handler: async ({ c, body }) => {
      const ip = c.get('ip');
      const wait = ctx.loginLimiter.blocked(ip, body.username);
      if (wait > 0) {
        ctx.log.warn({ ip, username: body.username }, 'login throttled');
        c.header('Retry-After', String(wait));
        throw new HubError(HubErrorCode.RateLimited, `too many failed logins; try again in ${wait} s`, { retryAfter: wait });
      }
      const o = await ctx.store.getOperator(body.username);
      // Verify against a dummy hash for unknown users so timing does not reveal them.
      const ok = (await verifyPassword(body.password, o?.passwordHash ?? DUMMY_PASSWORD_HASH)) && o !== undefined && !o.disabled;
      if (!ok || o === undefined) {
        ctx.loginLimiter.failed(ip, body.username);
        ctx.log.warn({ ip, username: body.username }, 'login failed');
        // Admins see attempts on their accounts in the audit log, not only in the hub's logs.
        await ctx.audit(body.username, 'login.failed', null, { ip });
        throw new HubError(HubErrorCode.Unauthenticated, 'wrong username or password');
      }
      ctx.loginLimiter.succeeded(ip, body.username);
      const token = randomToken();
      const now = Date.now();
      const expiresAt = now + SESSION_TTL_MS;
      await ctx.store.op('createSession', { tokenHash: sha256(token), username: o.username, createdAt: now, expiresAt });
      setCookie(c, SESSION_COOKIE, token, {
        httpOnly: true,
        sameSite: 'Strict',
        secure: ctx.config.tlsCert !== undefined,
        path: '/',
        maxAge: Math.floor(SESSION_TTL_MS / 1000),
      });
      await ctx.audit(o.username, 'login', null, { ip });
      return c.json({ token, expiresAt, operator: publicOperator(o) });
    },
  });

  routes.add({
    method: 'post',
    path: '/logout',
    summary: 'End this session',
    tag: 'session',
    role: 'viewer',
    status: 204,
    handler: async ({ c, caller }) => {
      if (caller) {
        await ctx.store.op('deleteSession', { tokenHash: caller.tokenHash });
        ctx.bus.publish('session.ended', { username: caller.username, tokenHash: Buffer.from(caller.tokenHash).toString('hex') });
        await ctx.audit(caller.username, 'logout', null);
      }
      deleteCookie(c, SESSION_COOKIE, { path: '/' });
      return c.body(null, 204);
    },
  });

  routes.add({
    method: 'get',
    path: '/me',
    summary: 'The operator behind this session',
    tag: 'session',
    role: 'viewer',
    response: operatorShape,
    handler: async ({ c, caller }) => {
      const o = caller && (await ctx.store.getOperator(caller.username));
      if (o === undefined) throw new HubError(HubErrorCode.Unauthenticated, 'session ended');
      return c.json(publicOperator(o));
    },
  });

  routes.add({
    method: 'post',
    path: '/me/password',
    summary: "Change one's own password (any role): needs the current one; the operator's other sessions end",
    tag: 'session',
    role: 'viewer',
    status: 204,
    body: z.object({ current: z.string().min(1).max(256), new: password }).strict(),
    handler: async ({ c, body, caller }) => {
      if (caller === undefined) throw new HubError(HubErrorCode.Unauthenticated, 'session ended');
      await ctx.operators.changeOwnPassword(httpRequester(caller), {
        username: caller.username,
        tokenHash: caller.tokenHash,
        ip: c.get('ip'),
        current: body.current,
        next: body.new,
        limiter: ctx.loginLimiter,
      });
      return c.body(null, 204);
    },
  });
}
