// The events feed as a table: when the hub received it (and the device's own time when
// its clock disagrees), how serious (in words and colour), what, and data. Connects and
// disconnects are rows too, marked as such.

import { CLOCK_SKEW_MS, type FeedItem } from '../lib/feed.ts';
import { span, timestamp } from '../lib/format.ts';
import { Link } from '../lib/router.tsx';

const LEVEL = ['debug', 'info', 'warning', 'error'];

function skew(e: FeedItem): string | undefined {
  const d = e.time - e.receivedAt;
  if (Math.abs(d) <= CLOCK_SKEW_MS) return undefined;
  return `device clock ${timestamp(e.time)} (${span(Math.round(Math.abs(d) / 1000) * 1000)} ${d > 0 ? 'ahead' : 'behind'})`;
}

export function EventTable({ events, showDevice }: { events: readonly FeedItem[]; showDevice: boolean }) {
  return (
    <div class="scroll-x">
      <table class="list" aria-label="Events, newest received first">
        <thead>
          <tr>
            <th>Received</th>
            {showDevice ? <th>Device</th> : null}
            <th>Level</th>
            <th>Event</th>
            <th class="hide-narrow">Data</th>
          </tr>
        </thead>
        <tbody>
          {events.map((e) => {
            const off = skew(e);
            return (
              <tr key={e.key} data-event={e.name} data-kind={e.kind}>
                <td class="mono">
                  {timestamp(e.receivedAt)}
                  {off ? (
                    <div class="muted skew" data-testid="device-time">
                      {off}
                    </div>
                  ) : null}
                </td>
                {showDevice ? (
                  <td class="mono">
                    <Link href={`/devices/${encodeURIComponent(e.device)}/events`}>{e.device}</Link>
                  </td>
                ) : null}
                <td class={`lvl-${e.level}`}>{LEVEL[e.level] ?? e.level}</td>
                <td class={e.kind === 'presence' ? 'presence-name' : 'mono'}>{e.name}</td>
                <td class="data hide-narrow">{e.data}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
