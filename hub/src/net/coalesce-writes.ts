// Batches a stream's writes within one event-loop turn into one system call: cork on
// the first write, uncork once the turn's callbacks have run (setImmediate). aedes
// delivers each message in its own microtask, so uncorking on nextTick would still
// cost a writev per packet (measured: a quarter of the main thread at 10k MQTT
// messages/s).

import type { Writable } from 'node:stream';

export interface Coalesced {
  /** Bytes written this turn and held back until it ends (writableLength counts them too). */
  corkedBytes(): number;
}

export function coalesceWrites(stream: Writable): Coalesced {
  const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  let corked = false;
  let held = 0;
  const uncork = () => {
    corked = false;
    held = 0;
    stream.uncork();
  };
  stream.write = ((...args: unknown[]) => {
    if (!corked && !stream.destroyed) {
      corked = true;
      stream.cork();
      setImmediate(uncork);
    }
    const chunk = args[0];
    if (corked) held += typeof chunk === 'string' ? Buffer.byteLength(chunk) : ((chunk as Uint8Array | undefined)?.length ?? 0);
    return write(...args);
  }) as Writable['write'];
  return { corkedBytes: () => held };
}
