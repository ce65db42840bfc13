// Every device's events and connects/disconnects, newest received first, live; filter
// by level or text, kept in the URL (/events?level=2&q=door) so a view can be shared.
// Connects and disconnects arrive live only: the hub keeps presence history per device.

import { useEffect, useRef, useState } from 'preact/hooks';
import { events as eventsApi, exportUrl } from '../api/endpoints.ts';
import { DownloadLink } from '../components/download-link.tsx';
import { Empty } from '../components/empty.tsx';
import { ErrorText } from '../components/error-text.tsx';
import { EventTable } from '../components/event-table.tsx';
import { type FeedItem, fromEvent, fromPresence, isNewPresence, mergeFeed } from '../lib/feed.ts';
import { useDropped, useGeneration, useUpdates } from '../lib/hooks.ts';
import { navigate, useLocation } from '../lib/router.tsx';
import { useTitle } from '../lib/title.ts';
import { useApp } from '../state/app-context.ts';

const MAX = 1_000;

function parseFilter(search: string): { q: string; level: number } {
  const p = new URLSearchParams(search);
  const level = Number(p.get('level'));
  return { q: p.get('q') ?? '', level: Number.isInteger(level) && level >= 0 && level <= 3 ? level : 0 };
}

function filterSearch(f: { q: string; level: number }): string {
  const p = new URLSearchParams();
  if (f.level > 0) p.set('level', String(f.level));
  if (f.q !== '') p.set('q', f.q);
  const s = p.toString();
  return s === '' ? '' : `?${s}`;
}

export function EventsScreen() {
  useTitle('Events');
  const { channel } = useApp();
  const generation = useGeneration(channel);
  const dropped = useDropped(channel, 'events');
  const loc = useLocation();
  const filter = parseFilter(loc.search);
  const [list, setList] = useState<FeedItem[]>([]);
  const openedAt = useRef(Date.now());
  const [error, setError] = useState<unknown>(undefined);
  const setFilter = (f: Partial<typeof filter>) => navigate(`/events${filterSearch({ ...filter, ...f })}`, { replace: true });
  useEffect(() => channel.subscribe('events'), [channel]);
  useUpdates(channel, 'event', (u) => setList((l) => mergeFeed(l, [fromEvent(u.event)], MAX)));
  // Presence comes with the fleet stream the shell holds; last-seen refreshes repeat a connect and merge away.
  useUpdates(channel, 'presence', (u) => {
    if (isNewPresence(u.presence, openedAt.current)) setList((l) => mergeFeed(l, [fromPresence(u.presence)], MAX));
  });
  // Dependencies: refetch after every reconnect and when the hub dropped events for us
  useEffect(() => {
    let live = true;
    eventsApi.list(300).then(
      (r) => {
        if (!live) return;
        setError(undefined);
        setList((l) => mergeFeed(l, r.events.map(fromEvent), MAX));
      },
      (err: unknown) => live && setError(err),
    );
    return () => {
      live = false;
    };
  }, [generation, dropped]);
  const needle = filter.q.trim().toLowerCase();
  const shown = list.filter((e) => e.level >= filter.level && (needle === '' || `${e.device} ${e.name}`.toLowerCase().includes(needle)));
  return (
    <>
      <h1>Events</h1>
      <div class="toolbar">
        <input
          type="search"
          placeholder="Filter by device or event name"
          aria-label="Filter events"
          value={filter.q}
          onInput={(e) => setFilter({ q: e.currentTarget.value })}
        />
        <label class="row">
          Level at least
          <select name="level" value={filter.level} onChange={(e) => setFilter({ level: Number(e.currentTarget.value) })}>
            <option value={0}>debug</option>
            <option value={1}>info</option>
            <option value={2}>warning</option>
            <option value={3}>error</option>
          </select>
        </label>
        <DownloadLink href={exportUrl('/export/events')} label="Download CSV (all events)" />
      </div>
      <ErrorText error={error} />
      {shown.length === 0 ? (
        <Empty title={list.length === 0 ? 'No events yet' : 'No event matches the filter'}>
          <p>
            Devices send events for things that happen (a door opened, a fault); they appear here as they arrive, with connects and
            disconnects.
          </p>
        </Empty>
      ) : (
        <EventTable events={shown} showDevice={true} />
      )}
    </>
  );
}
