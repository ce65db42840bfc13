// A device's measuring loop: wakes for its next telemetry message (at the configured
// or profile's rate, with a random phase so a fleet does not report in lockstep) and
// for the profile's next spontaneous event, and hands each to the device's outbox.
// Readings keep coming while the device is offline: that is what the buffer is for.

import { MessageType, type UplinkMessage } from '@halyard/firmware-protocol';
import type { Profile } from '../profiles/profile.js';
import type { FleetContext } from './context.js';
import { buildPack } from './telemetry.js';

export interface ReadingsHost {
  readonly profile: Profile;
  /** Clock error, ms: non-zero makes readings carry absolute times from the device's clock. */
  readonly skewMs: number;
  /** The device's clock, ms. */
  clock(): number;
  /** False while the device is down (rebooting) or the fleet is draining. */
  measuring(): boolean;
  /** Queues a sequenced message. */
  enqueue(make: (seq: number) => UplinkMessage): void;
}

export class ReadingLoop {
  private timer: NodeJS.Timeout | undefined;
  private nextTelemetryAt = 0;
  private lastTelemetryAt = 0;
  /** Records one sample of the profile yields, learned on first use. */
  private perSample = 0;

  constructor(
    private readonly host: ReadingsHost,
    private readonly ctx: FleetContext,
  ) {}

  start(): void {
    this.lastTelemetryAt = this.host.clock();
    this.nextTelemetryAt = this.lastTelemetryAt + this.ctx.random() * this.intervalMs();
    this.wake();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private intervalMs(): number {
    return 1_000 / (this.ctx.rate ?? this.host.profile.rate);
  }

  private wake = (): void => {
    const { host, ctx } = this;
    const now = host.clock();
    if (host.measuring()) {
      if (now >= this.nextTelemetryAt) this.telemetry(now);
      for (const e of host.profile.takeEvents(now)) {
        ctx.stats.counters.events++;
        // SenML time (§5.3): absolute from a skewed clock, else relative to receipt.
        const t = host.skewMs !== 0 ? e.at / 1_000 : e.at === now ? undefined : (e.at - now) / 1_000;
        host.enqueue((seq) => ({ type: MessageType.Event, seq, name: e.name, level: e.level, data: e.data, t }));
      }
    } else if (now >= this.nextTelemetryAt) {
      // Down: no reading now; the next one is due an interval later.
      this.nextTelemetryAt = now + this.intervalMs();
      this.lastTelemetryAt = now;
    }
    const next = Math.min(this.nextTelemetryAt, host.profile.nextEventAt());
    this.timer = setTimeout(this.wake, Math.max(1, Math.min(next - now, 2_147_483_647)));
  };

  private telemetry(now: number): void {
    const { host, ctx } = this;
    const interval = this.intervalMs();
    if (this.perSample === 0) this.perSample = Math.max(1, host.profile.sample(now - interval).length);
    const pack = buildPack(host.profile, {
      now,
      intervalMs: Math.min(interval, now - this.lastTelemetryAt),
      batch: ctx.batch,
      perSample: this.perSample,
      absolute: host.skewMs !== 0,
    });
    this.lastTelemetryAt = now;
    // Keep the average rate; after a stall, skip ahead rather than burst.
    this.nextTelemetryAt += interval;
    if (this.nextTelemetryAt <= now) this.nextTelemetryAt = now + interval;
    ctx.stats.counters.telemetry++;
    ctx.stats.counters.records += pack.length;
    host.enqueue((seq) => ({ type: MessageType.Telemetry, seq, pack }));
  }
}
