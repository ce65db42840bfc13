// Who may do what on the embedded broker (README.md § MQTT). An account's
// ACL is a list of topic filters to read and a list to publish to; the default
// reads everything under the prefix and publishes commands and desired-set
// patches. An ACL can only narrow what the hub allows: publishing is further
// limited to request topics (topics.ts), so nobody but the hub ever publishes
// status, telemetry, events or twins whatever an account's ACL says.

import type { IntegratorAcl } from '../store/store.js';
import { filterError, filtersOverlap, levelsMatch } from './topic-filter.js';

/** Most filters per list in an account's ACL. */
export const MAX_ACL_FILTERS = 64;

/** The ACL of an account created without one. */
export function defaultAcl(prefix: string, haPrefix: string | undefined): IntegratorAcl {
  const acl: IntegratorAcl = {
    subscribe: [`${prefix}/#`],
    publish: [`${prefix}/devices/+/cmd/+`, `${prefix}/devices/+/twin/desired/set`],
  };
  // Home Assistant reads its discovery configs and announces its birth on its own prefix.
  if (haPrefix !== undefined) {
    acl.subscribe.push(`${haPrefix}/#`);
    acl.publish.push(`${haPrefix}/status`);
  }
  return acl;
}

/** Why `acl` is unusable, naming the offending field, or undefined. */
export function aclError(acl: IntegratorAcl): { field: string; message: string } | undefined {
  for (const list of ['subscribe', 'publish'] as const) {
    if (acl[list].length > MAX_ACL_FILTERS) return { field: `acl.${list}`, message: `at most ${MAX_ACL_FILTERS} filters` };
    for (const [i, f] of acl[list].entries()) {
      const err = filterError(f);
      if (err !== undefined) return { field: `acl.${list}.${i}`, message: err };
    }
  }
  return undefined;
}

export class Acl {
  /** The filters split into levels once: canRead runs for every message to every client. */
  private readonly read: readonly (readonly string[])[];
  private readonly write: readonly (readonly string[])[];

  constructor(private readonly acl: Readonly<IntegratorAcl>) {
    this.read = acl.subscribe.map((f) => f.split('/'));
    this.write = acl.publish.map((f) => f.split('/'));
  }

  /** May a message on `topic` be delivered (live or retained)? */
  canRead(topic: string): boolean {
    for (const f of this.read) if (levelsMatch(f, topic)) return true;
    return false;
  }

  /**
   * May the account subscribe to `filter`? Granted when the filter can match
   * something readable; delivery is then filtered message by message, so a `#`
   * subscriber sees exactly what it may read.
   */
  canSubscribe(filter: string): boolean {
    if (filter.startsWith('$')) return false;
    for (const f of this.acl.subscribe) if (filtersOverlap(f, filter)) return true;
    return false;
  }

  canPublish(topic: string): boolean {
    for (const f of this.write) if (levelsMatch(f, topic)) return true;
    return false;
  }
}
