// A model profile as its editor holds it: every input as the text typed, turned into
// the document the hub takes (README.md § HTTP API, model profiles) only on saving.

import type { ModelProfileDoc, ProfileField, ProfileValueType } from '@halyard/firmware-protocol';

export interface FieldDraft {
  name: string;
  type: ProfileValueType;
  min: string;
  max: string;
  /** Enum values, comma-separated. */
  values: string;
  unit: string;
  required: boolean;
}

export interface CommandDraft {
  name: string;
  description: string;
  params: FieldDraft[];
}

export interface MetricDraft {
  name: string;
  unit: string;
  decimals: string;
  label: string;
}

export interface ProfileDraft {
  commands: CommandDraft[];
  metrics: MetricDraft[];
  desired: FieldDraft[];
}

export const emptyField = (): FieldDraft => ({ name: '', type: 'number', min: '', max: '', values: '', unit: '', required: false });
export const emptyMetric = (): MetricDraft => ({ name: '', unit: '', decimals: '', label: '' });
export const emptyCommand = (name = ''): CommandDraft => ({ name, description: '', params: [] });

const text = (v: number | string | undefined) => (v === undefined ? '' : String(v));

function fieldDraft(f: ProfileField): FieldDraft {
  return {
    name: f.name,
    type: f.type,
    min: text(f.min),
    max: text(f.max),
    values: (f.values ?? []).join(', '),
    unit: text(f.unit),
    required: f.required ?? false,
  };
}

export function toDraft(doc: ModelProfileDoc): ProfileDraft {
  return {
    commands: doc.commands.map((c) => ({ name: c.name, description: text(c.description), params: c.params.map(fieldDraft) })),
    metrics: doc.metrics.map((m) => ({ name: m.name, unit: text(m.unit), decimals: text(m.decimals), label: text(m.label) })),
    desired: doc.desired.map(fieldDraft),
  };
}

/** A number typed, or undefined for an empty input; NaN (refused by the hub, named) for anything else. */
const numberOf = (s: string) => (s.trim() === '' ? undefined : Number(s));

function field(d: FieldDraft): ProfileField {
  const f: ProfileField = { name: d.name.trim(), type: d.type };
  if (d.type === 'number') {
    const min = numberOf(d.min);
    const max = numberOf(d.max);
    if (min !== undefined) f.min = min;
    if (max !== undefined) f.max = max;
  }
  if (d.type === 'enum') {
    f.values = d.values
      .split(',')
      .map((v) => v.trim())
      .filter((v) => v !== '');
  }
  if (d.unit.trim() !== '') f.unit = d.unit.trim();
  if (d.required) f.required = true;
  return f;
}

/** The document to save; rows whose name is empty are left out (an added row not filled in). */
export function fromDraft(d: ProfileDraft): ModelProfileDoc {
  return {
    commands: d.commands
      .filter((c) => c.name.trim() !== '')
      .map((c) => ({
        name: c.name.trim(),
        ...(c.description.trim() === '' ? {} : { description: c.description.trim() }),
        params: c.params.filter((p) => p.name.trim() !== '').map(field),
      })),
    metrics: d.metrics
      .filter((m) => m.name.trim() !== '')
      .map((m) => {
        const decimals = numberOf(m.decimals);
        return {
          name: m.name.trim(),
          ...(m.unit.trim() === '' ? {} : { unit: m.unit.trim() }),
          ...(decimals === undefined ? {} : { decimals }),
          ...(m.label.trim() === '' ? {} : { label: m.label.trim() }),
        };
      }),
    desired: d.desired.filter((f) => f.name.trim() !== '').map(field),
  };
}

/** Commands devices of the model declared (HELLO caps) that the draft does not describe yet. */
export function undescribed(declared: Iterable<string>, d: ProfileDraft): string[] {
  const have = new Set(d.commands.map((c) => c.name.trim()));
  return [...new Set(declared)].filter((n) => !have.has(n)).sort();
}

/** A path of the hub's validation error ("commands.0.params.1.values") in words. */
export function pathInWords(path: string, d: ProfileDraft): string {
  const parts = path.split('.');
  const words: string[] = [];
  const [list, i, sub, j, key] = parts;
  const n = Number(i);
  if (list === 'commands') {
    const c = d.commands.filter((x) => x.name.trim() !== '')[n];
    words.push(`command ${c?.name.trim() || `#${n + 1}`}`);
    if (sub === 'params') {
      const p = c?.params.filter((x) => x.name.trim() !== '')[Number(j)];
      words.push(`parameter ${p?.name.trim() || `#${Number(j) + 1}`}`);
      if (key) words.push(key);
    } else if (sub) words.push(sub);
  } else if (list === 'metrics' || list === 'desired') {
    const rows = list === 'metrics' ? d.metrics : d.desired;
    const r = rows.filter((x) => x.name.trim() !== '')[n];
    words.push(`${list === 'metrics' ? 'metric' : 'desired key'} ${r?.name.trim() || `#${n + 1}`}`);
    if (sub) words.push(sub);
  } else return path;
  return words.join(', ');
}
