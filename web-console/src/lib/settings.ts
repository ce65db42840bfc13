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

const TILES_KEY = 'halyard.mapTiles';

/**
 * `localStorage['halyard.mapTiles']`: a tile URL template with {z}, {x} and {y}
 * (e.g. a tile server on the site's network); unset, the map is a plain coordinate view.
 */
export function mapTileUrl(): string | undefined {
  const v = stored(TILES_KEY);
  return v !== null && /^https?:\/\/.*\{z\}.*\{x\}.*\{y\}/.test(v) ? v : undefined;
}

export function setMapTileUrl(url: string | undefined): void {
  try {
    if (url === undefined || url === '') globalThis.localStorage?.removeItem(TILES_KEY);
    else globalThis.localStorage?.setItem(TILES_KEY, url);
  } catch {
    // Storage blocked: the plain view stays.
  }
}

/** Where an operator's dashboard is saved (lib/dashboard.ts reads and writes it). */
export function dashboardKey(username: string): string {
  return `halyard.dashboard.${username}`;
}

/** `/` opens the dashboard for an operator who has arranged one, else the fleet. */
export function homeIsDashboard(username: string): boolean {
  return stored(dashboardKey(username)) !== null;
}
