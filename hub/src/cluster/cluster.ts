// Cluster mode as the hub sees it (docs/architecture.md § Cluster): this node's
// name, its link to the shared Redis, the cluster event bus, device ownership and
// the fleet's synchronisation, started by startHub when --cluster is set. Nothing
// outside hub.ts and this folder knows Redis is there (.dependency-cruiser.cjs,
// cluster-behind-interfaces): the rest of the hub sees the EventBus and
// DeviceOwnership interfaces.

import type { Registry } from 'prom-client';
import type { HubConfig } from '../config.js';
import type { OwnershipHost } from '../device/ownership.js';
import type { DeviceService } from '../devices/service.js';
import { HubError, HubErrorCode } from '../errors.js';
import type { Fleet } from '../fleet.js';
import type { Logger } from '../log.js';
import { ClusterBus } from './cluster-bus.js';
import { FleetSync, type FleetSyncStore } from './fleet-sync.js';
import { ClusterLink, type RedisState } from './link.js';
import { registerClusterMetrics } from './metrics.js';
import { LeaseOwnership } from './ownership.js';

/** What /healthz and the stats show of the cluster. */
export interface ClusterInfo {
  readonly nodeId: string;
  redis(): RedisState;
}

/** What the cluster needs of the hub once its services exist. */
export interface ClusterParts {
  fleet: Fleet;
  devices: DeviceService;
  store: FleetSyncStore;
  /** Redis is back after an outage (events may have been lost): send each device here what it may have missed. */
  resync(): void;
}

export interface Cluster extends ClusterInfo {
  readonly link: ClusterLink;
  readonly bus: ClusterBus;
  /**
   * Device ownership for the gateway; `host` is the gateway itself (its methods called
   * only once started); `afterClaim` reloads per-device memory another node may have
   * made stale (the series another node created), before WELCOME.
   */
  ownership(host: OwnershipHost, afterClaim?: (device: string) => Promise<void>): LeaseOwnership;
  /** Starts leases and fleet synchronisation. */
  start(parts: ClusterParts): Promise<void>;
  close(): Promise<void>;
}

/** Joins the cluster --cluster names, or throws a HubError naming the cause (the hub does not start half-clustered). */
export async function joinCluster(config: Readonly<HubConfig>, log: Logger, registry: Registry): Promise<Cluster> {
  if (config.cluster === undefined) throw new HubError(HubErrorCode.Internal, 'joinCluster without --cluster');
  let link: ClusterLink;
  try {
    link = await ClusterLink.connect({ url: config.cluster, nodeId: config.nodeId, log });
  } catch (err) {
    throw new HubError(HubErrorCode.Unavailable, err instanceof Error ? err.message : String(err));
  }
  const bus = new ClusterBus(link, log);
  try {
    await bus.start();
  } catch (err) {
    await link.close();
    throw new HubError(HubErrorCode.Unavailable, `--cluster: could not subscribe to the cluster's channel (${(err as Error).message})`);
  }
  let leases: LeaseOwnership | undefined;
  let sync: FleetSync | undefined;
  registerClusterMetrics(registry, link, bus.stats, () => leases?.stats);
  return {
    link,
    bus,
    nodeId: config.nodeId,
    redis: () => link.state,
    ownership(host, afterClaim) {
      leases ??= new LeaseOwnership(link, host, log, () => bus.flush(), afterClaim);
      return leases;
    },
    async start(parts) {
      await leases?.start();
      sync = new FleetSync(link, bus, parts.fleet, parts.devices, parts.store, log);
      await sync.start();
      link.on('up', () => parts.resync());
    },
    close: async () => {
      await leases?.stop();
      sync?.stop();
      bus.flush();
      await link.close();
    },
  };
}
