// An error the hub names a field for (ApiError.field, e.g. "name" or "condition.above")
// is shown at that field too: the box is marked invalid and takes the focus, scrolled
// into view, so the operator is not left reading a message far below the box it is
// about. Boxes are found by their `name`: the field's last part that is not an index,
// then its first part.

import { ApiError } from '../api/http.ts';

export function markFieldError(form: HTMLFormElement | null, err: unknown): void {
  if (form === null) return;
  for (const el of form.querySelectorAll('[aria-invalid="true"][data-field-error]')) {
    el.removeAttribute('aria-invalid');
    el.removeAttribute('data-field-error');
  }
  if (!(err instanceof ApiError) || err.field === undefined) return;
  const parts = err.field.split('.').filter((p) => !/^\d+$/.test(p));
  for (const name of [parts[parts.length - 1], parts[0]]) {
    if (name === undefined) continue;
    const box = form.querySelector<HTMLElement>(`[name="${CSS.escape(name)}"]`);
    if (box === null) continue;
    box.setAttribute('aria-invalid', 'true');
    box.setAttribute('data-field-error', '');
    box.focus();
    return;
  }
}
