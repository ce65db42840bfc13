// Integrator accounts' use cases (README.md § MQTT): create with an optional ACL,
// delete (its live MQTT connections end at once), see each account's clients and
// persistent sessions, drop a session; each change with its audit entry.

import type { Audit, Requester } from '../audit.js';
import { hashPassword } from '../auth/secrets.js';
import { HubError, HubErrorCode } from '../errors.js';
import { aclError } from '../mqtt/acl.js';
import type { IntegratorAcl, IntegratorRecord, Store } from '../store/store.js';

/** A persistent MQTT session of an account, as the API shows it. */
export interface LiveSession {
  /** The client id as the client sent it (without the account it is scoped to). */
  clientId: string;
  connected: boolean;
  /** QoS 1 messages held for the client: queued while away, or sent and not yet acknowledged. */
  queued: number;
  queuedBytes: number;
  /** Messages dropped from its full queue since the session began. */
  dropped: number;
  /** When the session ends unless its client returns (ms since the epoch); absent while connected. */
  expiresAt?: number;
}

/** What the service needs from the running broker. */
export interface LiveIntegrators {
  /** The account's connected clients and persistent sessions. */
  live?(username: string): { clients: number; sessions: LiveSession[] };
  /** Ends a persistent session (client id as the client sent it); false when the account has none by that id. */
  dropSession?(username: string, clientId: string): boolean;
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

  /** The account's connected clients and persistent sessions (none when MQTT is not running). */
  liveOf(username: string): { clients: number; sessions: LiveSession[] } {
    return this.live.live?.(username) ?? { clients: 0, sessions: [] };
  }

  async dropSession(requester: Requester, username: string, clientId: string): Promise<void> {
    const session = this.liveOf(username).sessions.find((s) => s.clientId === clientId);
    if (session === undefined || this.live.dropSession?.(username, clientId) !== true) {
      throw new HubError(HubErrorCode.NotFound, `integrator "${username}" has no MQTT session with client id "${clientId}"`);
    }
    await this.audit(requester.actor, 'integrator.session.drop', username, {
      clientId,
      connected: session.connected,
      queued: session.queued,
    });
  }

  async delete(requester: Requester, username: string): Promise<void> {
    await this.store.op('deleteIntegrator', { username });
    const connections = this.live.disconnect(username);
    await this.audit(requester.actor, 'integrator.delete', username, { connections });
  }
}
