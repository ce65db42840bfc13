// One device: a header with its live status and facts, then tabs for telemetry, twin,
// commands, events, presence and (for operators) credentials. The tab is in the URL.

import { useState } from 'preact/hooks';
import { StaleNotice } from '../../components/stale-notice.tsx';
import { DeviceStatusBadge } from '../../components/status.tsx';
import { deviceStatus, rttText } from '../../lib/fleet-query.ts';
import { ago, span } from '../../lib/format.ts';
import { useNow, useSubscribe } from '../../lib/hooks.ts';
import { Link } from '../../lib/router.tsx';
import { useTitle } from '../../lib/title.ts';
import { useApp, useCan } from '../../state/app-context.ts';
import { AlarmsTab } from './alarms-tab.tsx';
import { CommandsTab } from './commands-tab.tsx';
import { CredentialsTab } from './credentials-tab.tsx';
import { DeviceEdit } from './device-edit.tsx';
import { EventsTab } from './events-tab.tsx';
import { PresenceTab } from './presence-tab.tsx';
import { TelemetryTab } from './telemetry-tab.tsx';
import { TwinTab } from './twin-tab.tsx';
import { UpdatesTab } from './updates-tab.tsx';

const TABS: [string, string, 'viewer' | 'operator'][] = [
  ['telemetry', 'Telemetry', 'viewer'],
  ['twin', 'Twin', 'viewer'],
  ['commands', 'Commands', 'viewer'],
  ['events', 'Events', 'viewer'],
  ['alarms', 'Alarms', 'viewer'],
  ['presence', 'Presence', 'viewer'],
  ['updates', 'Updates', 'viewer'],
  ['credentials', 'Credentials', 'operator'],
];

export function DevicePage({ id, tab }: { id: string; tab: string }) {
  const { fleet } = useApp();
  useSubscribe(fleet.subscribe);
  const now = useNow();
  const canOperate = useCan('operator');
  const d = fleet.get(id);
  const [editing, setEditing] = useState(false);
  useTitle(id, TABS.find(([key]) => key === tab)?.[1]);
  if (d === undefined) {
    return fleet.loaded ? (
      <p>
        There is no device "{id}" (it may have been deleted). <Link href="/fleet">Back to the fleet</Link>.
      </p>
    ) : (
      <p class="muted">Loading…</p>
    );
  }
  const base = `/devices/${encodeURIComponent(id)}`;
  const tabs = TABS.filter(([, , least]) => least === 'viewer' || canOperate);
  return (
    <>
      <div class="device-head">
        <h1 class="mono">{d.id}</h1>
        <span data-testid="device-status">
          <DeviceStatusBadge status={deviceStatus(d)} />
        </span>
        {d.name ? <span>{d.name}</span> : null}
        <div class="facts">
          <span>
            model{' '}
            {d.model ? (
              <Link href={`/models/${encodeURIComponent(d.model)}`} title="The model's profile: commands, metric units, desired keys">
                <b>{d.model}</b>
              </Link>
            ) : (
              <b>–</b>
            )}
          </span>
          <span>
            firmware <b>{d.firmware ?? '–'}</b>
          </span>
          <span>
            session <b>{d.online && d.connectedAt !== null ? `up ${span(Math.max(0, now - d.connectedAt))}` : '–'}</b>
          </span>
          <span>
            last seen <b>{d.online && d.lastSeen !== null && now - d.lastSeen < 2_000 ? 'now' : ago(d.lastSeen, now)}</b>
          </span>
          <span>
            RTT <b>{rttText(d)}</b>
          </span>
          {d.pendingCommands > 0 ? (
            <span class="tone-pending">
              <b>{d.pendingCommands}</b> pending commands
            </span>
          ) : null}
          {d.tags.length > 0 ? (
            <span>
              {d.tags.map((t) => (
                <span key={t} class="tag">
                  {t}
                </span>
              ))}
            </span>
          ) : null}
          {canOperate && !editing ? (
            <button type="button" class="btn small" onClick={() => setEditing(true)}>
              Edit name and tags
            </button>
          ) : null}
        </div>
      </div>
      {editing ? <DeviceEdit device={d} onDone={() => setEditing(false)} /> : null}
      <StaleNotice what="the device" />
      <nav class="tabs" aria-label="Device sections">
        {tabs.map(([key, label]) => (
          <Link key={key} href={`${base}/${key}`} aria-current={tab === key ? 'page' : undefined}>
            {label}
          </Link>
        ))}
      </nav>
      {tab === 'telemetry' ? <TelemetryTab id={id} /> : null}
      {tab === 'twin' ? <TwinTab id={id} /> : null}
      {tab === 'commands' ? <CommandsTab id={id} /> : null}
      {tab === 'events' ? <EventsTab id={id} /> : null}
      {tab === 'presence' ? <PresenceTab id={id} /> : null}
      {tab === 'alarms' ? <AlarmsTab id={id} /> : null}
      {tab === 'updates' ? <UpdatesTab id={id} /> : null}
      {tab === 'credentials' && canOperate ? <CredentialsTab device={d} /> : null}
      {!tabs.some(([key]) => key === tab) ? <p>No section "{tab}" here.</p> : null}
    </>
  );
}
