// Waiting for things in integration tests without sleeping: for a fleet event, or for
// a condition polled against the hub's API, each with a deadline that fails the test.

import type { Fleet, FleetEventMap } from '../../src/index.js';

export const TIMEOUT_MS = 15_000;

export function waitEvent<K extends keyof FleetEventMap>(
  fleet: Fleet,
  name: K,
  pred: (arg: FleetEventMap[K][0]) => boolean = () => true,
  timeoutMs = TIMEOUT_MS,
): Promise<FleetEventMap[K][0]> {
  const emitter = fleet.events as unknown as NodeJS.EventEmitter;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(name, listener);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for fleet event "${name}"`));
    }, timeoutMs);
    const listener = (arg: FleetEventMap[K][0]) => {
      if (!pred(arg)) return;
      clearTimeout(timer);
      emitter.off(name, listener);
      resolve(arg);
    };
    emitter.on(name, listener);
  });
}

/** Collects `count` matching events. */
export async function collectEvents<K extends keyof FleetEventMap>(
  fleet: Fleet,
  name: K,
  count: number,
  pred: (arg: FleetEventMap[K][0]) => boolean = () => true,
  timeoutMs = TIMEOUT_MS,
): Promise<FleetEventMap[K][0][]> {
  const got: FleetEventMap[K][0][] = [];
  await waitEvent(
    fleet,
    name,
    (arg) => {
      if (pred(arg)) got.push(arg);
      return got.length >= count;
    },
    timeoutMs,
  );
  return got;
}

/**
 * Resolves with the first value of `check` other than undefined or false. A throw is
 * remembered and retried; past `timeoutMs` it rejects naming `what` and the last throw.
 * Polling is how one waits on another process's state (the hub's API); the interval is
 * not synchronisation. The hub's tests (hub/test/helpers/eventually.ts) and bench
 * (bench/src/lib.ts) have the same function with the same signature: device-sim may not
 * import either (docs/architecture.md, § Layers).
 */
export async function eventually<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  what: string,
  timeoutMs = TIMEOUT_MS,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v as T;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
