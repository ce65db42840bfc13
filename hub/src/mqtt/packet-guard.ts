// aedes buffers a packet until it is complete, however large its header says it
// is (up to 256 MiB), before anyone can look at it, and without authentication
// for CONNECT. This reads the fixed header of every packet as the bytes stream in
// (MQTT 3.1.1 §2.2: one type byte, then the remaining length in 1-4 bytes of 7
// bits each) and says stop as soon as a packet would exceed the limit.

import type { Duplex } from 'node:stream';

export class PacketSizeGuard {
  /** Body bytes of the current packet still to skip. */
  private skip = 0;
  /** -1: expecting a type byte; 0-4: remaining-length bytes read so far. */
  private lengthBytes = -1;
  private length = 0;
  private multiplier = 1;

  constructor(private readonly maxBytes: number) {}

  /** Feeds received bytes; false once a packet is over the limit or its length is malformed. */
  feed(chunk: Uint8Array): boolean {
    let i = 0;
    while (i < chunk.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - i);
        this.skip -= n;
        i += n;
        continue;
      }
      const byte = chunk[i++] as number;
      if (this.lengthBytes < 0) {
        this.lengthBytes = 0;
        this.length = 0;
        this.multiplier = 1;
        continue;
      }
      this.length += (byte & 0x7f) * this.multiplier;
      this.multiplier *= 128;
      this.lengthBytes++;
      if (byte & 0x80) {
        if (this.lengthBytes === 4) return false; // [MQTT-2.2.3]: at most four length bytes
        continue;
      }
      if (this.length + 1 + this.lengthBytes > this.maxBytes) return false;
      this.skip = this.length;
      this.lengthBytes = -1;
    }
    return true;
  }
}

/**
 * Watches what the broker reads from `stream` (a 'data' listener added after the
 * broker's 'readable' one sees each chunk read(), without changing the flow) and
 * calls `tooLarge` and destroys the stream when a packet is over `maxBytes`.
 */
export function guardPacketSize(stream: Duplex, maxBytes: number, tooLarge: () => void): void {
  const guard = new PacketSizeGuard(maxBytes);
  stream.on('data', (chunk: Buffer) => {
    if (!stream.destroyed && !guard.feed(chunk)) {
      tooLarge();
      stream.destroy();
    }
  });
}
