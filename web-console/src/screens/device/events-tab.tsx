// A device's events: history from the API, new ones live.

import type { EventInfo } from '@halyard/firmware-protocol';
import { useEffect, useState } from 'preact/hooks';
import { devices } from '../../api/endpoints.ts';
import { Empty } from '../../components/empty.tsx';
import { ErrorText } from '../../components/error-text.tsx';
import { EventTable, prependEvents } from '../../components/event-table.tsx';
import { useDropped, useGeneration, useUpdates } from '../../lib/hooks.ts';
import { useApp } from '../../state/app-context.ts';

export function EventsTab({ id }: { id: string }) {
  const { channel } = useApp();
  const generation = useGeneration(channel);
  const dropped = useDropped(channel, 'events');
  const [events, setEvents] = useState<EventInfo[]>([]);
  const [error, setError] = useState<unknown>(undefined);
  useEffect(() => channel.subscribe('events', [id]), [channel, id]);
  useUpdates(channel, 'event', (u) => {
    if (u.event.device === id) setEvents((l) => prependEvents(l, [u.event]));
  });
  // Dependencies: refetch per device, after every reconnect and when the hub dropped events for us
  useEffect(() => {
    let live = true;
    devices.events(id, 200).then(
      (r) => {
        if (!live) return;
        setError(undefined);
        setEvents((l) => prependEvents(l, r.events));
      },
      (err: unknown) => live && setError(err),
    );
    return () => {
      live = false;
    };
  }, [id, generation, dropped]);
  return (
    <section aria-label="Events">
      <ErrorText error={error} />
      {events.length === 0 ? <Empty title="No events from this device yet" /> : <EventTable events={events} showDevice={false} />}
    </section>
  );
}
