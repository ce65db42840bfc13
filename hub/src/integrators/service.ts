// Integrator accounts' use cases (README.md § MQTT): create with an optional ACL,
// delete (its live MQTT connections end at once), each with its audit entry.

import type { Audit, Requester } from '../audit.js';
import { hashPassword } from '../auth/secrets.js';
import { HubError, HubErrorCode } from '../errors.js';
import { aclError } from '../mqtt/acl.js';
import type { IntegratorAcl, IntegratorRecord, Store } from '../store/store.js';

/** What the service needs from the running broker. */
export interface LiveIntegrators {
  /** Ends the account's connections; returns how many there were. */
  disconnect(username: string): number;
  /** Where integrators connect (bound ports: the configured one may be 0), for the console. */
  endpoint(): { port: number; tlsPort: number | undefined } | undefined;
}

export class IntegratorService {
  constructor(
    private readonly store: Pick<Store, 'op' | 'listIntegrators'>,
    private readonly live: LiveIntegrators,
    private readonly audit: Audit,
  ) {}

  list(): Promise<IntegratorRecord[]> {
    return this.store.listIntegrators();
  }

  /** `acl` undefined: the default ACL; a list left out grants nothing. */
  async create(
    requester: Requester,
    i: { username: string; password: string; acl?: { subscribe?: string[] | undefined; publish?: string[] | undefined } | undefined },
  ): Promise<IntegratorRecord> {
    let acl: IntegratorAcl | null = null;
    if (i.acl !== undefined) {
      acl = { subscribe: i.acl.subscribe ?? [], publish: i.acl.publish ?? [] };
      const bad = aclError(acl);
      if (bad !== undefined) throw new HubError(HubErrorCode.Validation, `${bad.field}: ${bad.message}`, { field: bad.field });
    }
    const created = await this.store.op('createIntegrator', {
      username: i.username,
      passwordHash: await hashPassword(i.password),
      acl,
      createdAt: Date.now(),
    });
    await this.audit(requester.actor, 'integrator.create', i.username, { acl: acl ?? 'default' });
    return created;
  }

  async delete(requester: Requester, username: string): Promise<void> {
    await this.store.op('deleteIntegrator', { username });
    const connections = this.live.disconnect(username);
    await this.audit(requester.actor, 'integrator.delete', username, { connections });
  }
}
