// An error the hub names a field for (ApiError.field, e.g. "name" or "condition.above")
// is shown at that field too: the box is marked invalid and takes the focus, scrolled
// into view, so the operator is not left reading a message far below the box it is
// about. Boxes are found by their `name`: the whole field without indexes
// ("action.name", where a form has two "name"s), its last part, then ever shorter
// leading parts ("rollout.stages" for "rollout.stages.0.percent"). A check the form
// makes itself can name its field the same way (an Error with a `field`).

import { ApiError } from '../api/http.ts';

/** An error of the form's own (a box that is not JSON), for the field named `field`. */
export class FormFieldError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

function fieldOf(err: unknown): string | undefined {
  if (err instanceof ApiError || err instanceof FormFieldError) return err.field;
  return undefined;
}

export function markFieldError(form: HTMLFormElement | null, err: unknown): void {
  if (form === null) return;
  for (const el of form.querySelectorAll('[aria-invalid="true"][data-field-error]')) {
    el.removeAttribute('aria-invalid');
    el.removeAttribute('data-field-error');
  }
  const field = fieldOf(err);
  if (field === undefined) return;
  const parts = field.split('.').filter((p) => !/^\d+$/.test(p));
  const names = [parts.join('.'), parts[parts.length - 1]];
  for (let n = parts.length - 1; n >= 1; n--) names.push(parts.slice(0, n).join('.'));
  for (const name of names) {
    if (name === undefined || name === '') continue;
    const box = form.querySelector<HTMLElement>(`[name="${CSS.escape(name)}"]`);
    if (box === null) continue;
    box.setAttribute('aria-invalid', 'true');
    box.setAttribute('data-field-error', '');
    box.focus();
    return;
  }
}
