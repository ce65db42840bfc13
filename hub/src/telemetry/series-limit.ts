// The limit on distinct series (metric names) per device (SPEC.md §9). One device
// once made 800,000 names in seconds; every name is a series row, a tail entry and
// a line of each latest-values answer, so the hub refuses the frame that would pass
// the limit instead of letting one device grow every query.
//
// Per device it keeps the count of series and the names seen in use. It learns a
// device's count from the store the first time the device sends telemetry (series
// rows plus names only the in-memory tail has yet), so existing data counts after
// a restart; names are checked against the store one at a time, as they are used,
// so a device already holding many series is not loaded whole.

import type { ResolvedRecord } from '@halyard/firmware-protocol';
import { recordPoints } from './points.js';

/** Where the limit reads what the store already holds. */
export interface SeriesSource {
  /** Series the device has in the store and the tail. */
  count(device: number): number;
  /** Whether the device already has a series of this name (store or tail). */
  has(device: number, name: string): boolean;
}

interface DeviceSeries {
  count: number;
  known: Set<string>;
}

export interface SeriesRefusal {
  /** The first name that would have been one too many. */
  name: string;
  /** Series the device has. */
  count: number;
}

export class SeriesLimit {
  private readonly devices = new Map<number, DeviceSeries>();

  constructor(
    readonly max: number,
    private readonly source: SeriesSource,
  ) {}

  /**
   * Admits a frame's records, counting the series they create; or refuses them all
   * when they would take the device past the limit (nothing is counted then).
   */
  admit(device: number, records: readonly ResolvedRecord[]): SeriesRefusal | undefined {
    let d = this.devices.get(device);
    if (d === undefined) {
      d = { count: this.source.count(device), known: new Set() };
      this.devices.set(device, d);
    }
    const known = d.known;
    let fresh: Set<string> | undefined;
    let refusal: SeriesRefusal | undefined;
    // One callback for every record: this runs for every TELEMETRY frame.
    const count = (name: string) => {
      if (refusal !== undefined || known.has(name) || fresh?.has(name)) return;
      if (this.source.has(device, name)) {
        known.add(name);
        return;
      }
      fresh ??= new Set();
      if (d.count + fresh.size >= this.max) refusal = { name, count: d.count };
      else fresh.add(name);
    };
    for (const rec of records) {
      recordPoints(rec, count);
      if (refusal !== undefined) return refusal;
    }
    if (fresh !== undefined) {
      for (const name of fresh) known.add(name);
      d.count += fresh.size;
    }
    return undefined;
  }

  /** A deleted device (its series are gone), or one whose series another node changed: counted from the source again. */
  forget(device: number): void {
    this.devices.delete(device);
  }
}
