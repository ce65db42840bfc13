// Hub statistics for the console's Hub page and /api/v1/hub/stats: rates per
// second, ACK latency percentiles over recent frames, event-loop lag, storage size.

import { statSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { HubStats, NodeStats } from '@halyard/firmware-protocol';
import type { HubContext } from './context.js';
import type { StatsFeed } from './stats-feed.js';

/** The figures other parts own (MQTT clients, bridges, consoles). */
export interface StatsSources {
  mqttClients(): number;
  consoles(): number;
  bridges(): HubStats['bridges'];
  /**
   * Cluster mode: writes this node's report where the other nodes read it and returns
   * every node's (cluster/node-stats.ts); rejects while that is not possible.
   */
  exchange?: (own: NodeStats) => Promise<NodeStats[]>;
  /** Cluster mode: whether this node reaches Redis now. */
  redisUp?: () => boolean;
}

async function counterValue(c: { get(): Promise<{ values: { value: number }[] }> }): Promise<number> {
  return (await c.get()).values.reduce((a, v) => a + v.value, 0);
}

export class HubStatsTracker {
  private readonly lag = monitorEventLoopDelay({ resolution: 10 });
  private readonly timer: NodeJS.Timeout;
  private last = { at: Date.now(), inFrames: 0, outFrames: 0 };
  /** On PostgreSQL (no file to stat): the database's size as last asked, and when. */
  private remoteBytes = { bytes: 0, at: 0 };
  private current: HubStats;

  constructor(
    private readonly ctx: HubContext,
    private readonly feed: StatsFeed,
    private readonly sources: StatsSources,
  ) {
    this.lag.enable();
    this.current = this.build(0, 0);
    this.timer = setInterval(() => void this.tick(), 1_000);
    this.timer.unref();
  }

  private dbBytes(): number {
    if (this.ctx.config.store !== undefined) return this.remoteBytes.bytes;
    const path = `${this.ctx.config.dataDir}/halyard.db`;
    let size = 0;
    for (const f of [path, `${path}-wal`]) {
      try {
        size += statSync(f).size;
      } catch {
        // not there (yet)
      }
    }
    return size;
  }

  private build(inRate: number, outRate: number): HubStats {
    const [p50, p99] = this.ctx.metrics.ackWindow.percentiles([0.5, 0.99]);
    return {
      time: Date.now(),
      connectedDevices: this.ctx.devices.connections,
      consoles: this.sources.consoles(),
      mqttClients: this.sources.mqttClients(),
      framesInPerSec: Math.round(inRate),
      framesOutPerSec: Math.round(outRate),
      ackLatencyP50: p50 ?? 0,
      ackLatencyP99: p99 ?? 0,
      eventLoopLagMs: Math.round((this.lag.max / 1e6) * 10) / 10,
      dbBytes: this.dbBytes(),
      bridges: this.sources.bridges(),
      ...(this.ctx.cluster === undefined ? {} : { node: this.ctx.cluster.nodeId, nodes: this.current?.nodes ?? [] }),
    };
  }

  /** This node's line of the cluster's node list. */
  private own(s: HubStats, node: string): NodeStats {
    return {
      node,
      leader: this.ctx.leadership.isLeader,
      time: s.time,
      connectedDevices: s.connectedDevices,
      consoles: s.consoles,
      mqttClients: s.mqttClients,
      framesInPerSec: s.framesInPerSec,
      framesOutPerSec: s.framesOutPerSec,
      ackLatencyP99: s.ackLatencyP99,
      eventLoopLagMs: s.eventLoopLagMs,
      redis: this.sources.redisUp?.() ?? false,
      postgres: this.ctx.storageHealth().reachable !== false,
    };
  }

  private async tick(): Promise<void> {
    const m = this.ctx.metrics;
    const now = Date.now();
    const inFrames = await counterValue(m.framesIn);
    const outFrames = await counterValue(m.framesOut);
    // PostgreSQL is asked at most every 10 s: a size to show, not a figure anything decides on.
    if (this.ctx.config.store !== undefined && now - this.remoteBytes.at >= 10_000) {
      this.remoteBytes.at = now;
      this.remoteBytes.bytes = await this.ctx.store.sizeBytes().catch(() => this.remoteBytes.bytes);
    }
    const dt = (now - this.last.at) / 1000 || 1;
    this.current = this.build((inFrames - this.last.inFrames) / dt, (outFrames - this.last.outFrames) / dt);
    this.last = { at: now, inFrames, outFrames };
    this.lag.reset();
    const { exchange } = this.sources;
    if (exchange !== undefined && this.ctx.cluster !== undefined) {
      const own = this.own(this.current, this.ctx.cluster.nodeId);
      // Without Redis this node still shows itself.
      this.current.nodes = await exchange(own).then(
        (all) => (all.some((n) => n.node === own.node) ? all : [...all, own]),
        () => [own],
      );
    }
    this.feed.push(this.current);
  }

  snapshot(): HubStats {
    return this.current;
  }

  stop(): void {
    clearInterval(this.timer);
    this.lag.disable();
  }
}
