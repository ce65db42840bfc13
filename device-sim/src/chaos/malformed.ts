// Frames that break SPEC.md on purpose, for --chaos-malformed: each is something a
// buggy firmware could send, and each must make the hub answer ERROR + 4400 (§8.4)
// without harming other devices. None uses a sequence number, so the device's data
// stream stays gap-free.

import { encode, encodeCbor, MessageType, PROTOCOL_VERSION } from '@halyard/firmware-protocol';

export interface MalformedFrame {
  kind: string;
  data: Uint8Array | string;
  /** false sends a text message, itself malformed on this channel (SPEC.md §2.1). */
  binary: boolean;
}

const KINDS: readonly (() => MalformedFrame)[] = [
  () => {
    const whole = encode({ type: MessageType.Event, seq: 1, name: 'truncated' });
    return { kind: 'truncated-cbor', data: whole.subarray(0, whole.length - 3), binary: true };
  },
  () => ({ kind: 'text-frame', data: '{"type":"telemetry"}', binary: false }),
  () => ({ kind: 'unknown-type', data: encodeCbor([99, 1]), binary: true }),
  () => {
    const valid = encode({ type: MessageType.CmdAccepted, id: 'c-1' });
    const data = new Uint8Array(valid.length + 1);
    data.set(valid);
    return { kind: 'trailing-bytes', data, binary: true };
  },
  // [7, 1(0)]: a CMD_ACCEPTED whose id is tag 1 (an epoch date); tags are banned (§3.2).
  () => ({ kind: 'tagged-item', data: Uint8Array.of(0x82, 0x07, 0xc1, 0x00), binary: true }),
  () => ({ kind: 'second-hello', data: encode({ type: MessageType.Hello, proto: PROTOCOL_VERSION, fw: 'x', model: 'x' }), binary: true }),
  () => ({ kind: 'wrong-direction', data: encode({ type: MessageType.Ack, seq: 1 }), binary: true }),
];

/** The `n`th kind of malformed frame, cycling through them all. */
export function malformedFrame(n: number): MalformedFrame {
  return (KINDS[Math.abs(n) % KINDS.length] as () => MalformedFrame)();
}

export const MALFORMED_KINDS = KINDS.length;
