// Which Leadership a hub gets: the PostgreSQL election in a cluster, always-leader
// otherwise (a single hub, SQLite or PostgreSQL), and the singleton work that follows it.

import { Gauge, type Registry } from 'prom-client';
import type { Logger } from '../log.js';
import { alwaysLeader, type Leadership } from './leadership.js';
import { PgLeadership } from './pg-leadership.js';

export interface LeadershipSettings {
  /** The --store URL; a cluster requires PostgreSQL. */
  store: string | undefined;
  /** The --cluster URL (Redis); undefined: not a cluster. */
  cluster?: string | undefined;
  /** The --node-id. */
  nodeId?: string | undefined;
}

export async function startLeadership(s: LeadershipSettings, log: Logger): Promise<Leadership> {
  const listenerError = (err: unknown) => log.error({ err }, 'a leadership listener threw');
  if (s.cluster === undefined || s.store === undefined) return alwaysLeader(listenerError);
  const leadership = await PgLeadership.start({
    url: s.store,
    nodeId: s.nodeId ?? 'hub',
    // pg's messages never carry the password; the URL is not logged.
    log: (level, msg, err) => log[level](err === undefined || level === 'info' ? {} : { err: (err as Error).message }, msg),
  });
  leadership.onChange((leader) => log.info({ leader }, leader ? 'this node leads the cluster' : 'this node does not lead'));
  return leadership;
}

/** `halyard_cluster_leader`: 1 on the node that runs the singleton work, else 0 (with the `node` label, which node). */
export function leaderGauge(registry: Registry, leadership: Leadership): void {
  new Gauge({
    name: 'halyard_cluster_leader',
    help: 'Whether this hub runs the singleton work (retention, discovery, bridges): 1 leader, 0 not',
    registers: [registry],
    collect() {
      this.set(leadership.isLeader ? 1 : 0);
    },
  });
}
