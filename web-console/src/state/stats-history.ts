// The hub's statistics over the last five minutes, kept for the console's whole session
// rather than by the Hub screen: leaving the screen, a reconnect or a hub restart (whose
// replay starts from nothing) no longer empties the charts. Entries are one per second,
// in time order, whatever order replays deliver them in.

import type { HubStats } from '@halyard/firmware-protocol';

export const STATS_WINDOW_MS = 5 * 60_000;

/** Start times closer than this are the same start (uptime is rounded to the second, and the answer takes a moment). */
const SAME_START_MS = 2_000;

export class StatsHistory {
  readonly entries: HubStats[] = [];
  /** When the hub last started, as its uptime said. */
  startedAt: number | undefined;
  /** When it started again while this console was open, if it did. */
  restartedAt: number | undefined;
  private readonly listeners = new Set<() => void>();

  constructor(private readonly now: () => number = Date.now) {}

  add(s: HubStats): void {
    const h = this.entries;
    const last = h[h.length - 1];
    if (last !== undefined && s.time <= last.time) {
      // A replay after a reconnect overlaps what we have: one entry per second.
      if (h.some((e) => e.time === s.time)) return;
      h.push(s);
      h.sort((a, b) => a.time - b.time);
    } else h.push(s);
    const oldest = this.now() - STATS_WINDOW_MS;
    while (h.length > 0 && (h[0] as HubStats).time < oldest) h.shift();
    for (const l of this.listeners) l();
  }

  /** The hub's start time from its uptime; a different one than before is a restart. */
  noteStart(start: number): void {
    if (this.startedAt !== undefined && Math.abs(start - this.startedAt) > SAME_START_MS) this.restartedAt = start;
    this.startedAt = start;
    for (const l of this.listeners) l();
  }

  subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };
}
