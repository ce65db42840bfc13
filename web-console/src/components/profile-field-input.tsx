// One input for a model profile's field (a command parameter): a number with its
// range and unit, a choice for enums and booleans, text otherwise.

import type { ProfileField } from '@halyard/firmware-protocol';
import { Field } from './field.tsx';

export function ProfileFieldInput({
  field,
  value,
  error,
  onInput,
}: {
  field: ProfileField;
  value: string;
  error: string | undefined;
  onInput: (v: string) => void;
}) {
  const range =
    field.type === 'number' && (field.min !== undefined || field.max !== undefined)
      ? `${field.min ?? '…'} to ${field.max ?? '…'}${field.unit ? ` ${field.unit}` : ''}`
      : field.unit;
  const bounds: { min?: number; max?: number } = {};
  if (field.min !== undefined) bounds.min = field.min;
  if (field.max !== undefined) bounds.max = field.max;
  const label = `${field.name}${field.required ? '' : ' (optional)'}`;
  return (
    <Field label={label} error={error} hint={range}>
      {(a) =>
        field.type === 'enum' || field.type === 'boolean' ? (
          <select {...a} name={`param-${field.name}`} value={value} onChange={(e) => onInput(e.currentTarget.value)}>
            <option value="">{field.required ? 'choose…' : '(none)'}</option>
            {(field.type === 'boolean' ? ['true', 'false'] : (field.values ?? [])).map((v) => (
              <option key={v} value={v}>
                {v}
              </option>
            ))}
          </select>
        ) : field.type === 'number' ? (
          <input
            {...a}
            {...bounds}
            name={`param-${field.name}`}
            type="number"
            step="any"
            value={value}
            onInput={(e) => onInput(e.currentTarget.value)}
          />
        ) : (
          <input {...a} name={`param-${field.name}`} type="text" value={value} onInput={(e) => onInput(e.currentTarget.value)} />
        )
      }
    </Field>
  );
}
