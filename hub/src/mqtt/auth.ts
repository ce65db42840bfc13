// Authenticating MQTT clients against integrator accounts: scrypt-verified
// passwords, the same timing whether or not the account exists, and the hub's
// login throttle so a password cannot be guessed at line rate.

import { DUMMY_PASSWORD_HASH, verifyPassword } from '../auth/secrets.js';
import type { HubContext } from '../context.js';
import type { IntegratorAcl } from '../store/store.js';
import { Acl, defaultAcl } from './acl.js';

/** CONNACK return codes (MQTT 3.1.1 §3.2.2.3) the hub answers with. */
export const ConnackCode = { BadUsernameOrPassword: 4, NotAuthorized: 5 } as const;

export type AuthResult =
  | { ok: true; username: string; acl: Acl }
  | { ok: false; returnCode: (typeof ConnackCode)[keyof typeof ConnackCode]; reason: string };

/** Throttle keys are kept apart from operator logins of the same name. */
const throttleKey = (username: string) => `mqtt:${username}`;

export async function authenticate(
  ctx: HubContext,
  username: string | undefined,
  password: Buffer | undefined,
  ip: string,
): Promise<AuthResult> {
  if (username === undefined || username === '' || password === undefined) {
    return { ok: false, returnCode: ConnackCode.NotAuthorized, reason: 'anonymous clients are refused: log in as an integrator' };
  }
  const wait = ctx.loginLimiter.blocked(ip, throttleKey(username));
  if (wait > 0) return { ok: false, returnCode: ConnackCode.NotAuthorized, reason: `too many failed logins; retry in ${wait} s` };
  const account = await ctx.store.getIntegrator(username);
  const good = await verifyPassword(password.toString('utf8'), account?.passwordHash ?? DUMMY_PASSWORD_HASH);
  if (account === undefined || !good) {
    ctx.loginLimiter.failed(ip, throttleKey(username));
    return { ok: false, returnCode: ConnackCode.BadUsernameOrPassword, reason: 'bad username or password' };
  }
  ctx.loginLimiter.succeeded(ip, throttleKey(username));
  return { ok: true, username, acl: aclOf(ctx, account.acl) };
}

/** An account's ACL (its own, or the default for the hub's prefix); undefined when there is no such account. */
export async function accountAcl(ctx: HubContext, username: string): Promise<Acl | undefined> {
  const account = await ctx.store.getIntegrator(username);
  return account === undefined ? undefined : aclOf(ctx, account.acl);
}

function aclOf(ctx: HubContext, acl: IntegratorAcl | null): Acl {
  return new Acl(acl ?? defaultAcl(ctx.config.mqttPrefix, ctx.config.haDiscovery));
}
