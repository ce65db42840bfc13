// Alarm rules: listed for everyone, written by operators in a form that covers every
// condition (README.md § Alarms and notifications); durations as the hub takes them
// ("10s", "5m"). The hub validates; its refusal is shown in words, naming the field.

import { ALARM_COMMAND_STATES, type AlarmRule, type AlarmSeverity } from '@halyard/firmware-protocol';
import { useEffect, useRef, useState } from 'preact/hooks';
import { alarmRules, type RuleInput } from '../../api/endpoints.ts';
import { AskOnce } from '../../components/confirm.tsx';
import { Empty } from '../../components/empty.tsx';
import { ErrorText } from '../../components/error-text.tsx';
import { ruleText, SEVERITIES, SEVERITY_TONE } from '../../lib/alarms.ts';
import { markFieldError } from '../../lib/field-error.ts';
import { duration } from '../../lib/format.ts';
import { useCan } from '../../state/app-context.ts';

type Kind = AlarmRule['condition']['kind'];
const KINDS: [Kind, string][] = [
  ['metric', 'a metric out of range'],
  ['no_data', 'no data from a metric'],
  ['offline', 'device offline'],
  ['event', 'an event'],
  ['command', 'a command failed or timed out'],
  ['twin', 'a desired value not applied'],
];

/** The form's fields, all text as typed. */
interface Draft {
  name: string;
  severity: AlarmSeverity;
  enabled: boolean;
  devices: string;
  tags: string;
  model: string;
  kind: Kind;
  metric: string;
  above: string;
  below: string;
  forText: string;
  hysteresis: string;
  eventName: string;
  minLevel: string;
  clearName: string;
  commandName: string;
  states: string[];
  key: string;
  within: string;
  minDuration: string;
}

const EMPTY: Draft = {
  name: '',
  severity: 'major',
  enabled: true,
  devices: '',
  tags: '',
  model: '',
  kind: 'metric',
  metric: '',
  above: '',
  below: '',
  forText: '0',
  hysteresis: '0',
  eventName: '',
  minLevel: '0',
  clearName: '',
  commandName: '',
  states: ['failed', 'timed_out'],
  key: '',
  within: '1m',
  minDuration: '0',
};

const ms = (v: number) => (v === 0 ? '0' : duration(v).replace(' min', 'm').replace(' ', ''));

function draftOf(r: AlarmRule): Draft {
  const c = r.condition;
  const d: Draft = {
    ...EMPTY,
    name: r.name,
    severity: r.severity,
    enabled: r.enabled,
    devices: (r.selector.devices ?? []).join(', '),
    tags: (r.selector.tags ?? []).join(', '),
    model: r.selector.model ?? '',
    kind: c.kind,
    minDuration: ms(r.minDuration),
  };
  if (c.kind === 'metric')
    Object.assign(d, {
      metric: c.metric,
      above: c.above === undefined ? '' : String(c.above),
      below: c.below === undefined ? '' : String(c.below),
      forText: ms(c.for),
      hysteresis: String(c.hysteresis),
    });
  if (c.kind === 'no_data') Object.assign(d, { metric: c.metric, forText: ms(c.for) });
  if (c.kind === 'offline') d.forText = ms(c.for);
  if (c.kind === 'event') Object.assign(d, { eventName: c.name ?? '', minLevel: String(c.minLevel), clearName: c.clearName ?? '' });
  if (c.kind === 'command') Object.assign(d, { commandName: c.name ?? '', states: [...c.states] });
  if (c.kind === 'twin') Object.assign(d, { key: c.key, within: ms(c.within) });
  return d;
}

const list = (s: string) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '');
const numberOr = (s: string) => (s.trim() === '' ? undefined : Number(s));
const durationOf = (s: string) => (/^\d+$/.test(s.trim()) ? Number(s) : s.trim());

function inputOf(d: Draft): RuleInput {
  const opt = <T,>(k: string, v: T | undefined | '') => (v === undefined || v === '' ? {} : { [k]: v });
  const conditions: Record<Kind, Record<string, unknown>> = {
    metric: {
      metric: d.metric,
      ...opt('above', numberOr(d.above)),
      ...opt('below', numberOr(d.below)),
      for: durationOf(d.forText),
      hysteresis: Number(d.hysteresis || 0),
    },
    no_data: { metric: d.metric, for: durationOf(d.forText) },
    offline: { for: durationOf(d.forText) },
    event: { ...opt('name', d.eventName.trim()), minLevel: Number(d.minLevel || 0), ...opt('clearName', d.clearName.trim()) },
    command: { ...opt('name', d.commandName.trim()), states: d.states },
    twin: { key: d.key, within: durationOf(d.within) },
  };
  const devices = list(d.devices);
  const tags = list(d.tags);
  return {
    name: d.name,
    severity: d.severity,
    enabled: d.enabled,
    selector: { ...(devices.length ? { devices } : {}), ...(tags.length ? { tags } : {}), ...opt('model', d.model.trim()) },
    condition: { kind: d.kind, ...conditions[d.kind] },
    minDuration: durationOf(d.minDuration),
  };
}

export function RulesTab() {
  const canEdit = useCan('operator');
  const [rules, setRules] = useState<AlarmRule[] | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [editing, setEditing] = useState<AlarmRule | 'new' | undefined>(undefined);
  const load = () =>
    alarmRules.list().then(
      (r) => {
        setRules(r.rules);
        setError(undefined);
      },
      (err: unknown) => setError(err),
    );
  useEffect(() => {
    void load();
  }, []);
  const remove = async (id: string) => {
    try {
      await alarmRules.remove(id);
      await load();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <section aria-label="Alarm rules">
      {canEdit && editing === undefined ? (
        <div class="toolbar">
          <button type="button" class="btn primary" onClick={() => setEditing('new')}>
            New rule
          </button>
        </div>
      ) : null}
      {editing !== undefined ? (
        <RuleForm
          rule={editing === 'new' ? undefined : editing}
          onDone={() => {
            setEditing(undefined);
            void load();
          }}
        />
      ) : null}
      <ErrorText error={error} />
      {rules === undefined ? (
        <p class="muted">Loading…</p>
      ) : rules.length === 0 ? (
        <Empty title="No alarm rules yet">
          <p>A rule selects devices (by id, tag or model) and says when to raise an alarm: e.g. temperature above 30 for 10s.</p>
        </Empty>
      ) : (
        <div class="scroll-x">
          <table class="list" aria-label="Alarm rules">
            <thead>
              <tr>
                <th>Rule</th>
                <th>Severity</th>
                <th>When</th>
                <th>Enabled</th>
                {canEdit ? <th>Actions</th> : null}
              </tr>
            </thead>
            <tbody>
              {rules.map((r) => (
                <tr key={r.id} data-rule={r.name}>
                  <td>{r.name}</td>
                  <td>
                    <span class={`badge tone-${SEVERITY_TONE[r.severity]}`}>{r.severity}</span>
                  </td>
                  <td>{ruleText(r)}</td>
                  <td>{r.enabled ? 'yes' : 'no'}</td>
                  {canEdit ? (
                    <td>
                      <span class="row">
                        <button type="button" class="btn small" onClick={() => setEditing(r)}>
                          Edit
                        </button>
                        <AskOnce
                          small
                          label="Delete…"
                          action={`Delete "${r.name}" and clear its alarms`}
                          onConfirm={() => void remove(r.id)}
                        />
                      </span>
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function RuleForm({ rule, onDone }: { rule: AlarmRule | undefined; onDone: () => void }) {
  const [d, setD] = useState<Draft>(() => (rule === undefined ? EMPTY : draftOf(rule)));
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const set = (patch: Partial<Draft>) => setD((x) => ({ ...x, ...patch }));
  // Opened by "New rule" or "Edit": the first box takes the focus.
  const form = useRef<HTMLFormElement>(null);
  useEffect(() => form.current?.querySelector('input')?.focus(), []);
  const text = (label: string, k: keyof Draft, placeholder = '') => (
    <label>
      {label}
      <input
        type="text"
        name={k}
        placeholder={placeholder}
        value={d[k] as string}
        onInput={(e) => set({ [k]: e.currentTarget.value } as Partial<Draft>)}
      />
    </label>
  );
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      if (rule === undefined) await alarmRules.create(inputOf(d));
      else await alarmRules.update(rule.id, inputOf(d));
      onDone();
    } catch (err) {
      setError(err);
      markFieldError(form.current, err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form ref={form} class="form panel" onSubmit={submit} aria-label={rule === undefined ? 'New alarm rule' : `Edit rule ${rule.name}`}>
      <div class="grid-2">
        {text('Name', 'name', 'Too hot')}
        <label>
          Severity
          <select name="severity" value={d.severity} onChange={(e) => set({ severity: e.currentTarget.value as AlarmSeverity })}>
            {SEVERITIES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        {text('Devices (ids, comma-separated; empty: any)', 'devices')}
        {text('Tags (all of them; comma-separated)', 'tags')}
        {text('Model', 'model')}
        <label>
          Raise when
          <select name="kind" value={d.kind} onChange={(e) => set({ kind: e.currentTarget.value as Kind })}>
            {KINDS.map(([k, label]) => (
              <option key={k} value={k}>
                {label}
              </option>
            ))}
          </select>
        </label>
        {d.kind === 'metric' || d.kind === 'no_data' ? text('Metric', 'metric', 'temperature') : null}
        {d.kind === 'metric' ? (
          <>
            {text('Above', 'above', '30')}
            {text('Below', 'below')}
            {text('Hysteresis (clears this far back inside)', 'hysteresis')}
          </>
        ) : null}
        {d.kind === 'metric' || d.kind === 'no_data' || d.kind === 'offline' ? text('For (e.g. 10s, 5m)', 'forText') : null}
        {d.kind === 'event' ? (
          <>
            {text('Event name (empty: any)', 'eventName', 'overheat')}
            {text('Level at least (0-3)', 'minLevel')}
            {text('Cleared by the event', 'clearName', 'cooled')}
          </>
        ) : null}
        {d.kind === 'command' ? (
          <>
            {text('Command name (empty: any)', 'commandName')}
            <fieldset>
              <legend>Ending in</legend>
              {ALARM_COMMAND_STATES.map((s) => (
                <label key={s} class="row">
                  <input
                    type="checkbox"
                    checked={d.states.includes(s)}
                    onChange={(e) => set({ states: e.currentTarget.checked ? [...d.states, s] : d.states.filter((x) => x !== s) })}
                  />
                  {s.replace('_', ' ')}
                </label>
              ))}
            </fieldset>
          </>
        ) : null}
        {d.kind === 'twin' ? (
          <>
            {text('Desired key', 'key', 'setpoint')}
            {text('Within (e.g. 1m)', 'within')}
          </>
        ) : null}
        {text('Stays raised at least (damps flapping)', 'minDuration')}
        <label class="row">
          <input type="checkbox" name="enabled" checked={d.enabled} onChange={(e) => set({ enabled: e.currentTarget.checked })} />
          Enabled
        </label>
      </div>
      <ErrorText error={error} />
      <div class="row">
        <button type="submit" class="btn primary" disabled={busy}>
          {rule === undefined ? 'Create rule' : 'Save rule'}
        </button>
        <button type="button" class="btn" onClick={onDone}>
          Cancel
        </button>
      </div>
    </form>
  );
}
