// TELEMETRY frames for load generation, built without re-encoding: the pack's CBOR
// is encoded once, and each frame is the array head, the type, the sequence number
// and those bytes. Records carry no time, so the hub stamps them "now".

import { encodeCbor, encodeWith, type SenmlRecord, writePack } from '@halyard/firmware-protocol';

export class FrameFactory {
  private readonly pack: Uint8Array;

  constructor(records: number) {
    const pack: SenmlRecord[] = Array.from({ length: records }, (_, i) => ({ n: `m${i}`, u: 'W', v: 20 + i + 0.5 }));
    this.pack = encodeWith(writePack, pack);
  }

  /** `[3, seq, pack]` as one CBOR item. */
  telemetry(seq: number): Uint8Array {
    const seqBytes = encodeCbor(seq);
    const out = new Uint8Array(2 + seqBytes.length + this.pack.length);
    out[0] = 0x83;
    out[1] = 0x03;
    out.set(seqBytes, 2);
    out.set(this.pack, 2 + seqBytes.length);
    return out;
  }
}
