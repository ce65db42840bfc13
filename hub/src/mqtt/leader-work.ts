// The MQTT work one node of a cluster does at a time (README.md, Running a cluster):
// outbound bridges (otherwise an external broker gets N copies of every message) and
// Home Assistant discovery. Both start when this hub becomes leader and stop when it
// stops being one; a single hub is always leader, so for it they simply run.

import type { HubStats } from '@halyard/firmware-protocol';
import type { Leadership } from '../cluster/leadership.js';
import type { HubContext } from '../context.js';
import { Bridge, type BridgeDeps } from './bridge.js';
import type { BridgeConfig } from './bridge-url.js';
import { Discovery } from './discovery.js';
import type { DeviceObserver } from './mirror.js';
import type { OutMessage } from './out-message.js';
import type { Publisher, Sink } from './publisher.js';
import type { Topics } from './topics.js';

export class LeaderWork implements Sink, DeviceObserver {
  private bridgeList: Bridge[] = [];
  private discovery: Discovery | undefined;
  private off: (() => void) | undefined;
  /** Discovery announces after the fleet's retained state went out (start-up order). */
  private ready: Promise<unknown> = Promise.resolve();
  /** Bridges closing after a lost leadership, awaited by close. */
  private closing: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly ctx: HubContext,
    private readonly topics: Topics,
    private readonly publisher: Publisher,
    /** Parsed at start, so bad --bridge URLs stop the start before anything listens. */
    private readonly bridgeConfigs: readonly BridgeConfig[],
    private readonly bridgeDeps: Omit<BridgeDeps, 'ctx' | 'topics' | 'publisher'>,
  ) {}

  /** Follows the leadership from now on (a leader starts its work at once; discovery once `ready` settles). */
  follow(leadership: Leadership, ready: Promise<unknown>): void {
    this.ready = ready.catch(() => {});
    this.off = leadership.onChange((leader) => (leader ? this.lead() : this.stepDown()));
  }

  get bridges(): readonly Bridge[] {
    return this.bridgeList;
  }

  bridgeStats(): HubStats['bridges'] {
    return this.bridgeList.map((b) => b.stats());
  }

  // Sink: what the hub publishes goes to the bridges of the leader only.
  enqueue(m: OutMessage): void {
    for (const b of this.bridgeList) b.enqueue(m);
  }

  // DeviceObserver: discovery hears about devices only while it runs.
  telemetry(device: string, records: Parameters<Discovery['telemetry']>[1]): void {
    this.discovery?.telemetry(device, records);
  }

  changed(device: string): void {
    this.discovery?.changed(device);
  }

  removed(device: string): void {
    this.discovery?.removed(device);
  }

  /** Home Assistant announced itself: every config again (leader only). */
  haBirth(): void {
    this.discovery?.republish();
  }

  private lead(): void {
    const { ctx, topics, publisher } = this;
    this.bridgeList = this.bridgeConfigs.map((c) => new Bridge(c, { ctx, topics, publisher, ...this.bridgeDeps }));
    for (const b of this.bridgeList) b.start();
    const prefix = ctx.config.haDiscovery;
    if (prefix !== undefined) {
      const discovery = new Discovery(ctx, topics, publisher, prefix);
      this.discovery = discovery;
      this.ready
        .then(() => (this.discovery === discovery ? discovery.announceExisting() : undefined))
        .catch((err: unknown) => ctx.log.error({ err }, 'could not announce Home Assistant discovery'));
    }
  }

  private stepDown(): void {
    this.discovery?.stop();
    this.discovery = undefined;
    const bridges = this.bridgeList;
    this.bridgeList = [];
    this.closing = Promise.all([this.closing, ...bridges.map((b) => b.close())]);
  }

  /** Stops following, ends the work (bridges deliver what they hold, within their close limit). */
  async close(): Promise<void> {
    this.off?.();
    this.stepDown();
    await this.closing;
  }
}
