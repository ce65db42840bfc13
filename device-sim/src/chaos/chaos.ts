// Fault injection options (--chaos-*). Each fault works on its own; rates are per
// device (a Poisson process), so a bigger fleet sees proportionally more of them.

export interface ChaosOptions {
  /** Abrupt disconnects (TCP dropped, no close frame), per device per second. 0 = off. */
  disconnectRate: number;
  /** Going silent (no pongs, no frames, downlink ignored until the hub gives up), per device per second. 0 = off. */
  silentRate: number;
  /** Slow consumer: each downlink message takes this long to process, ms; the socket is paused meanwhile. 0 = off. */
  slowMs: number;
  /** Clock skew: a device's clock is off by this much, either way, ms; it stamps telemetry with it. 0 = off. */
  skewMs: number;
  /** Malformed frames, per device per second (the hub should answer ERROR + 4400). 0 = off. */
  malformedRate: number;
  /** Reconnect storm: every this many ms, every device drops and reconnects at once, no backoff. 0 = off. */
  stormEveryMs: number;
  /** Share of the fleet the per-device faults apply to, (0, 1]; storms hit every device. */
  fraction: number;
}

export const NO_CHAOS: Readonly<ChaosOptions> = Object.freeze({
  disconnectRate: 0,
  silentRate: 0,
  slowMs: 0,
  skewMs: 0,
  malformedRate: 0,
  stormEveryMs: 0,
  fraction: 1,
});

export function chaosEnabled(c: ChaosOptions): boolean {
  return c.disconnectRate > 0 || c.silentRate > 0 || c.slowMs > 0 || c.skewMs > 0 || c.malformedRate > 0 || c.stormEveryMs > 0;
}

/**
 * Whether device `index` is one of the misbehaving share. Picks are spread evenly over
 * the fleet (not the first N), so with `mixed` every profile gets its share.
 */
export function isChaotic(index: number, fraction: number): boolean {
  if (fraction >= 1) return true;
  return Math.floor((index + 1) * fraction) > Math.floor(index * fraction);
}

/** The per-device faults that fire as events over time. */
export type ChaosEvent = 'disconnect' | 'silent' | 'malformed';

/** Per-device faults per second, all kinds together. */
export function faultRate(c: ChaosOptions): number {
  return c.disconnectRate + c.silentRate + c.malformedRate;
}

/** Which fault fires, in proportion to the rates (the sum of Poisson processes). */
export function pickFault(c: ChaosOptions, random: () => number): ChaosEvent {
  const pick = random() * faultRate(c);
  if (pick < c.disconnectRate) return 'disconnect';
  if (pick < c.disconnectRate + c.silentRate) return 'silent';
  return 'malformed';
}
