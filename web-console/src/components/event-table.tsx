// Device events as a table: when, how serious (in words and colour), what, and data.

import type { EventInfo } from '@halyard/firmware-protocol';
import { timestamp } from '../lib/format.ts';
import { Link } from '../lib/router.tsx';

const LEVEL = ['debug', 'info', 'warning', 'error'];

export function EventTable({ events, showDevice }: { events: readonly EventInfo[]; showDevice: boolean }) {
  return (
    <div class="scroll-x">
      <table class="list" aria-label="Events, newest first">
        <thead>
          <tr>
            <th>Time</th>
            {showDevice ? <th>Device</th> : null}
            <th>Level</th>
            <th>Event</th>
            <th class="hide-narrow">Data</th>
          </tr>
        </thead>
        <tbody>
          {events.map((e) => (
            <tr key={`${e.device}:${e.id}`} data-event={e.name}>
              <td class="mono" title={`received ${timestamp(e.receivedAt)}`}>
                {timestamp(e.time)}
              </td>
              {showDevice ? (
                <td class="mono">
                  <Link href={`/devices/${encodeURIComponent(e.device)}/events`}>{e.device}</Link>
                </td>
              ) : null}
              <td class={`lvl-${e.level}`}>{LEVEL[e.level] ?? e.level}</td>
              <td class="mono">{e.name}</td>
              <td class="data hide-narrow">{e.data === null ? '' : JSON.stringify(e.data)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Adds live events to a list (newest first), skipping repeats, keeping at most `max`. */
export function prependEvents(list: readonly EventInfo[], incoming: readonly EventInfo[], max = 500): EventInfo[] {
  const seen = new Set(list.map((e) => `${e.device}:${e.id}`));
  const fresh = incoming.filter((e) => !seen.has(`${e.device}:${e.id}`));
  return [...fresh, ...list].sort((a, b) => b.time - a.time || b.id - a.id).slice(0, max);
}
