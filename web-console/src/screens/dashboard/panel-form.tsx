// Adds a panel: its kind, then the few fields that kind needs. Plain form controls, so
// it works from the keyboard; the fields are checked before the panel is added.

import { useState } from 'preact/hooks';
import { ErrorText } from '../../components/error-text.tsx';
import { Field } from '../../components/field.tsx';
import type { Panel } from '../../lib/dashboard.ts';

type Kind = Panel['kind'];

const KINDS: [Kind, string][] = [
  ['chart', 'Metric chart across devices'],
  ['count', 'Count of devices by status or tag'],
  ['events', 'Latest events'],
  ['value', 'Single value with thresholds'],
];

const list = (s: string) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
const optNum = (s: string) => (s.trim() === '' ? undefined : Number(s));

export function PanelForm({ onAdd }: { onAdd: (p: Panel) => void }) {
  const [kind, setKind] = useState<Kind>('chart');
  const [title, setTitle] = useState('');
  const [metric, setMetric] = useState('');
  const [devices, setDevices] = useState('');
  const [minutes, setMinutes] = useState('60');
  const [by, setBy] = useState<'status' | 'tag'>('status');
  const [limit, setLimit] = useState('10');
  const [warn, setWarn] = useState('');
  const [alarm, setAlarm] = useState('');
  const [below, setBelow] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);

  const build = (): Panel | string => {
    const t = title.trim();
    switch (kind) {
      case 'chart': {
        const ids = list(devices);
        const m = Number(minutes);
        if (metric.trim() === '') return 'name the metric';
        if (ids.length === 0 || ids.length > 20) return 'name 1 to 20 devices, comma-separated';
        if (!Number.isInteger(m) || m < 1 || m > 10_080) return 'minutes: a whole number from 1 to 10080 (7 days)';
        return { kind, title: t || metric.trim(), metric: metric.trim(), devices: ids, minutes: m };
      }
      case 'count':
        return { kind, title: t || `Devices by ${by}`, by };
      case 'events': {
        const n = Number(limit);
        if (!Number.isInteger(n) || n < 1 || n > 100) return 'events: a whole number from 1 to 100';
        return { kind, title: t || 'Latest events', limit: n };
      }
      case 'value': {
        const ids = list(devices);
        const w = optNum(warn);
        const a = optNum(alarm);
        if (ids.length !== 1) return 'name one device';
        if (metric.trim() === '') return 'name the metric';
        if ((w !== undefined && !Number.isFinite(w)) || (a !== undefined && !Number.isFinite(a))) return 'thresholds must be numbers';
        return {
          kind,
          title: t || `${ids[0]} ${metric.trim()}`,
          device: ids[0] as string,
          metric: metric.trim(),
          ...(w === undefined ? {} : { warn: w }),
          ...(a === undefined ? {} : { alarm: a }),
          ...(below ? { below } : {}),
        };
      }
    }
  };

  return (
    <form
      class="panel form"
      aria-label="Add a panel"
      onSubmit={(e) => {
        e.preventDefault();
        const p = build();
        if (typeof p === 'string') return setError(p);
        setError(undefined);
        onAdd(p);
        setTitle('');
      }}
    >
      <h2 style={{ marginTop: 0 }}>Add a panel</h2>
      <Field label="Kind">
        {(a) => (
          <select {...a} name="panel-kind" value={kind} onChange={(e) => setKind(e.currentTarget.value as Kind)}>
            {KINDS.map(([k, label]) => (
              <option key={k} value={k}>
                {label}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field label="Title (optional)">
        {(a) => <input {...a} name="panel-title" value={title} maxLength={128} onInput={(e) => setTitle(e.currentTarget.value)} />}
      </Field>
      {kind === 'chart' || kind === 'value' ? (
        <>
          <Field label={kind === 'chart' ? 'Devices' : 'Device'} hint={kind === 'chart' ? 'Comma-separated ids, up to 20' : undefined}>
            {(a) => (
              <input {...a} name="panel-devices" value={devices} spellcheck={false} onInput={(e) => setDevices(e.currentTarget.value)} />
            )}
          </Field>
          <Field label="Metric" hint="As the device names it, e.g. temperature">
            {(a) => (
              <input {...a} name="panel-metric" value={metric} spellcheck={false} onInput={(e) => setMetric(e.currentTarget.value)} />
            )}
          </Field>
        </>
      ) : null}
      {kind === 'chart' ? (
        <Field label="Minutes back">
          {(a) => (
            <input
              {...a}
              name="panel-minutes"
              type="number"
              min={1}
              max={10080}
              value={minutes}
              onInput={(e) => setMinutes(e.currentTarget.value)}
            />
          )}
        </Field>
      ) : null}
      {kind === 'count' ? (
        <Field label="Count by">
          {(a) => (
            <select {...a} name="panel-by" value={by} onChange={(e) => setBy(e.currentTarget.value as 'status' | 'tag')}>
              <option value="status">status</option>
              <option value="tag">tag</option>
            </select>
          )}
        </Field>
      ) : null}
      {kind === 'events' ? (
        <Field label="Events shown">
          {(a) => (
            <input
              {...a}
              name="panel-limit"
              type="number"
              min={1}
              max={100}
              value={limit}
              onInput={(e) => setLimit(e.currentTarget.value)}
            />
          )}
        </Field>
      ) : null}
      {kind === 'value' ? (
        <>
          <Field label="Warning at (optional)">
            {(a) => <input {...a} name="panel-warn" inputMode="decimal" value={warn} onInput={(e) => setWarn(e.currentTarget.value)} />}
          </Field>
          <Field label="Alarm at (optional)">
            {(a) => <input {...a} name="panel-alarm" inputMode="decimal" value={alarm} onInput={(e) => setAlarm(e.currentTarget.value)} />}
          </Field>
          <label class="row">
            <input type="checkbox" name="panel-below" checked={below} onChange={(e) => setBelow(e.currentTarget.checked)} /> Thresholds are
            lower limits (alarm when the value falls to them)
          </label>
        </>
      ) : null}
      <ErrorText error={error} />
      <button type="submit" class="btn primary">
        Add panel
      </button>
    </form>
  );
}
