// Operator accounts' use cases: create, change (role, disabled, password), delete.
// A change that takes rights away ends the operator's sessions: `session.ended` on
// the bus empties every session cache before the next request is read.

import type { OperatorInfo, Role } from '@halyard/firmware-protocol';
import { type Audit, type Requester, viaDetail } from '../audit.js';
import type { LoginLimiter } from '../auth/login-limiter.js';
import { DUMMY_PASSWORD_HASH, hashPassword, verifyPassword } from '../auth/secrets.js';
import { sameName } from '../auth/usernames.js';
import type { EventBus } from '../bus.js';
import { HubError, HubErrorCode } from '../errors.js';
import type { OperatorRecord, Store } from '../store/store.js';

export interface OperatorChange {
  role?: Role | undefined;
  disabled?: boolean | undefined;
  password?: string | undefined;
}

/** An operator without the password hash. */
export function publicOperator(o: OperatorRecord): OperatorInfo {
  return { username: o.username, role: o.role, disabled: o.disabled, createdAt: o.createdAt };
}

/** An operator changing their own password, from the session `tokenHash`. */
export interface OwnPasswordChange {
  username: string;
  tokenHash: Uint8Array;
  ip: string;
  current: string;
  next: string;
  /** The login limiter: a guess at the current password counts as a failed login. */
  limiter: LoginLimiter;
}

export class OperatorService {
  constructor(
    private readonly store: Pick<Store, 'op' | 'listOperators' | 'getOperator' | 'getSession'>,
    private readonly bus: EventBus,
    private readonly audit: Audit,
  ) {}

  async list(): Promise<OperatorInfo[]> {
    return (await this.store.listOperators()).map(publicOperator);
  }

  async create(requester: Requester, o: { username: string; password: string; role: Role }): Promise<OperatorInfo> {
    // "ADMIN" beside "admin" would read alike in the audit log and the console.
    const alike = (await this.store.listOperators()).find((x) => x.username !== o.username && sameName(x.username, o.username));
    if (alike !== undefined)
      throw new HubError(HubErrorCode.OperatorExists, `operator "${alike.username}" exists: names that differ only in case are refused`, {
        field: 'username',
      });
    const created = await this.store.op('createOperator', {
      username: o.username,
      passwordHash: await hashPassword(o.password),
      role: o.role,
      createdAt: Date.now(),
    });
    await this.audit(requester.actor, 'operator.create', o.username, { role: o.role });
    return publicOperator(created);
  }

  async update(requester: Requester, username: string, change: OperatorChange): Promise<OperatorInfo> {
    const o = await this.store.op('updateOperator', {
      username,
      patch: {
        ...(change.role === undefined ? {} : { role: change.role }),
        ...(change.disabled === undefined ? {} : { disabled: change.disabled }),
        ...(change.password === undefined ? {} : { passwordHash: await hashPassword(change.password) }),
      },
    });
    if (change.role !== undefined || change.disabled || change.password !== undefined) this.bus.publish('session.ended', { username });
    await this.audit(requester.actor, 'operator.update', username, {
      role: change.role,
      disabled: change.disabled,
      password: change.password === undefined ? undefined : 'changed',
    });
    return publicOperator(o);
  }

  /**
   * Any role may change its own password, given the current one. A stolen session
   * must not be enough to lock the owner out, hence the current password, throttled
   * as logins are (a wrong one counts as a failed login). The operator's other
   * sessions end; the one that asked stays.
   */
  async changeOwnPassword(requester: Requester, c: OwnPasswordChange): Promise<void> {
    const wait = c.limiter.blocked(c.ip, c.username);
    if (wait > 0) {
      throw new HubError(HubErrorCode.RateLimited, `too many wrong passwords; try again in ${wait} s`, { retryAfter: wait });
    }
    const o = await this.store.getOperator(c.username);
    const ok = (await verifyPassword(c.current, o?.passwordHash ?? DUMMY_PASSWORD_HASH)) && o !== undefined && !o.disabled;
    if (!ok) {
      c.limiter.failed(c.ip, c.username);
      await this.audit(requester.actor, 'password.failed', c.username, viaDetail(requester, { ip: c.ip }));
      throw new HubError(HubErrorCode.Forbidden, 'the current password is wrong', { field: 'current' });
    }
    c.limiter.succeeded(c.ip, c.username);
    const session = await this.store.getSession(c.tokenHash);
    // updateOperator ends every session of a re-passworded operator (both engines);
    // this one is then written again, so the caller stays logged in. Should that
    // second write fail, the caller is logged out: the safe side.
    await this.store.op('updateOperator', { username: c.username, patch: { passwordHash: await hashPassword(c.next) } });
    if (session !== undefined) {
      await this.store.op('createSession', {
        tokenHash: c.tokenHash,
        username: c.username,
        createdAt: session.createdAt,
        expiresAt: session.expiresAt,
      });
    }
    this.bus.publish('session.ended', { username: c.username, keepTokenHash: Buffer.from(c.tokenHash).toString('hex') });
    await this.audit(requester.actor, 'operator.password', c.username, viaDetail(requester, {}));
  }

  async delete(requester: Requester, username: string): Promise<void> {
    await this.store.op('deleteOperator', { username });
    this.bus.publish('session.ended', { username });
    await this.audit(requester.actor, 'operator.delete', username);
  }
}
