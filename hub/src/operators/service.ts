// Operator accounts' use cases: create, change (role, disabled, password), delete.
// A change that takes rights away ends the operator's sessions: `session.ended` on
// the bus empties every session cache before the next request is read.

import type { OperatorInfo, Role } from '@halyard/firmware-protocol';
import type { Audit, Requester } from '../audit.js';
import { hashPassword } from '../auth/secrets.js';
import type { EventBus } from '../bus.js';
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

export class OperatorService {
  constructor(
    private readonly store: Pick<Store, 'op' | 'listOperators'>,
    private readonly bus: EventBus,
    private readonly audit: Audit,
  ) {}

  async list(): Promise<OperatorInfo[]> {
    return (await this.store.listOperators()).map(publicOperator);
  }

  async create(requester: Requester, o: { username: string; password: string; role: Role }): Promise<OperatorInfo> {
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

  async delete(requester: Requester, username: string): Promise<void> {
    await this.store.op('deleteOperator', { username });
    this.bus.publish('session.ended', { username });
    await this.audit(requester.actor, 'operator.delete', username);
  }
}
