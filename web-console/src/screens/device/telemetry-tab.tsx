// Telemetry: latest values as big numbers, one chart per metric with a shared cursor
// and a readout of the values under it, a range picker with a live mode that slides
// and appends, a custom range, and drag-to-zoom that refetches finer buckets for it.

import type { ProfileMetric } from '@halyard/firmware-protocol';
import { useEffect, useState } from 'preact/hooks';
import { alarmRules, exportUrl } from '../../api/endpoints.ts';
import { Chart } from '../../components/chart.tsx';
import { DownloadLink } from '../../components/download-link.tsx';
import { Empty } from '../../components/empty.tsx';
import { ErrorText } from '../../components/error-text.tsx';
import { RangeForm } from '../../components/range-form.tsx';
import { alarmMarks, alarmOnChart, type ChartMark, rulesMetrics } from '../../lib/alarms.ts';
import { chartData } from '../../lib/chart-data.ts';
import { ago, duration, numWith, timestamp } from '../../lib/format.ts';
import { useNow } from '../../lib/hooks.ts';
import { navigate, useLocation } from '../../lib/router.tsx';
import type { Latest, Series } from '../../lib/series.ts';
import { parseRange, parseSpan, RANGES, rangeSearch, spanSearch } from '../../lib/time-range.ts';
import { displayUnit } from '../../lib/units.ts';
import { useAlarmList } from '../../state/alarms.ts';
import { useApp } from '../../state/app-context.ts';
import { useModelProfile } from '../../state/model-profiles.ts';
import { PositionTrail } from './position-trail.tsx';
import { type Range, useTelemetry } from './use-telemetry.ts';

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

/** A latest value with its unit, scaled like its chart ("2.03 MWh"); booleans as on/off. */
function show(l: Latest, u: string | null, decimals?: number): [string, string] {
  if (typeof l.value === 'boolean') return [l.value ? 'on' : 'off', ''];
  if (typeof l.value !== 'number') return [String(l.value), ''];
  const d = displayUnit(u, l.value);
  return [numWith(l.value * d.factor, decimals), d.unit];
}

/** Which metric each alarm rule watches (empty until loaded, or if the rules cannot be read: then every mark is on every chart). */
function useRuleMetrics(): ReadonlyMap<string, string> {
  const [m, setM] = useState<ReadonlyMap<string, string>>(new Map());
  useEffect(() => {
    let live = true;
    alarmRules.list().then(
      (r) => live && setM(rulesMetrics(r.rules)),
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, []);
  return m;
}

export function TelemetryTab({ id }: { id: string }) {
  const { channel, fleet } = useApp();
  // The model's profile may name a metric's unit (when the device sends none, or
  // another), its decimals and a label.
  const metrics = useModelProfile(fleet.get(id)?.model)?.metrics ?? [];
  const spec = (name: string) => metrics.find((m) => m.name === name);
  // The window (?range=7d) and a custom range or zoom (?from=…&to=…) come from the URL,
  // so a reload or a shared link opens on them; a change replaces the URL rather than
  // adding a history entry per click.
  const loc = useLocation();
  const windowMs = parseRange(loc.search);
  const zoom = parseSpan(loc.search);
  const setView = (ms: number, span: [number, number] | undefined) =>
    navigate(`${loc.path}${spanSearch(rangeSearch(loc.search, ms), span)}`, { replace: true });
  const setZoom = (span: [number, number] | undefined) => setView(windowMs, span);
  const [live, setLive] = useState(true);
  const [fixedTo, setFixedTo] = useState(() => Date.now());
  const [custom, setCustom] = useState(false);
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
  // Each chart marks when the device's alarms were raised and cleared in the visible
  // range: an alarm of a rule on a metric on that metric's chart only, the others on all.
  const alarms = useAlarmList(id).list;
  const ruleMetric = useRuleMetrics();
  const marksOf = (metric: string) => alarmMarks(alarms, visible[0], visible[1], (a) => alarmOnChart(a, metric, ruleMetric));
  const latest = [...t.latest.entries()].sort(([a], [b]) => a.localeCompare(b));

  return (
    <section aria-label="Telemetry">
      <div class="toolbar">
        <fieldset class="ranges">
          <legend class="sr-only">Time range</legend>
          {RANGES.map(({ label, ms }) => (
            <button
              key={label}
              type="button"
              aria-pressed={!zoom && windowMs === ms}
              onClick={() => {
                setView(ms, undefined);
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
        <button type="button" class="btn small" aria-expanded={custom} onClick={() => setCustom(!custom)}>
          Custom range…
        </button>
        {zoom ? (
          <button type="button" class="btn small" onClick={() => setZoom(undefined)}>
            Reset zoom ({timestamp(zoom[0])} – {timestamp(zoom[1])})
          </button>
        ) : null}
        <DownloadLink href={rawExport(id, visible)} />
        <span class="muted">
          {t.bucket === undefined ? 'raw points' : `averages per ${duration(t.bucket)} with min–max band`}
          {t.loading ? ' · loading…' : ''} · drag across a chart to zoom
        </span>
      </div>
      {custom ? (
        <RangeForm
          from={visible[0]}
          to={visible[1]}
          onApply={(from, to) => {
            setZoom([from, to]);
            setCustom(false);
          }}
        />
      ) : null}
      <ErrorText error={t.error} />

      {latest.length > 0 ? (
        <section class="latest" aria-label="Latest values">
          {latest.map(([name, l]) => (
            <div key={name} class="big panel" data-metric={name}>
              <div class="name">{spec(name)?.label ?? name}</div>
              <div class="value">
                {show(l.latest, spec(name)?.unit ?? l.unit, spec(name)?.decimals)[0]}{' '}
                <span class="muted">{show(l.latest, spec(name)?.unit ?? l.unit, spec(name)?.decimals)[1]}</span>
              </div>
              <div class="name">{ago(l.latest.time, now)}</div>
            </div>
          ))}
        </section>
      ) : null}

      <PositionTrail id={id} series={t.series} />
      {charted.length === 0 && !t.loading ? (
        <Empty title="No telemetry in this range">
          <p>Values appear here as soon as the device sends them; widen the range to see older data.</p>
        </Empty>
      ) : null}
      {charted.map((s, i) => (
        <MetricChart
          key={s.name}
          s={s}
          spec={spec(s.name)}
          bucket={t.bucket}
          index={i}
          id={id}
          visible={visible}
          scheme={scheme}
          marks={marksOf(s.name)}
          onZoom={(from, to) => setZoom([from, to])}
        />
      ))}
    </section>
  );
}

/** Every raw point in the range shown (the chart may show buckets), as CSV. */
function rawExport(id: string, [from, to]: [number, number], name?: string): string {
  return exportUrl(`/devices/${encodeURIComponent(id)}/telemetry/export`, { from: Math.floor(from), to: Math.ceil(to), name });
}

function MetricChart(props: {
  s: Series;
  spec: ProfileMetric | undefined;
  bucket: number | undefined;
  index: number;
  id: string;
  visible: [number, number];
  scheme: string;
  marks: ChartMark[];
  onZoom: (from: number, to: number) => void;
}) {
  const { s, spec, bucket, index, id, visible, scheme, marks, onZoom } = props;
  const data = chartData(spec?.unit === undefined ? s : { ...s, unit: spec.unit }, bucket);
  return (
    <div class="chart-block" data-chart={s.name} data-points={s.xs.length} data-unit={data.unit.unit}>
      <h3 class="row">
        {spec?.label ?? s.name} <span class="muted">{data.unit.unit}</span>
        <span class="spacer" />
        <DownloadLink href={rawExport(id, visible, s.name)} />
      </h3>
      <Chart
        label={`${s.name} over time`}
        lines={[{ label: s.name, xs: data.xs, ys: data.ys, lo: data.lo, hi: data.hi, color: `var(--line-${(index % 4) + 1})` }]}
        range={visible}
        syncKey={`device:${id}`}
        unit={data.unit.unit}
        decimals={spec?.decimals}
        bool={s.kind === 'bool'}
        theme={scheme}
        marks={marks}
        onZoom={onZoom}
      />
    </div>
  );
}
