// Telemetry: latest values as big numbers, one chart per metric with a shared cursor,
// a range picker with a live mode that slides and appends, and drag-to-zoom that
// refetches finer buckets for the chosen span.

import { useEffect, useState } from 'preact/hooks';
import { Chart } from '../../components/chart.tsx';
import { Empty } from '../../components/empty.tsx';
import { ErrorText } from '../../components/error-text.tsx';
import { ago, num, span, timestamp, unit } from '../../lib/format.ts';
import { useNow } from '../../lib/hooks.ts';
import type { Latest, Series } from '../../lib/series.ts';
import { useApp } from '../../state/app-context.ts';
import { type Range, useTelemetry } from './use-telemetry.ts';

const RANGES: [string, number][] = [
  ['5 min', 5 * 60_000],
  ['15 min', 15 * 60_000],
  ['1 h', 3_600_000],
  ['6 h', 6 * 3_600_000],
  ['24 h', 86_400_000],
  ['7 d', 7 * 86_400_000],
];

/** Follows the system's colour scheme, so charts rebuild with the right colours. */
function useScheme(): string {
  const q = matchMedia('(prefers-color-scheme: dark)');
  const [dark, setDark] = useState(q.matches);
  useEffect(() => {
    const fn = () => setDark(q.matches);
    q.addEventListener('change', fn);
    return () => q.removeEventListener('change', fn);
  }, [q]);
  return dark ? 'dark' : 'light';
}

function show(l: Latest): string {
  return typeof l.value === 'number' ? num(l.value) : String(l.value);
}

export function TelemetryTab({ id }: { id: string }) {
  const { channel } = useApp();
  const [windowMs, setWindowMs] = useState(15 * 60_000);
  const [live, setLive] = useState(true);
  const [zoom, setZoom] = useState<[number, number] | undefined>(undefined);
  const [fixedTo, setFixedTo] = useState(() => Date.now());
  const now = useNow();
  const scheme = useScheme();

  const range: Range = zoom
    ? { kind: 'fixed', from: zoom[0], to: zoom[1] }
    : live
      ? { kind: 'live', windowMs }
      : { kind: 'fixed', from: fixedTo - windowMs, to: fixedTo };
  const t = useTelemetry(channel, id, range);
  const visible: [number, number] = range.kind === 'live' ? [now - range.windowMs, now] : [range.from, range.to];
  const charted = t.series.filter((s) => s.kind !== 'text' && s.xs.length > 0);
  const latest = [...t.latest.entries()].sort(([a], [b]) => a.localeCompare(b));

  return (
    <section aria-label="Telemetry">
      <div class="toolbar">
        <fieldset class="ranges">
          <legend class="sr-only">Time range</legend>
          {RANGES.map(([label, ms]) => (
            <button
              key={label}
              type="button"
              aria-pressed={!zoom && windowMs === ms}
              onClick={() => {
                setZoom(undefined);
                setWindowMs(ms);
                setFixedTo(Date.now());
              }}
            >
              {label}
            </button>
          ))}
        </fieldset>
        <label class="row">
          <input
            type="checkbox"
            checked={live && !zoom}
            onChange={(e) => {
              setZoom(undefined);
              setLive(e.currentTarget.checked);
              setFixedTo(Date.now());
            }}
          />
          Live
        </label>
        {zoom ? (
          <button type="button" class="btn small" onClick={() => setZoom(undefined)}>
            Reset zoom ({timestamp(zoom[0])} – {timestamp(zoom[1])})
          </button>
        ) : null}
        <span class="muted">
          {t.bucket === undefined ? 'raw points' : `averages per ${span(t.bucket)}`}
          {t.loading ? ' · loading…' : ''} · drag across a chart to zoom
        </span>
      </div>
      <ErrorText error={t.error} />

      {latest.length > 0 ? (
        <section class="latest" aria-label="Latest values">
          {latest.map(([name, l]) => (
            <div key={name} class="big panel" data-metric={name}>
              <div class="name">{name}</div>
              <div class="value">
                {show(l.latest)} <span class="muted">{unit(l.unit)}</span>
              </div>
              <div class="name">{ago(l.latest.time, now)}</div>
            </div>
          ))}
        </section>
      ) : null}

      {charted.length === 0 && !t.loading ? (
        <Empty title="No telemetry in this range">
          <p>Values appear here as soon as the device sends them; widen the range to see older data.</p>
        </Empty>
      ) : null}
      {charted.map((s, i) => (
        <MetricChart key={s.name} s={s} index={i} id={id} visible={visible} scheme={scheme} onZoom={(from, to) => setZoom([from, to])} />
      ))}
    </section>
  );
}

function MetricChart(props: {
  s: Series;
  index: number;
  id: string;
  visible: [number, number];
  scheme: string;
  onZoom: (from: number, to: number) => void;
}) {
  const { s, index, id, visible, scheme, onZoom } = props;
  return (
    <div class="chart-block" data-chart={s.name} data-points={s.xs.length}>
      <h3>
        {s.name} <span class="muted">{unit(s.unit)}</span>
      </h3>
      <Chart
        label={`${s.name} over time`}
        lines={[{ label: s.name, xs: s.xs, ys: s.ys, color: `var(--line-${(index % 4) + 1})` }]}
        range={visible}
        syncKey={`device:${id}`}
        unit={unit(s.unit)}
        stepped={s.kind === 'bool'}
        theme={scheme}
        onZoom={onZoom}
      />
    </div>
  );
}
