// Changing one's own password, from the top bar. A modal <dialog>: the browser moves
// the focus in, keeps Tab inside and closes it on Escape; the focus then goes back
// to the button that opened it.

import { useEffect, useRef, useState } from 'preact/hooks';
import { session } from '../api/endpoints.ts';
import { ApiError, errorText } from '../api/http.ts';
import { Field } from './field.tsx';

const MIN = 8;

export function PasswordButton() {
  const dialog = useRef<HTMLDialogElement>(null);
  const opener = useRef<HTMLButtonElement>(null);
  // A new key per opening: the form starts empty each time.
  const [opening, setOpening] = useState(0);
  const close = () => dialog.current?.close();
  // Opened once the fresh form is rendered: showModal focuses its first field.
  useEffect(() => {
    if (opening > 0 && dialog.current?.open === false) dialog.current.showModal();
  }, [opening]);
  return (
    <>
      <button ref={opener} type="button" class="btn small" onClick={() => setOpening((n) => n + 1)}>
        Password
      </button>
      <dialog ref={dialog} class="password-dialog" aria-labelledby="password-title" onClose={() => opener.current?.focus()}>
        {opening > 0 ? <PasswordForm key={opening} onDone={close} /> : null}
      </dialog>
    </>
  );
}

function PasswordForm({ onDone }: { onDone: () => void }) {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [again, setAgain] = useState('');
  const [errors, setErrors] = useState<{ current?: string; next?: string; again?: string; form?: string }>({});
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(false);
  const closeButton = useRef<HTMLButtonElement>(null);
  // The form under the focus was replaced: put the focus on what is there now.
  useEffect(() => {
    if (done) closeButton.current?.focus();
  }, [done]);

  if (done) {
    return (
      <div class="form">
        <h2 id="password-title">Password changed</h2>
        <p role="status">Your password is changed. Your other sessions have ended; this one goes on.</p>
        <div class="row">
          <button ref={closeButton} type="button" class="btn primary" onClick={onDone}>
            Close
          </button>
        </div>
      </div>
    );
  }

  const submit = async (e: Event) => {
    e.preventDefault();
    const found: typeof errors = {};
    if (current === '') found.current = 'Enter your current password.';
    if (next.length < MIN) found.next = `The new password needs at least ${MIN} characters.`;
    else if (next === current) found.next = 'The new password is the same as the current one.';
    if (again !== next) found.again = 'The two new passwords differ.';
    setErrors(found);
    if (Object.keys(found).length > 0) return;
    setBusy(true);
    try {
      await session.changePassword(current, next);
      setDone(true);
    } catch (err) {
      if (err instanceof ApiError && err.field === 'current') setErrors({ current: 'That is not your current password.' });
      else setErrors({ form: `The password was not changed: ${errorText(err)}` });
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="form" onSubmit={submit} noValidate>
      <h2 id="password-title">Change your password</h2>
      <Field label="Current password" error={errors.current}>
        {(p) => (
          <input
            {...p}
            type="password"
            autoComplete="current-password"
            value={current}
            onInput={(e) => setCurrent(e.currentTarget.value)}
          />
        )}
      </Field>
      <Field label="New password" error={errors.next} hint={`At least ${MIN} characters.`}>
        {(p) => <input {...p} type="password" autoComplete="new-password" value={next} onInput={(e) => setNext(e.currentTarget.value)} />}
      </Field>
      <Field label="New password again" error={errors.again}>
        {(p) => <input {...p} type="password" autoComplete="new-password" value={again} onInput={(e) => setAgain(e.currentTarget.value)} />}
      </Field>
      {errors.form ? (
        <p class="error" role="alert">
          {errors.form}
        </p>
      ) : null}
      <div class="row">
        <button type="submit" class="btn primary" disabled={busy}>
          {busy ? 'Changing…' : 'Change password'}
        </button>
        <button type="button" class="btn" onClick={onDone}>
          Cancel
        </button>
      </div>
    </form>
  );
}
