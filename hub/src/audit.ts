// The audit log as the services write it. One rule for every request path (HTTP,
// console, MQTT): a use case resolves only after its audit entry is written, so a
// caller that has its answer finds the entry in GET /api/v1/audit. A failed write is
// logged, never thrown: the change it records has already happened.

import type { Logger } from './log.js';
import type { Store } from './store/store.js';

/** Writes an audit entry; resolves once written. Failures are logged, never thrown at the caller. */
export type Audit = (actor: string, action: string, target: string | null, detail?: unknown) => Promise<void>;

/** Who asked for a change, and through which door. */
export interface Requester {
  /** Operator username, or the integrator's MQTT account name. */
  actor: string;
  via: 'http' | 'console' | 'mqtt';
}

/** The audit entry's detail for a change made by `requester`: HTTP entries carry no `via` (as they always have). */
export function viaDetail(requester: Requester, detail: Record<string, unknown>): Record<string, unknown> {
  return requester.via === 'http' ? detail : { ...detail, via: requester.via };
}

export function createAudit(store: Pick<Store, 'op'>, log: Logger): Audit {
  return (actor, action, target, detail) =>
    store
      .op('audit', { at: Date.now(), actor, action, target, detail })
      .catch((err: unknown) => log.error({ err, action }, 'could not write the audit log'));
}
