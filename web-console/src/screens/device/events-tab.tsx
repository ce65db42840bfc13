// A device's events with its connects and disconnects: history from the API, new ones
// live, ordered by when the hub received them.

import { useEffect, useRef, useState } from 'preact/hooks';
import { devices, exportUrl } from '../../api/endpoints.ts';
import { DownloadLink } from '../../components/download-link.tsx';
import { Empty } from '../../components/empty.tsx';
import { ErrorText } from '../../components/error-text.tsx';
import { EventTable } from '../../components/event-table.tsx';
import { type FeedItem, fromEvent, fromPresence, isNewPresence, mergeFeed } from '../../lib/feed.ts';
import { useDropped, useGeneration, useUpdates } from '../../lib/hooks.ts';
import { useApp } from '../../state/app-context.ts';

export function EventsTab({ id }: { id: string }) {
  const { channel } = useApp();
  const generation = useGeneration(channel);
  const dropped = useDropped(channel, 'events');
  const [events, setEvents] = useState<FeedItem[]>([]);
  const openedAt = useRef(Date.now());
  const [error, setError] = useState<unknown>(undefined);
  useEffect(() => channel.subscribe('events', [id]), [channel, id]);
  useUpdates(channel, 'event', (u) => {
    if (u.event.device === id) setEvents((l) => mergeFeed(l, [fromEvent(u.event)]));
  });
  useUpdates(channel, 'presence', (u) => {
    // History brings older connects; live, only new ones (the hub re-states old ones).
    if (u.presence.device === id && isNewPresence(u.presence, openedAt.current)) setEvents((l) => mergeFeed(l, [fromPresence(u.presence)]));
  });
  // Dependencies: a new device starts empty
  useEffect(() => setEvents([]), [id]);
  // Dependencies: refetch per device, after every reconnect and when the hub dropped events for us
  useEffect(() => {
    let live = true;
    Promise.all([devices.events(id, 200), devices.presence(id, 100)]).then(
      ([r, p]) => {
        if (!live) return;
        setError(undefined);
        setEvents((l) => mergeFeed(l, [...r.events.map(fromEvent), ...p.presence.map(fromPresence)]));
      },
      (err: unknown) => live && setError(err),
    );
    return () => {
      live = false;
    };
  }, [id, generation, dropped]);
  return (
    <section aria-label="Events">
      <div class="toolbar">
        <DownloadLink href={exportUrl('/export/events', { device: id })} />
      </div>
      <ErrorText error={error} />
      {events.length === 0 ? <Empty title="No events from this device yet" /> : <EventTable events={events} showDevice={false} />}
    </section>
  );
}
