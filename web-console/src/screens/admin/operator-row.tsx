// One operator in the table, with its actions and, under it, what they need: the
// question before disabling (it ends their sessions), a new password, or the hub's
// refusal, in words, next to the action that caused it.

import type { OperatorInfo, Role } from '@halyard/firmware-protocol';
import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import { operators } from '../../api/endpoints.ts';
import { ErrorText } from '../../components/error-text.tsx';
import { Badge } from '../../components/status.tsx';
import { timestamp } from '../../lib/format.ts';

export const ROLES: Role[] = ['viewer', 'operator', 'admin'];
const MIN_PASSWORD = 8;

type Open = 'none' | 'disable' | 'password';

export function OperatorRow({
  o,
  self,
  onChanged,
  onDelete,
}: {
  o: OperatorInfo;
  self: boolean;
  onChanged: () => void;
  onDelete: () => void;
}) {
  const [open, setOpen] = useState<Open>('none');
  const [error, setError] = useState<unknown>(undefined);
  const [done, setDone] = useState<string | undefined>(undefined);
  const act = async (f: () => Promise<unknown>, after?: string) => {
    setError(undefined);
    setDone(undefined);
    try {
      await f();
      setOpen('none');
      setDone(after);
      onChanged();
    } catch (err) {
      setError(err);
    }
  };
  const show = (what: Open) => {
    setError(undefined);
    setDone(undefined);
    setOpen(open === what ? 'none' : what);
  };

  return (
    <>
      <tr data-operator={o.username}>
        <td class="mono">
          {o.username}
          {self ? <span class="muted"> (you)</span> : null}
        </td>
        <td>
          <select
            aria-label={`Role of ${o.username}`}
            value={o.role}
            onChange={(e) => void act(() => operators.update(o.username, { role: e.currentTarget.value as Role }))}
          >
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </td>
        <td>
          <Badge tone={o.disabled ? 'bad' : 'good'}>{o.disabled ? 'disabled' : 'active'}</Badge>
        </td>
        <td class="hide-narrow">{timestamp(o.createdAt)}</td>
        <td>
          <div class="row">
            {self ? null : o.disabled ? (
              <button type="button" class="btn small" onClick={() => void act(() => operators.update(o.username, { disabled: false }))}>
                Enable
              </button>
            ) : (
              <button type="button" class="btn small" aria-expanded={open === 'disable'} onClick={() => show('disable')}>
                Disable
              </button>
            )}
            <button type="button" class="btn small" aria-expanded={open === 'password'} onClick={() => show('password')}>
              Set password
            </button>
            {self ? null : (
              <button type="button" class="btn small danger" onClick={onDelete}>
                Delete
              </button>
            )}
          </div>
        </td>
      </tr>
      {open !== 'none' || error !== undefined || done !== undefined ? (
        <tr class="row-detail" data-operator-detail={o.username}>
          <td colSpan={5}>
            {open === 'disable' ? (
              <div class="row confirm-inline">
                <span>Disable {o.username}? Their sessions end at once, and they cannot log in until enabled again.</span>
                <button
                  type="button"
                  class="btn small danger"
                  onClick={() => void act(() => operators.update(o.username, { disabled: true }))}
                >
                  Disable {o.username}
                </button>
                <button type="button" class="btn small" onClick={() => setOpen('none')}>
                  Cancel
                </button>
              </div>
            ) : null}
            {open === 'password' ? (
              <PasswordForm
                username={o.username}
                self={self}
                onCancel={() => setOpen('none')}
                onSave={(password) =>
                  act(
                    () => operators.update(o.username, { password }),
                    `Password changed; ${self ? 'log in again with it' : `${o.username}'s sessions have ended`}.`,
                  )
                }
              />
            ) : null}
            <ErrorText error={error} />
            {done ? (
              <p class="muted" role="status">
                {done}
              </p>
            ) : null}
          </td>
        </tr>
      ) : null}
    </>
  );
}

function PasswordForm({
  username,
  self,
  onSave,
  onCancel,
}: {
  username: string;
  self: boolean;
  onSave: (password: string) => Promise<void>;
  onCancel: () => void;
}) {
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  // Opened by the operator's click: the cursor goes where they will type.
  useLayoutEffect(() => input.current?.focus(), []);
  const short = password !== '' && password.length < MIN_PASSWORD;
  return (
    <form
      class="row"
      aria-label={`New password for ${username}`}
      onKeyDown={(e) => {
        if (e.key === 'Escape') onCancel();
      }}
      onSubmit={async (e) => {
        e.preventDefault();
        if (password.length < MIN_PASSWORD) return;
        setBusy(true);
        await onSave(password);
        setBusy(false);
      }}
    >
      <label class="row">
        New password for {username}
        <input
          ref={input}
          type="password"
          name="reset-password"
          autoComplete="new-password"
          value={password}
          aria-invalid={short}
          onInput={(e) => setPassword(e.currentTarget.value)}
        />
      </label>
      <span class={short ? 'field-error' : 'field-hint'}>
        {short
          ? `at least ${MIN_PASSWORD} characters`
          : self
            ? 'your sessions end: you log in again with it'
            : 'their sessions end at once'}
      </span>
      <button type="submit" class="btn small primary" disabled={busy || password.length < MIN_PASSWORD}>
        {busy ? 'Saving…' : 'Set password'}
      </button>
      <button type="button" class="btn small" onClick={onCancel}>
        Cancel
      </button>
    </form>
  );
}
