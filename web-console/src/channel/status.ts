// The connection dot's colour and words for a channel state (README.md, Web console: green live,
// amber reconnecting, red lost, with the reason). Never colour alone: always a label.

import type { ChannelState } from './channel.ts';

export interface Look {
  tone: 'live' | 'reconnecting' | 'lost';
  label: string;
  detail: string;
}

/** Down this long (or this many failed attempts) and "reconnecting" becomes "lost". */
export const LOST_AFTER_MS = 10_000;
// Attempts come every few seconds at most (CONSOLE_BACKOFF), so count enough of them.
const LOST_AFTER_ATTEMPTS = 5;

export function connectionLook(s: ChannelState, now: number): Look {
  switch (s.kind) {
    case 'live':
      return { tone: 'live', label: 'Live', detail: 'connected to the hub; updates arrive as they happen' };
    case 'connecting': {
      if (s.downSince === undefined) return { tone: 'reconnecting', label: 'Connecting', detail: 'opening the live channel to the hub' };
      const lost = now - s.downSince >= LOST_AFTER_MS || s.attempt >= LOST_AFTER_ATTEMPTS;
      return { tone: lost ? 'lost' : 'reconnecting', label: 'Reconnecting', detail: `${s.reason ?? 'disconnected'}; trying again now` };
    }
    case 'waiting': {
      const lost = now - s.downSince >= LOST_AFTER_MS || s.attempt >= LOST_AFTER_ATTEMPTS;
      const wait = Math.max(0, Math.ceil((s.retryAt - now) / 1000));
      return {
        tone: lost ? 'lost' : 'reconnecting',
        label: lost ? 'Connection lost' : 'Reconnecting',
        detail: `${s.reason}; retrying ${wait > 0 ? `in ${wait} s` : 'now'}`,
      };
    }
    case 'ended':
      return { tone: 'lost', label: 'Signed out', detail: s.reason };
  }
}
