// Console settings kept in the browser (localStorage), each with a default: there is no
// settings screen yet, so each is documented in README's console section.

import { parseDuration } from '@halyard/firmware-protocol';

/** After this long a desired key the device has not applied shows as "not applied", not "waiting". */
export const TWIN_NOT_APPLIED_AFTER_MS = 3 * 60_000;
const TWIN_KEY = 'halyard.twinNotAppliedAfter';

function stored(key: string): string | null {
  try {
    return globalThis.localStorage?.getItem(key) ?? null;
  } catch {
    // Storage can be blocked (privacy settings); the default then holds.
    return null;
  }
}

/** `localStorage['halyard.twinNotAppliedAfter']` as a duration ("30s", "10m"), else the default. */
export function twinNotAppliedAfterMs(): number {
  const v = stored(TWIN_KEY);
  const ms = v === null ? undefined : parseDuration(v);
  return ms !== undefined && ms > 0 ? ms : TWIN_NOT_APPLIED_AFTER_MS;
}
