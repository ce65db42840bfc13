// The latest events of every device, live (the events stream), newest first.

import { useEffect, useState } from 'preact/hooks';
import { events as eventsApi } from '../../api/endpoints.ts';
import { ErrorText } from '../../components/error-text.tsx';
import { EventTable } from '../../components/event-table.tsx';
import { type FeedItem, fromEvent, mergeFeed } from '../../lib/feed.ts';
import { useGeneration, useUpdates } from '../../lib/hooks.ts';
import { useApp } from '../../state/app-context.ts';

export function EventsPanel({ limit }: { limit: number }) {
  const { channel } = useApp();
  const generation = useGeneration(channel);
  const [list, setList] = useState<FeedItem[]>([]);
  const [error, setError] = useState<unknown>(undefined);
  useEffect(() => channel.subscribe('events'), [channel]);
  useUpdates(channel, 'event', (u) => setList((l) => mergeFeed(l, [fromEvent(u.event)], limit)));
  // Dependencies: refetch after a reconnect (updates were missed meanwhile)
  useEffect(() => {
    let live = true;
    eventsApi.list(limit).then(
      (r) => {
        if (!live) return;
        setError(undefined);
        setList((l) => mergeFeed(l, r.events.map(fromEvent), limit));
      },
      (err: unknown) => live && setError(err),
    );
    return () => {
      live = false;
    };
  }, [generation, limit]);
  return (
    <>
      <ErrorText error={error} />
      {list.length === 0 ? <p class="muted">No events yet.</p> : <EventTable events={list} showDevice={true} />}
    </>
  );
}
