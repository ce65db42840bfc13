// The one way hub tests wait on state no socket event announces (the API, metrics, a
// log line): poll `check` until it returns a value. device-sim/test/support/wait.ts
// and bench/src/lib.ts have the same function with the same signature, since those
// packages may not import hub's test helpers (docs/architecture.md, § Layers).

/**
 * Resolves with the first value of `check` other than undefined or false. A throw is
 * remembered and retried. Past `timeoutMs` it rejects naming `what` and the last throw.
 * The 25 ms interval is not synchronisation, only how often to look.
 */
export async function eventually<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  what: string,
  timeoutMs = 5_000,
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
