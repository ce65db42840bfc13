// A model's profile (README.md § HTTP API, model profiles): the commands it carries
// out with a form for their parameters, its metrics' units and formats, its desired
// keys. Operators edit it; viewers read it. Commands that devices of the model
// declared in HELLO caps and the profile does not describe yet are offered to add.

import type { ProfileValueType } from '@halyard/firmware-protocol';
import { useEffect, useState } from 'preact/hooks';
import { models } from '../api/endpoints.ts';
import { ApiError, errorText } from '../api/http.ts';
import { commandsFromCaps } from '../lib/command-outcome.ts';
import { ago } from '../lib/format.ts';
import { useNow, useSubscribe } from '../lib/hooks.ts';
import {
  type CommandDraft,
  emptyCommand,
  emptyField,
  emptyMetric,
  type FieldDraft,
  fromDraft,
  type MetricDraft,
  type ProfileDraft,
  pathInWords,
  toDraft,
  undescribed,
} from '../lib/profile-draft.ts';
import { useTitle } from '../lib/title.ts';
import { useApp, useCan } from '../state/app-context.ts';
import { rememberProfile, useModelProfile } from '../state/model-profiles.ts';

const TYPES: ProfileValueType[] = ['number', 'string', 'boolean', 'enum'];

export function ModelProfileScreen({ model }: { model: string }) {
  useTitle(`${model} profile`);
  const { fleet } = useApp();
  useSubscribe(fleet.subscribe);
  const canEdit = useCan('operator');
  const now = useNow();
  const profile = useModelProfile(model);
  const [draft, setDraft] = useState<ProfileDraft | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const [saved, setSaved] = useState(false);
  // The form starts from the stored profile once it is here.
  useEffect(() => {
    if (profile !== undefined && draft === undefined) setDraft(toDraft(profile));
  }, [profile, draft]);

  if (draft === undefined || profile === undefined) return <p class="muted">Loading the profile of {model}…</p>;

  const declared = new Set<string>();
  let devices = 0;
  for (const d of fleet.values()) {
    if (d.model !== model) continue;
    devices++;
    for (const c of commandsFromCaps(d.caps)) declared.add(c);
  }
  const missing = undescribed(declared, draft);
  const edit = (f: (d: ProfileDraft) => ProfileDraft) => {
    setSaved(false);
    setDraft((d) => (d === undefined ? d : f(d)));
  };

  const save = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const p = await models.save(model, fromDraft(draft));
      rememberProfile(p);
      setDraft(toDraft(p));
      setSaved(true);
    } catch (err) {
      setError(err instanceof ApiError && err.field ? `${pathInWords(err.field, draft)}: ${err.message}` : errorText(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="profile-editor" aria-label={`Profile of ${model}`} onSubmit={save}>
      <h1>
        Model <span class="mono">{model}</span>
      </h1>
      <p class="muted">
        {profile.updatedAt === null
          ? 'Nobody has described this model yet.'
          : `Last changed by ${profile.updatedBy} ${ago(profile.updatedAt, now)}.`}{' '}
        {devices} device{devices === 1 ? '' : 's'} of this model in the fleet. The command form and the twin editor of its devices use this
        profile, and their charts its units and decimals.
      </p>
      <fieldset disabled={!canEdit || busy} class="profile-sections">
        <section aria-label="Commands">
          <h2>Commands</h2>
          {missing.length > 0 ? (
            <p data-testid="declared-commands">
              Declared by devices of this model, not described here yet:{' '}
              {missing.map((n) => (
                <button
                  key={n}
                  type="button"
                  class="btn small"
                  onClick={() => edit((d) => ({ ...d, commands: [...d.commands, emptyCommand(n)] }))}
                >
                  Add {n}
                </button>
              ))}
            </p>
          ) : null}
          {draft.commands.map((c, i) => (
            <CommandEditor
              key={i}
              c={c}
              index={i}
              onChange={(next) => edit((d) => ({ ...d, commands: d.commands.map((x, j) => (j === i ? next : x)) }))}
              onRemove={() => edit((d) => ({ ...d, commands: d.commands.filter((_, j) => j !== i) }))}
            />
          ))}
          <button type="button" class="btn small" onClick={() => edit((d) => ({ ...d, commands: [...d.commands, emptyCommand()] }))}>
            Add a command
          </button>
        </section>

        <section aria-label="Metrics">
          <h2>Metrics</h2>
          <p class="muted">How charts and latest values show a metric: its unit (SenML, e.g. Cel, %RH, W), decimals and label.</p>
          {draft.metrics.map((m, i) => (
            <MetricRow
              key={i}
              m={m}
              index={i}
              onChange={(next) => edit((d) => ({ ...d, metrics: d.metrics.map((x, j) => (j === i ? next : x)) }))}
              onRemove={() => edit((d) => ({ ...d, metrics: d.metrics.filter((_, j) => j !== i) }))}
            />
          ))}
          <button type="button" class="btn small" onClick={() => edit((d) => ({ ...d, metrics: [...d.metrics, emptyMetric()] }))}>
            Add a metric
          </button>
        </section>

        <section aria-label="Desired keys">
          <h2>Desired keys</h2>
          <p class="muted">The keys of the twin's desired document this model understands; the twin editor checks them.</p>
          {draft.desired.map((f, i) => (
            <FieldRow
              key={i}
              f={f}
              what={`Desired key ${i + 1}`}
              onChange={(next) => edit((d) => ({ ...d, desired: d.desired.map((x, j) => (j === i ? next : x)) }))}
              onRemove={() => edit((d) => ({ ...d, desired: d.desired.filter((_, j) => j !== i) }))}
            />
          ))}
          <button type="button" class="btn small" onClick={() => edit((d) => ({ ...d, desired: [...d.desired, emptyField()] }))}>
            Add a desired key
          </button>
        </section>
      </fieldset>
      {error ? (
        <p class="error" role="alert">
          The profile was not saved: {error}
        </p>
      ) : null}
      {saved ? <p role="status">Saved.</p> : null}
      {canEdit ? (
        <button type="submit" class="btn primary" disabled={busy}>
          {busy ? 'Saving…' : 'Save profile'}
        </button>
      ) : (
        <p class="muted">Operators and admins edit profiles.</p>
      )}
    </form>
  );
}

function CommandEditor({
  c,
  index,
  onChange,
  onRemove,
}: {
  c: CommandDraft;
  index: number;
  onChange: (c: CommandDraft) => void;
  onRemove: () => void;
}) {
  const what = `Command ${c.name || index + 1}`;
  return (
    <div class="panel profile-command" data-command={c.name}>
      <div class="row">
        <label>
          Name
          <input value={c.name} aria-label={`Command ${index + 1} name`} onInput={(e) => onChange({ ...c, name: e.currentTarget.value })} />
        </label>
        <label class="grow">
          Description
          <input
            value={c.description}
            aria-label={`${what} description`}
            onInput={(e) => onChange({ ...c, description: e.currentTarget.value })}
          />
        </label>
        <button type="button" class="btn small" aria-label={`Remove ${what.toLowerCase()}`} onClick={onRemove}>
          Remove
        </button>
      </div>
      {c.params.map((p, j) => (
        <FieldRow
          key={j}
          f={p}
          what={`${what} parameter ${j + 1}`}
          onChange={(next) => onChange({ ...c, params: c.params.map((x, k) => (k === j ? next : x)) })}
          onRemove={() => onChange({ ...c, params: c.params.filter((_, k) => k !== j) })}
        />
      ))}
      <button type="button" class="btn small" onClick={() => onChange({ ...c, params: [...c.params, emptyField()] })}>
        Add a parameter to {c.name || 'this command'}
      </button>
    </div>
  );
}

/** A parameter or desired key: name, type, range (numbers), values (enums), unit, required. */
function FieldRow({
  f,
  what,
  onChange,
  onRemove,
}: {
  f: FieldDraft;
  what: string;
  onChange: (f: FieldDraft) => void;
  onRemove: () => void;
}) {
  return (
    <div class="row profile-field" data-field={f.name}>
      <label>
        Name
        <input value={f.name} aria-label={`${what} name`} onInput={(e) => onChange({ ...f, name: e.currentTarget.value })} />
      </label>
      <label>
        Type
        <select
          value={f.type}
          aria-label={`${what} type`}
          onChange={(e) => onChange({ ...f, type: e.currentTarget.value as ProfileValueType })}
        >
          {TYPES.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>
      </label>
      {f.type === 'number' ? (
        <>
          <label>
            Min
            <input
              size={6}
              inputMode="decimal"
              value={f.min}
              aria-label={`${what} min`}
              onInput={(e) => onChange({ ...f, min: e.currentTarget.value })}
            />
          </label>
          <label>
            Max
            <input
              size={6}
              inputMode="decimal"
              value={f.max}
              aria-label={`${what} max`}
              onInput={(e) => onChange({ ...f, max: e.currentTarget.value })}
            />
          </label>
        </>
      ) : null}
      {f.type === 'enum' ? (
        <label>
          Values (comma-separated)
          <input value={f.values} aria-label={`${what} values`} onInput={(e) => onChange({ ...f, values: e.currentTarget.value })} />
        </label>
      ) : null}
      <label>
        Unit
        <input size={6} value={f.unit} aria-label={`${what} unit`} onInput={(e) => onChange({ ...f, unit: e.currentTarget.value })} />
      </label>
      <label class="check">
        <input
          type="checkbox"
          checked={f.required}
          aria-label={`${what} required`}
          onChange={(e) => onChange({ ...f, required: e.currentTarget.checked })}
        />
        required
      </label>
      <button type="button" class="btn small" aria-label={`Remove ${what.toLowerCase()}`} onClick={onRemove}>
        Remove
      </button>
    </div>
  );
}

function MetricRow({
  m,
  index,
  onChange,
  onRemove,
}: {
  m: MetricDraft;
  index: number;
  onChange: (m: MetricDraft) => void;
  onRemove: () => void;
}) {
  const what = `Metric ${index + 1}`;
  return (
    <div class="row profile-field" data-metric={m.name}>
      <label>
        Name
        <input value={m.name} aria-label={`${what} name`} onInput={(e) => onChange({ ...m, name: e.currentTarget.value })} />
      </label>
      <label>
        Unit
        <input size={6} value={m.unit} aria-label={`${what} unit`} onInput={(e) => onChange({ ...m, unit: e.currentTarget.value })} />
      </label>
      <label>
        Decimals
        <input
          size={3}
          inputMode="numeric"
          value={m.decimals}
          aria-label={`${what} decimals`}
          onInput={(e) => onChange({ ...m, decimals: e.currentTarget.value })}
        />
      </label>
      <label>
        Label
        <input value={m.label} aria-label={`${what} label`} onInput={(e) => onChange({ ...m, label: e.currentTarget.value })} />
      </label>
      <button type="button" class="btn small" aria-label={`Remove ${what.toLowerCase()}`} onClick={onRemove}>
        Remove
      </button>
    </div>
  );
}
