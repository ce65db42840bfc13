// Map: every device that reports a position (SenML lat/lon), placed on a plain
// coordinate view in its status colour and shape, live for the first 50 (the hub's
// telemetry stream limit) and refreshed every few seconds for the rest. Tiles only when
// a tile URL is set (many installations reach no tile server).

import { useState } from 'preact/hooks';
import { CoordView, type Marker } from '../components/coord-view.tsx';
import { Empty } from '../components/empty.tsx';
import { ErrorText } from '../components/error-text.tsx';
import { Badge, type Tone } from '../components/status.tsx';
import { deviceStatus } from '../lib/fleet-query.ts';
import { useSubscribeFrame } from '../lib/hooks.ts';
import { isLat, isLon } from '../lib/positions.ts';
import { mapTileUrl, setMapTileUrl } from '../lib/settings.ts';
import { useTitle } from '../lib/title.ts';
import { useLatestValues, useLiveTelemetry } from '../lib/use-latest.ts';
import { useApp } from '../state/app-context.ts';

const TONE = { online: 'good', offline: 'off', never: 'off', revoked: 'bad' } as const satisfies Record<string, Tone>;

export function MapScreen() {
  useTitle('Map');
  const { fleet, latest } = useApp();
  // Once per frame at most: each render walks every device (5,000 at the scale the
  // README's console section measures).
  useSubscribeFrame(fleet.subscribe);
  useSubscribeFrame(latest.subscribe);
  const [error, setError] = useState<unknown>(undefined);
  useLatestValues(setError);
  const markers: Marker[] = [];
  for (const d of fleet.values()) {
    let lat: number | undefined;
    let lon: number | undefined;
    for (const name of ['lat', 'latitude', 'lon', 'longitude']) {
      const l = latest.get(d.id, name);
      if (l === undefined || typeof l.v !== 'number') continue;
      if (isLat(name, l.unit)) lat = l.v;
      else if (isLon(name, l.unit)) lon = l.v;
    }
    if (lat === undefined || lon === undefined) continue;
    const status = deviceStatus(d);
    const pending = d.pendingCommands > 0 && status === 'online';
    markers.push({
      id: d.id,
      lat,
      lon,
      tone: pending ? 'pending' : TONE[status],
      label: pending ? `${status}, commands pending` : status === 'never' ? 'never seen' : status,
      href: `/devices/${encodeURIComponent(d.id)}`,
    });
  }
  useLiveTelemetry(
    markers.map((m) => m.id),
    markers.length > 0,
  );
  return (
    <>
      <h1>Map</h1>
      <ErrorText error={error} />
      <p class="row">
        <Badge tone="good">online</Badge>
        <Badge tone="pending">commands pending</Badge>
        <Badge tone="off">offline (hollow)</Badge>
        <Badge tone="bad">revoked (cross)</Badge>
        <span class="muted" data-testid="map-count">
          {markers.length} of {fleet.size} devices report a position
        </span>
      </p>
      {markers.length === 0 ? (
        <Empty title="No device reports a position">
          <p>Devices that send SenML lat and lon (as the simulator's tracker profile does) appear here.</p>
        </Empty>
      ) : (
        <CoordView markers={markers} label={`${markers.length} devices by position`} />
      )}
      <TileSetting />
    </>
  );
}

function TileSetting() {
  const [url, setUrl] = useState(mapTileUrl() ?? '');
  const [saved, setSaved] = useState(false);
  const valid = url === '' || /^https?:\/\/.*\{z\}.*\{x\}.*\{y\}/.test(url);
  return (
    <form
      class="row"
      style={{ marginTop: '10px' }}
      onSubmit={(e) => {
        e.preventDefault();
        if (!valid) return;
        setMapTileUrl(url.trim());
        setSaved(true);
      }}
    >
      <label>
        Tile server (optional, this browser){' '}
        <input
          name="tiles"
          size={48}
          placeholder="https://tiles.example/{z}/{x}/{y}.png"
          value={url}
          onInput={(e) => {
            setUrl(e.currentTarget.value);
            setSaved(false);
          }}
        />
      </label>
      <button type="submit" class="btn small" disabled={!valid}>
        Save
      </button>
      {!valid ? (
        <span class="field-error">
          needs http(s) and {'{z}'}, {'{x}'}, {'{y}'}
        </span>
      ) : null}
      {saved ? <span role="status">Saved in this browser.</span> : null}
    </form>
  );
}
