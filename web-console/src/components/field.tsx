// A labelled form field with its hint or error underneath, wired for screen readers.

import type { ComponentChildren } from 'preact';
import { useId } from 'preact/hooks';

export function Field({
  label,
  error,
  hint,
  children,
}: {
  label: string;
  error?: string | undefined;
  hint?: ComponentChildren;
  children: (props: { id: string; 'aria-invalid': boolean; 'aria-describedby'?: string }) => ComponentChildren;
}) {
  const id = useId();
  const note = error ?? hint;
  return (
    <div class={error ? 'field invalid' : 'field'}>
      <label for={id}>{label}</label>
      {children({ id, 'aria-invalid': error !== undefined, ...(note ? { 'aria-describedby': `${id}-note` } : {}) })}
      {note ? (
        <span id={`${id}-note`} class={error ? 'field-error' : 'field-hint'}>
          {note}
        </span>
      ) : null}
    </div>
  );
}
