// Bit-level writer and reader for the block codec (codec.ts). Values are plain
// numbers: up to 32 bits per call with writeBits/readBits, up to 53 with the *Wide
// variants (JavaScript's bit operators stop at 32 bits; above that we split by
// multiplication, which is exact for integers below 2^53).

const TWO_32 = 2 ** 32;

export class BitWriter {
  private buf: Uint8Array;
  private pos = 0;
  /** Bits not yet in a whole byte: the low `used` (< 8) bits of `cur`. */
  private cur = 0;
  private used = 0;

  constructor(capacity = 256) {
    this.buf = new Uint8Array(capacity);
  }

  /** Appends the low `n` bits of `value` (0 <= n <= 32), most significant first. */
  writeBits(value: number, n: number): void {
    if (n > 24) {
      // Keeps cur within 31 bits: at most 7 pending plus 24.
      this.writeBits(Math.floor(value / 65_536) & 0xffff, n - 16);
      this.writeBits(value & 0xffff, 16);
      return;
    }
    if (n === 0) return;
    let cur = (this.cur << n) | (value & ((1 << n) - 1));
    let used = this.used + n;
    if (used >= 8) {
      if (this.pos + 4 > this.buf.length) this.ensure(4);
      const buf = this.buf;
      while (used >= 8) {
        used -= 8;
        buf[this.pos++] = (cur >>> used) & 0xff;
      }
      cur &= (1 << used) - 1;
    }
    this.cur = cur;
    this.used = used;
  }

  /** Appends an unsigned integer below 2^53 in `n` bits (0 <= n <= 53). */
  writeWide(value: number, n: number): void {
    if (n > 32) {
      this.writeBits(Math.floor(value / TWO_32), n - 32);
      this.writeBits(value >>> 0, 32);
    } else {
      this.writeBits(n === 32 ? value >>> 0 : value % 2 ** n, n);
    }
  }

  /** An unsigned integer below 2^53 as 6 bits of width, then the bits. */
  writeUint(value: number): void {
    const w = bitLength(value);
    this.writeBits(w, 6);
    this.writeWide(value, w);
  }

  writeBytes(bytes: Uint8Array): void {
    if (this.used === 0) {
      this.ensure(bytes.length);
      this.buf.set(bytes, this.pos);
      this.pos += bytes.length;
      return;
    }
    for (const b of bytes) this.writeBits(b, 8);
  }

  /** The bytes written, the last one padded with zero bits. */
  finish(): Uint8Array {
    if (this.used > 0) {
      this.ensure(1);
      this.buf[this.pos++] = (this.cur << (8 - this.used)) & 0xff;
      this.cur = 0;
      this.used = 0;
    }
    return this.buf.subarray(0, this.pos);
  }

  /** Bits written so far. */
  get bits(): number {
    return this.pos * 8 + this.used;
  }

  private ensure(more: number): void {
    if (this.pos + more <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + more));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }
}

export class BitReader {
  private pos: number;
  private readonly end: number;

  constructor(
    private readonly buf: Uint8Array,
    startByte = 0,
  ) {
    this.pos = startByte * 8;
    this.end = buf.length * 8;
  }

  /** The 32 bits from byte `i` on, big-endian (bytes past the end read as 0). */
  private word(i: number): number {
    const b = this.buf;
    return (((b[i] as number) << 24) | ((b[i + 1] ?? 0) << 16) | ((b[i + 2] ?? 0) << 8) | (b[i + 3] ?? 0)) >>> 0;
  }

  /** Reads `n` bits (0 <= n <= 32) as an unsigned number. Throws past the end. */
  readBits(n: number): number {
    if (this.pos + n > this.end) throw new RangeError('telemetry block: read past the end');
    if (n === 0) return 0;
    if (n > 24) {
      const hi = this.readBits(n - 16);
      return hi * 65_536 + this.readBits(16);
    }
    // n <= 24 and an offset of at most 7 fit one 32-bit word.
    const off = this.pos & 7;
    const v = ((this.word(this.pos >>> 3) << off) >>> 0) >>> (32 - n);
    this.pos += n;
    return v;
  }

  readBit(): number {
    if (this.pos >= this.end) throw new RangeError('telemetry block: read past the end');
    const bit = ((this.buf[this.pos >>> 3] as number) >>> (7 - (this.pos & 7))) & 1;
    this.pos++;
    return bit;
  }

  /** Counts 1 bits up to the first 0 (consumed) or `max` ones (no 0 follows then); max <= 24. */
  readOnes(max: number): number {
    const off = this.pos & 7;
    // Leading ones of the next 25+ bits at once; the zeros shifted in at the right end
    // stop the count at 32 - off, which is more than max.
    const ones = Math.clz32(~(this.word(this.pos >>> 3) << off));
    const q = Math.min(ones, max);
    const used = q < max ? q + 1 : q;
    if (this.pos + used > this.end) throw new RangeError('telemetry block: read past the end');
    this.pos += used;
    return q;
  }

  readWide(n: number): number {
    if (n > 32) {
      const hi = this.readBits(n - 32);
      return hi * TWO_32 + this.readBits(32);
    }
    return this.readBits(n);
  }

  readUint(): number {
    return this.readWide(this.readBits(6));
  }

  readBytes(length: number): Uint8Array {
    if (this.pos + length * 8 > this.end) throw new RangeError('telemetry block: read past the end');
    if ((this.pos & 7) === 0) {
      const start = this.pos >>> 3;
      this.pos += length * 8;
      return this.buf.slice(start, start + length);
    }
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = this.readBits(8);
    return out;
  }
}

/** Bits needed for an unsigned integer below 2^53 (0 for 0). */
export function bitLength(v: number): number {
  if (v < TWO_32) return 32 - Math.clz32(v);
  return 64 - Math.clz32(Math.floor(v / TWO_32));
}
