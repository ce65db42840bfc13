// Series ids by device and metric name, so ingest looks up in memory what it has
// seen before, and the synchronous SeriesLookup (../store.ts) the series limit reads
// on the ingest path. Loaded whole at open, then kept by this hub's committed
// batches and device deletions. Entries of a device another hub deleted are
// harmless: the device's frames are dropped before any series is looked up. Series
// another hub sharing the database creates are not seen here until `reloadDevice`,
// which cluster mode calls each time this node claims the device (hub.ts), before
// WELCOME: only the node serving a device adds series to it.

import type { SeriesLookup } from '../store.js';
import type { Queryable } from './pool.js';

export interface CachedSeries {
  id: number;
  unit: string | null;
}

export class SeriesCache implements SeriesLookup {
  private readonly byDevice = new Map<number, Map<string, CachedSeries>>();

  /** Every series in the database (at open). */
  async load(db: Queryable): Promise<void> {
    const rows = await db.query<{ id: number; device: number; name: string; unit: string | null }>(
      'SELECT id, device, name, unit FROM series',
    );
    this.byDevice.clear();
    for (const r of rows.rows) this.set(r.device, r.name, { id: r.id, unit: r.unit });
  }

  /** One device's series again, from the database (another hub wrote them). */
  async reloadDevice(db: Queryable, device: number): Promise<void> {
    const rows = await db.query<{ id: number; name: string; unit: string | null }>('SELECT id, name, unit FROM series WHERE device = $1', [
      device,
    ]);
    this.byDevice.delete(device);
    for (const r of rows.rows) this.set(device, r.name, { id: r.id, unit: r.unit });
  }

  get(device: number, name: string): CachedSeries | undefined {
    return this.byDevice.get(device)?.get(name);
  }

  set(device: number, name: string, s: CachedSeries): void {
    let m = this.byDevice.get(device);
    if (m === undefined) {
      m = new Map();
      this.byDevice.set(device, m);
    }
    m.set(name, s);
  }

  forgetDevice(device: number): void {
    this.byDevice.delete(device);
  }

  seriesCount(device: number): number {
    return this.byDevice.get(device)?.size ?? 0;
  }

  hasSeries(device: number, name: string): boolean {
    return this.byDevice.get(device)?.has(name) ?? false;
  }
}
