// Checking values against a model profile's fields (command parameters, desired keys;
// README.md § HTTP API, model profiles), and turning a parameter form's text inputs
// into the JSON a command carries. Pure: the command form and twin editor use it.

import type { JsonObject, JsonValue, ProfileField } from '@halyard/firmware-protocol';

/** What is wrong with `value` for `field`, in words, or undefined when it fits. */
export function fieldError(field: ProfileField, value: unknown): string | undefined {
  if (value === undefined || value === null) return field.required ? `${field.name} is required` : undefined;
  switch (field.type) {
    case 'number': {
      if (typeof value !== 'number' || !Number.isFinite(value)) return `${field.name} must be a number`;
      const unit = field.unit ? ` ${field.unit}` : '';
      if (field.min !== undefined && value < field.min) return `${field.name} must be at least ${field.min}${unit}`;
      if (field.max !== undefined && value > field.max) return `${field.name} must be at most ${field.max}${unit}`;
      return undefined;
    }
    case 'boolean':
      return typeof value === 'boolean' ? undefined : `${field.name} must be true or false`;
    case 'string':
      return typeof value === 'string' ? undefined : `${field.name} must be text`;
    case 'enum':
      return typeof value === 'string' && (field.values ?? []).includes(value)
        ? undefined
        : `${field.name} must be one of ${(field.values ?? []).join(', ')}`;
  }
}

/** The value a form input's text stands for; undefined for an empty input. */
export function parseInput(field: ProfileField, text: string): unknown {
  if (text === '') return undefined;
  if (field.type === 'number') return text.trim() === '' ? Number.NaN : Number(text);
  if (field.type === 'boolean') return text === 'true' ? true : text === 'false' ? false : text;
  return text;
}

/** The params object a parameter form's inputs make, with each field's error. */
export function paramsFrom(
  fields: readonly ProfileField[],
  inputs: Readonly<Record<string, string>>,
): { params: JsonObject; errors: Record<string, string> } {
  const params: JsonObject = {};
  const errors: Record<string, string> = {};
  for (const f of fields) {
    const v = parseInput(f, inputs[f.name] ?? '');
    const e = fieldError(f, v);
    if (e !== undefined) errors[f.name] = e;
    // parseInput gives a number, boolean or string: JSON values.
    if (v !== undefined) params[f.name] = v as JsonValue;
  }
  return { params, errors };
}

/**
 * A desired patch's problems against the profile's desired keys: a known key with a
 * value of the wrong type or range. Keys the profile does not list pass (the profile
 * may be incomplete) but are reported apart, so the editor can say so; null removes.
 */
export function patchProblems(
  fields: readonly ProfileField[],
  patch: Readonly<Record<string, unknown>>,
): { errors: string[]; unknown: string[] } {
  const byName = new Map(fields.map((f) => [f.name, f]));
  const errors: string[] = [];
  const unknown: string[] = [];
  for (const [k, v] of Object.entries(patch)) {
    const f = byName.get(k);
    if (f === undefined) {
      if (fields.length > 0) unknown.push(k);
      continue;
    }
    if (v === null) continue;
    const e = fieldError({ ...f, required: false }, v);
    if (e !== undefined) errors.push(e);
  }
  return { errors, unknown };
}
