// Reads byte ranges of stored firmware images for CHUNK answers (SPEC.md §12.3). The
// store keeps images in 64 KiB rows (firmware/library.ts); a device asks for up to
// 16 KiB at a time, and a fleet updating at once asks for the same rows over and
// over. A small cache shared by every session holds the rows read last, and one read
// per row is in flight at a time: memory stays at the cache's bound however many
// devices download, and never holds an image per device. (Rows of a deleted image
// age out of the cache: image row ids are never reused.)

import { HubError, HubErrorCode } from '../errors.js';
import type { FirmwareRecord } from '../store/firmware.js';
import type { Store } from '../store/store.js';

/** Rows kept: 64 x 64 KiB = 4 MiB, enough for devices spread over a few MiB of the same image. */
export const CACHE_ROWS = 64;

export class ImageReader {
  private readonly cache = new Map<string, Uint8Array>();
  private readonly inFlight = new Map<string, Promise<Uint8Array>>();
  /** Reads that went to the store (the rest came from the cache), for tests and metrics. */
  storeReads = 0;

  constructor(
    private readonly store: Pick<Store, 'firmwareChunk'>,
    private readonly capacity = CACHE_ROWS,
  ) {}

  /** `length` bytes of `image` from `offset`; the range must lie inside the image. */
  async read(image: FirmwareRecord, offset: number, length: number): Promise<Uint8Array> {
    const out = new Uint8Array(length);
    const size = image.chunkSize;
    let at = offset;
    while (at < offset + length) {
      const n = Math.floor(at / size);
      const row = await this.row(image, n);
      const from = at - n * size;
      const take = Math.min(row.length - from, offset + length - at);
      if (take <= 0) throw new HubError(HubErrorCode.Internal, `firmware ${image.id} is shorter in the store than its size`);
      out.set(row.subarray(from, from + take), at - offset);
      at += take;
    }
    return out;
  }

  private row(image: FirmwareRecord, n: number): Promise<Uint8Array> {
    const key = `${image.rowid}:${n}`;
    const hit = this.cache.get(key);
    if (hit !== undefined) {
      // Most recently used last: Map keeps insertion order.
      this.cache.delete(key);
      this.cache.set(key, hit);
      return Promise.resolve(hit);
    }
    let p = this.inFlight.get(key);
    if (p === undefined) {
      this.storeReads++;
      p = this.store.firmwareChunk(image.rowid, n).then(
        (data) => {
          this.inFlight.delete(key);
          if (data === undefined) throw new HubError(HubErrorCode.FirmwareUnknown, `firmware ${image.id} is gone from the store`);
          this.cache.set(key, data);
          if (this.cache.size > this.capacity) this.cache.delete(this.cache.keys().next().value as string);
          return data;
        },
        (err: unknown) => {
          this.inFlight.delete(key);
          throw err;
        },
      );
      this.inFlight.set(key, p);
    }
    return p;
  }
}
