// The hub statistics as they come, one snapshot a second: the last five minutes
// and whoever wants each new one. Its own object so that what shows the figures
// (the console gateway) and what counts into them (the tracker, which counts
// consoles too) are each built with the other's side already there.

import type { HubStats } from '@halyard/firmware-protocol';

/** Snapshots kept: five minutes, one a second. */
const HISTORY = 300;

export class StatsFeed {
  private readonly listeners = new Set<(s: HubStats) => void>();
  private readonly kept: HubStats[] = [];

  get history(): readonly HubStats[] {
    return this.kept;
  }

  push(stats: HubStats): void {
    this.kept.push(stats);
    if (this.kept.length > HISTORY) this.kept.shift();
    for (const l of this.listeners) l(stats);
  }

  onTick(l: (s: HubStats) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
}
