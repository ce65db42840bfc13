// Series ids by device and metric name, so ingest looks up in memory what it has
// seen before. Filled only from committed batches; a device's entries go when the
// device is deleted here. Entries of a device another hub deleted are harmless: the
// device's frames are dropped before any series is looked up.

export interface CachedSeries {
  id: number;
  unit: string | null;
}

export class SeriesCache {
  private readonly byDevice = new Map<number, Map<string, CachedSeries>>();

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
}
