// Integrator accounts' use cases (README.md § MQTT): create with an optional ACL,
// delete (its live MQTT connections end at once), see each account's clients and
// persistent sessions, drop a session; each change with its audit entry.

import type { Audit, Requester } from '../audit.js';
import { hashPassword } from '../auth/secrets.js';
import { sameName } from '../auth/usernames.js';
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
  /** The node that holds it (delivers to it and queues for it): --node-id. */
  node: string;
}

/** A connected MQTT client of an account, and the node it is connected to. */
export interface LiveClient {
  clientId: string;
  node: string;
}

/** Every listed account's clients and sessions, and the nodes whose clients are not known now (a cluster). */
export interface LiveView {
  accounts: Map<string, { clients: LiveClient[]; sessions: LiveSession[] }>;
  /** Live nodes that sent no list of their clients lately: their clients are missing from `accounts`. */
  missingNodes: string[];
}

/** What the service needs from the running broker. */
export interface LiveIntegrators {
  /** The accounts' connected clients and persistent sessions, on every node of a cluster. */
  live?(usernames: readonly string[]): Promise<LiveView>;
  /** Ends a persistent session wherever it is held (client id as the client sent it); false when the account has none by that id. */
  dropSession?(username: string, clientId: string): Promise<boolean>;
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
    const alike = (await this.store.listIntegrators()).find((x) => x.username !== i.username && sameName(x.username, i.username));
    if (alike !== undefined)
      throw new HubError(
        HubErrorCode.IntegratorExists,
        `integrator "${alike.username}" exists: names that differ only in case are refused`,
        {
          field: 'username',
        },
      );
    const created = await this.store.op('createIntegrator', {
      username: i.username,
      passwordHash: await hashPassword(i.password),
      acl,
      createdAt: Date.now(),
    });
    await this.audit(requester.actor, 'integrator.create', i.username, { acl: acl ?? 'default' });
    return created;
  }

  /** The accounts' connected clients and persistent sessions (none when MQTT is not running). */
  async liveOf(usernames: readonly string[]): Promise<LiveView> {
    return (await this.live.live?.(usernames)) ?? { accounts: new Map(), missingNodes: [] };
  }

  async dropSession(requester: Requester, username: string, clientId: string): Promise<void> {
    const session = (await this.liveOf([username])).accounts.get(username)?.sessions.find((s) => s.clientId === clientId);
    if (session === undefined || (await this.live.dropSession?.(username, clientId)) !== true) {
      throw new HubError(HubErrorCode.NotFound, `integrator "${username}" has no MQTT session with client id "${clientId}"`);
    }
    await this.audit(requester.actor, 'integrator.session.drop', username, {
      clientId,
      connected: session.connected,
      queued: session.queued,
      node: session.node,
    });
  }

  async delete(requester: Requester, username: string): Promise<void> {
    await this.store.op('deleteIntegrator', { username });
    const connections = this.live.disconnect(username);
    await this.audit(requester.actor, 'integrator.delete', username, { connections });
  }
}
