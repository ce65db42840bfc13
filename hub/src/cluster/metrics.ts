// Prometheus metrics of cluster mode, on the hub's registry: whether Redis answers,
// bus events between nodes, takeovers by outcome. Read from the counts the bus and
// the leases keep, when scraped.

import { Counter, Gauge, type Registry } from 'prom-client';
import type { ClusterBusStats } from './cluster-bus.js';
import type { ClusterLink } from './link.js';
import type { OwnershipStats } from './ownership.js';

/** A counter that follows a running total kept elsewhere (it only ever grows). */
function follow(counter: Counter<string>, labels: Record<string, string>, total: number, last: Map<string, number>): void {
  const key = JSON.stringify(labels);
  const delta = total - (last.get(key) ?? 0);
  if (delta > 0) counter.inc(labels, delta);
  last.set(key, total);
}

export function registerClusterMetrics(
  registry: Registry,
  link: ClusterLink,
  bus: ClusterBusStats,
  leases: () => OwnershipStats | undefined,
): void {
  const registers = [registry];
  new Gauge({
    name: 'halyard_cluster_redis_up',
    help: 'Whether this node reaches the cluster Redis (1) or not (0)',
    registers,
    collect() {
      this.set(link.up ? 1 : 0);
    },
  });
  const busLast = new Map<string, number>();
  new Counter({
    name: 'halyard_cluster_bus_events_total',
    help: 'Bus events between nodes: published to Redis, received from other nodes, dropped (Redis away, failed checks, a node not keeping up)',
    labelNames: ['direction'],
    registers,
    collect() {
      for (const direction of ['published', 'received', 'dropped'] as const) follow(this, { direction }, bus[direction], busLast);
    },
  });
  const takeLast = new Map<string, number>();
  new Counter({
    name: 'halyard_cluster_takeovers_total',
    help: 'Devices taken over from another node: it answered, it was gone, or it stayed silent past the wait (SPEC.md §8.6)',
    labelNames: ['outcome'],
    registers,
    collect() {
      const s = leases();
      if (s === undefined) return;
      for (const outcome of ['answered', 'gone', 'unanswered'] as const) follow(this, { outcome }, s[outcome], takeLast);
    },
  });
}
