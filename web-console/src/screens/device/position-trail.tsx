// A device's trail: its positions in the telemetry tab's range on the coordinate view,
// with where it is now, for devices that report SenML lat/lon.

import { CoordView } from '../../components/coord-view.tsx';
import { deviceStatus } from '../../lib/fleet-query.ts';
import { isLat, isLon, trailOf } from '../../lib/positions.ts';
import type { Series } from '../../lib/series.ts';
import { useApp } from '../../state/app-context.ts';

export function PositionTrail({ id, series }: { id: string; series: readonly Series[] }) {
  const d = useApp().fleet.get(id);
  const status = d === undefined ? 'offline' : deviceStatus(d);
  const lat = series.find((s) => isLat(s.name, s.unit));
  const lon = series.find((s) => isLon(s.name, s.unit));
  if (lat === undefined || lon === undefined) return null;
  const trail = trailOf(lat, lon);
  const last = trail[trail.length - 1];
  if (last === undefined) return null;
  return (
    <section aria-label="Position" class="chart-block">
      <h3>
        Position <span class="muted">{trail.length} points in this range</span>
      </h3>
      <CoordView
        markers={[
          {
            id,
            ...last,
            tone: status === 'online' ? 'good' : status === 'revoked' ? 'bad' : 'off',
            label: `${status}; last position in this range`,
          },
        ]}
        trail={trail}
        label={`${id}'s trail`}
      />
    </section>
  );
}
