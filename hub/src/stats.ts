// Hub statistics for the console's Hub page and /api/v1/hub/stats: rates per
// second, ACK latency percentiles over recent frames, event-loop lag, storage size.

import { statSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { HubStats } from '@halyard/firmware-protocol';
import type { HubContext } from './context.js';

async function counterValue(c: { get(): Promise<{ values: { value: number }[] }> }): Promise<number> {
  return (await c.get()).values.reduce((a, v) => a + v.value, 0);
}

export class HubStatsTracker {
  /** Extra fields other parts fill in (MQTT clients, bridges). */
  mqttClients: () => number = () => 0;
  consoles: () => number = () => 0;
  bridges: () => HubStats['bridges'] = () => [];
  private readonly lag = monitorEventLoopDelay({ resolution: 10 });
  private readonly timer: NodeJS.Timeout;
  private last = { at: Date.now(), inFrames: 0, outFrames: 0 };
  private current: HubStats;
  /** Snapshots of the last five minutes, one a second. */
  readonly history: HubStats[] = [];

  constructor(private readonly ctx: HubContext) {
    this.lag.enable();
    this.current = this.build(0, 0);
    this.timer = setInterval(() => void this.tick(), 1_000);
    this.timer.unref();
  }

  private dbBytes(): number {
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
      consoles: this.consoles(),
      mqttClients: this.mqttClients(),
      framesInPerSec: Math.round(inRate),
      framesOutPerSec: Math.round(outRate),
      ackLatencyP50: p50 ?? 0,
      ackLatencyP99: p99 ?? 0,
      eventLoopLagMs: Math.round((this.lag.max / 1e6) * 10) / 10,
      dbBytes: this.dbBytes(),
      bridges: this.bridges(),
    };
  }

  private async tick(): Promise<void> {
    const m = this.ctx.metrics;
    const now = Date.now();
    const inFrames = await counterValue(m.framesIn);
    const outFrames = await counterValue(m.framesOut);
    const dt = (now - this.last.at) / 1000 || 1;
    this.current = this.build((inFrames - this.last.inFrames) / dt, (outFrames - this.last.outFrames) / dt);
    this.last = { at: now, inFrames, outFrames };
    this.lag.reset();
    this.history.push(this.current);
    if (this.history.length > 300) this.history.shift();
    for (const l of this.listeners) l(this.current);
  }

  private readonly listeners = new Set<(s: HubStats) => void>();
  onTick(l: (s: HubStats) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  snapshot(): HubStats {
    return this.current;
  }

  stop(): void {
    clearInterval(this.timer);
    this.lag.disable();
  }
}
