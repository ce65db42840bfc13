// Every device's events, newest first, live; filter by level or text.

import type { EventInfo } from '@halyard/firmware-protocol';
import { useEffect, useState } from 'preact/hooks';
import { events as eventsApi } from '../api/endpoints.ts';
import { Empty } from '../components/empty.tsx';
import { ErrorText } from '../components/error-text.tsx';
import { EventTable, prependEvents } from '../components/event-table.tsx';
import { useDropped, useGeneration, useUpdates } from '../lib/hooks.ts';
import { useApp } from '../state/app-context.ts';

export function EventsScreen() {
  const { channel } = useApp();
  const generation = useGeneration(channel);
  const dropped = useDropped(channel, 'events');
  const [list, setList] = useState<EventInfo[]>([]);
  const [error, setError] = useState<unknown>(undefined);
  const [minLevel, setMinLevel] = useState(0);
  const [text, setText] = useState('');
  useEffect(() => channel.subscribe('events'), [channel]);
  useUpdates(channel, 'event', (u) => setList((l) => prependEvents(l, [u.event], 1_000)));
  // Dependencies: refetch after every reconnect and when the hub dropped events for us
  useEffect(() => {
    let live = true;
    eventsApi.list(300).then(
      (r) => {
        if (!live) return;
        setError(undefined);
        setList((l) => prependEvents(l, r.events, 1_000));
      },
      (err: unknown) => live && setError(err),
    );
    return () => {
      live = false;
    };
  }, [generation, dropped]);
  const needle = text.trim().toLowerCase();
  const shown = list.filter((e) => e.level >= minLevel && (needle === '' || `${e.device} ${e.name}`.toLowerCase().includes(needle)));
  return (
    <>
      <h1>Events</h1>
      <div class="toolbar">
        <input
          type="search"
          placeholder="Filter by device or event name"
          aria-label="Filter events"
          value={text}
          onInput={(e) => setText(e.currentTarget.value)}
        />
        <label class="row">
          Level at least
          <select value={minLevel} onChange={(e) => setMinLevel(Number(e.currentTarget.value))}>
            <option value={0}>debug</option>
            <option value={1}>info</option>
            <option value={2}>warning</option>
            <option value={3}>error</option>
          </select>
        </label>
      </div>
      <ErrorText error={error} />
      {shown.length === 0 ? (
        <Empty title={list.length === 0 ? 'No events yet' : 'No event matches the filter'}>
          <p>Devices send events for things that happen (a door opened, a fault); they appear here as they arrive.</p>
        </Empty>
      ) : (
        <EventTable events={shown} showDevice={true} />
      )}
    </>
  );
}
