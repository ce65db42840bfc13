// One latest value in a table cell: the value with its unit, and how old it is (a
// value from an hour ago is not the device's state now: the age says so in words).

import { ago, num } from '../lib/format.ts';
import { unitText } from '../lib/units.ts';
import type { Latest } from '../state/latest-store.ts';

/** Older than this, the value is shown muted as well as with its age. */
const OLD_MS = 5 * 60_000;

export function latestText(l: Latest): string {
  const v = typeof l.v === 'number' ? num(l.v) : typeof l.v === 'boolean' ? (l.v ? 'on' : 'off') : l.v;
  const u = unitText(l.unit);
  return u === '' ? v : `${v} ${u}`;
}

export function LatestCell({ l, now, metric }: { l: Latest | undefined; now: number; metric: string }) {
  if (l === undefined) return <span class="cell hide-narrow muted" data-metric={metric} />;
  const old = now - l.t > OLD_MS;
  return (
    <span
      class={`cell hide-narrow num${old ? ' muted' : ''}`}
      data-metric={metric}
      title={`${metric} at ${new Date(l.t).toLocaleString()}`}
    >
      {latestText(l)} <small class="age">{ago(l.t, now)}</small>
    </span>
  );
}
