// Every node's figures for the console's Hub page and /api/v1/hub/stats (README.md,
// Running a cluster): each node writes its own report to Redis once a second under
// `stats:<node>` with a short TTL, and reads everyone's. A node that dies stops
// writing and drops off the list when its key lapses; Redis restarting empties the
// list for a second. Reports are hints to show, never the truth: they are checked
// before they are shown.

import type { NodeStats } from '@halyard/firmware-protocol';
import { z } from 'zod';
import type { ClusterLink } from './link.js';

/** How long a report stays without being written again, ms: a dead node is off the list within this. */
export const NODE_STATS_TTL_MS = 5_000;
/** Most nodes listed (and keys read): a cluster is a handful of nodes. */
const MAX_NODES = 64;

const count = z.number().finite().nonnegative();
const report = z.object({
  node: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/),
  leader: z.boolean(),
  time: count,
  connectedDevices: count,
  consoles: count,
  mqttClients: count,
  framesInPerSec: count,
  framesOutPerSec: count,
  ackLatencyP99: count,
  eventLoopLagMs: count,
  redis: z.boolean(),
  postgres: z.boolean(),
}) satisfies z.ZodType<NodeStats>;

export class NodeStatsBoard {
  constructor(private readonly link: ClusterLink) {}

  /** Writes this node's report and reads every node's, sorted by node id; [] while Redis is away. */
  async exchange(own: NodeStats): Promise<NodeStats[]> {
    if (!this.link.up) return [];
    const { cmd } = this.link;
    await cmd.set(this.link.key('stats', this.link.nodeId), JSON.stringify(own), 'PX', NODE_STATS_TTL_MS);
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await cmd.scan(cursor, 'MATCH', this.link.key('stats', '*'), 'COUNT', 100);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0' && keys.length < MAX_NODES);
    if (keys.length === 0) return [];
    const values = await cmd.mget(...keys.slice(0, MAX_NODES));
    const nodes: NodeStats[] = [];
    for (const v of values) {
      if (v === null) continue;
      try {
        const r = report.safeParse(JSON.parse(v));
        if (r.success) nodes.push(r.data);
      } catch {
        // not JSON: not shown
      }
    }
    return nodes.sort((a, b) => a.node.localeCompare(b.node));
  }
}
