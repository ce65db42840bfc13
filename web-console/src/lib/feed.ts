// The events feed: device events and connects/disconnects in one list, ordered by when
// the hub received them. A device's own clock can be wrong (an hour ahead stays on top
// for an hour), so it is shown beside the received time, never used to sort.

import type { EventInfo, PresenceInfo } from '@halyard/firmware-protocol';
import { CLOSE_CODES } from './close-codes.ts';

export interface FeedItem {
  key: string;
  kind: 'event' | 'presence';
  device: string;
  name: string;
  /** 0 debug, 1 info, 2 warning, 3 error. */
  level: number;
  /** What to show in the data column. */
  data: string;
  /** The device's clock for events; the hub's for presence. */
  time: number;
  /** When the hub received it. */
  receivedAt: number;
}

/** Device and hub clocks that differ by more than this are both shown. */
export const CLOCK_SKEW_MS = 2_000;

export function fromEvent(e: EventInfo): FeedItem {
  return {
    key: `${e.device}:${e.id}`,
    kind: 'event',
    device: e.device,
    name: e.name,
    level: e.level,
    data: e.data === null ? '' : JSON.stringify(e.data),
    time: e.time,
    receivedAt: e.receivedAt,
  };
}

/** Reasons that mean something went wrong (a warning), rather than a planned close. */
const TROUBLE = new Set<PresenceInfo['reason']>(['timeout', 'error', 'rate_limited', 'too_large', 'malformed', 'hello_timeout', 'revoked']);

export function fromPresence(p: PresenceInfo): FeedItem {
  const code = p.code === null ? '' : ` (close ${p.code}${CLOSE_CODES[p.code] ? `, ${CLOSE_CODES[p.code]}` : ''})`;
  return {
    key: `${p.device}:presence:${p.at}:${p.online}`,
    kind: 'presence',
    device: p.device,
    name: p.online ? 'connected' : 'disconnected',
    level: !p.online && TROUBLE.has(p.reason) ? 2 : 1,
    data: p.online ? '' : `${p.reason.replace(/_/g, ' ')}${code}`,
    time: p.at,
    receivedAt: p.at,
  };
}

/**
 * Whether a live presence update is news for a feed opened at `openedAt`: the hub
 * re-states "connected" (with the session's start time) whenever last-seen or RTT
 * changes, so an old connect is not shown as if it just happened.
 */
export function isNewPresence(p: PresenceInfo, openedAt: number): boolean {
  return !p.online || p.at >= openedAt - CLOCK_SKEW_MS;
}

/** Adds items to a feed (newest received first), skipping repeats, keeping at most `max`. */
export function mergeFeed(list: readonly FeedItem[], incoming: readonly FeedItem[], max = 500): FeedItem[] {
  const seen = new Set(list.map((e) => e.key));
  const fresh: FeedItem[] = [];
  for (const e of incoming) {
    if (seen.has(e.key)) continue;
    seen.add(e.key);
    fresh.push(e);
  }
  if (fresh.length === 0) return list as FeedItem[];
  return [...fresh, ...list].sort((a, b) => b.receivedAt - a.receivedAt || (a.key < b.key ? 1 : -1)).slice(0, max);
}
