// Gathers a stream's writes within one event-loop turn into one buffer, handed to
// the stream with a single write() once the turn's callbacks have run (setImmediate).
// aedes delivers each message in its own microtask, and mqtt-packet writes a PUBLISH
// as six pieces (header, length, topic length, topic, packet id, payload) with a
// cork() and a nextTick uncork() around each packet. Corking the stream for the turn
// (as this did before) still took every piece through Writable's buffering, one
// request object each: with ten QoS 1 subscribers that and its garbage were the
// largest cost of delivery. Here a piece is a copy into the turn's buffer.

import type { Writable } from 'node:stream';

/** Bytes held before they are written without waiting for the end of the turn. */
export const MAX_HELD_BYTES = 64 * 1024;

/** The smallest buffer a turn's writes start in. */
const FIRST_BUFFER_BYTES = 16 * 1024;

type WriteCallback = (err?: Error | null) => void;

/**
 * Makes `stream.write` gather its chunks until the end of the turn (or
 * `maxHeld` bytes). A write's result is the stream's own state (false while it
 * waits for 'drain', which it will then emit), so a writer's backpressure works as
 * before; a write with a callback, and end(), first write what is held. Held bytes
 * are not in `stream.writableLength`: only what the stream could not pass on is.
 * Destroying the stream discards what is held, as it would corked data.
 */
export function coalesceWrites(stream: Writable, maxHeld = MAX_HELD_BYTES): void {
  const write = stream.write.bind(stream) as (chunk: unknown, encoding?: BufferEncoding, cb?: WriteCallback) => boolean;
  const end = stream.end.bind(stream) as (...args: unknown[]) => Writable;
  let held: Buffer | undefined;
  let used = 0;
  let scheduled = false;

  const flush = (): boolean => {
    if (held === undefined || used === 0) return !stream.writableNeedDrain;
    const out = held.subarray(0, used);
    held = undefined;
    used = 0;
    // After a FIN or a destroy this fails once per turn (the stream reports it), not once per piece.
    return write(out);
  };
  const flushLater = () => {
    scheduled = false;
    flush();
  };
  /** Room for `n` more bytes in the turn's buffer. */
  const reserve = (n: number): Buffer => {
    if (held === undefined) held = Buffer.allocUnsafe(Math.max(FIRST_BUFFER_BYTES, n));
    else if (used + n > held.length) {
      const bigger = Buffer.allocUnsafe(Math.max(held.length * 2, used + n));
      held.copy(bigger, 0, 0, used);
      held = bigger;
    }
    return held;
  };

  stream.write = ((chunk: unknown, encoding?: BufferEncoding | WriteCallback, cb?: WriteCallback): boolean => {
    if (typeof encoding === 'function') {
      cb = encoding;
      encoding = undefined;
    }
    if (cb !== undefined || !(typeof chunk === 'string' || chunk instanceof Uint8Array)) {
      // Someone waits for this write: it goes now, after what is held.
      flush();
      return write(chunk, encoding, cb);
    }
    if (typeof chunk === 'string') {
      const buf = reserve(Buffer.byteLength(chunk, encoding));
      used += buf.write(chunk, used, encoding ?? 'utf8');
    } else {
      reserve(chunk.length).set(chunk, used);
      used += chunk.length;
    }
    if (used >= maxHeld) return flush();
    if (!scheduled) {
      scheduled = true;
      setImmediate(flushLater);
    }
    return !stream.writableNeedDrain;
  }) as Writable['write'];

  stream.end = ((...args: unknown[]) => {
    flush();
    return end(...args);
  }) as Writable['end'];

  // mqtt-packet corks the stream and schedules an uncork (a nextTick) around each
  // packet when the stream has cork(); here nothing reaches the stream within a turn
  // anyway. Only writers that look before they cork (mqtt-packet) may be handed this stream.
  (stream as { cork?: unknown }).cork = undefined;
}
