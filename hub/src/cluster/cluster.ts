// Cluster mode as the hub sees it (docs/architecture.md § Cluster): this node's
// name and its link to the shared Redis, started by startHub when --cluster is set.
// Everything else the hub does in a cluster goes through narrow interfaces built on
// this (the event bus, device ownership), so that nothing outside hub.ts and this
// folder knows Redis is there (.dependency-cruiser.cjs, cluster-behind-interfaces).

import type { HubConfig } from '../config.js';
import { HubError, HubErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import { ClusterLink, type RedisState } from './link.js';

/** What /healthz and the stats show of the cluster. */
export interface ClusterInfo {
  readonly nodeId: string;
  redis(): RedisState;
}

export interface Cluster extends ClusterInfo {
  readonly link: ClusterLink;
  close(): Promise<void>;
}

/** Joins the cluster --cluster names, or throws a HubError naming the cause (the hub does not start half-clustered). */
export async function joinCluster(config: Readonly<HubConfig>, log: Logger): Promise<Cluster> {
  if (config.cluster === undefined) throw new HubError(HubErrorCode.Internal, 'joinCluster without --cluster');
  let link: ClusterLink;
  try {
    link = await ClusterLink.connect({ url: config.cluster, nodeId: config.nodeId, log });
  } catch (err) {
    throw new HubError(HubErrorCode.Unavailable, err instanceof Error ? err.message : String(err));
  }
  return {
    link,
    nodeId: config.nodeId,
    redis: () => link.state,
    close: async () => link.close(),
  };
}
