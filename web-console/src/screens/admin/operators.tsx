// Operators: who may use the hub and with which role; create, change role, disable
// (asked once), set a password (an admin's own too), delete (typed confirmation). A
// role change, disabling, a new password or deleting ends that operator's sessions.

import type { OperatorInfo, Role } from '@halyard/firmware-protocol';
import { useState } from 'preact/hooks';
import { operators } from '../../api/endpoints.ts';
import { TypedConfirm } from '../../components/confirm.tsx';
import { ErrorText } from '../../components/error-text.tsx';
import { Field } from '../../components/field.tsx';
import { useAsync } from '../../lib/hooks.ts';
import { useApp } from '../../state/app-context.ts';
import { OperatorRow, ROLES } from './operator-row.tsx';

const USERNAME = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/;

export function Operators() {
  const { me } = useApp();
  const list = useAsync(() => operators.list(), []);
  const [error, setError] = useState<unknown>(undefined);
  const [deleting, setDeleting] = useState<string | undefined>(undefined);

  const act = async (f: () => Promise<unknown>) => {
    setError(undefined);
    try {
      await f();
      list.reload();
    } catch (err) {
      setError(err);
    }
  };

  return (
    <section aria-label="Operators">
      <ErrorText error={list.error ?? error} />
      <div class="scroll-x">
        <table class="list">
          <thead>
            <tr>
              <th>Username</th>
              <th>Role</th>
              <th>State</th>
              <th class="hide-narrow">Created</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {(list.data?.operators ?? []).map((o: OperatorInfo) => (
              <OperatorRow
                key={o.username}
                o={o}
                self={o.username === me.username}
                onChanged={list.reload}
                onDelete={() => setDeleting(o.username)}
              />
            ))}
          </tbody>
        </table>
      </div>
      {deleting ? (
        <TypedConfirm
          message={`Delete the operator ${deleting}? Their sessions end at once.`}
          word={deleting}
          action="Delete operator"
          onConfirm={() => {
            const u = deleting;
            setDeleting(undefined);
            void act(() => operators.remove(u));
          }}
          onCancel={() => setDeleting(undefined)}
        />
      ) : null}
      <NewOperator onCreated={list.reload} />
    </section>
  );
}

function NewOperator({ onCreated }: { onCreated: () => void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const [created, setCreated] = useState<string | undefined>(undefined);
  const errors = {
    username: username === '' || USERNAME.test(username) ? undefined : '1-64 of A-Z a-z 0-9 _ . @ - starting with a letter or digit',
    password: password === '' || password.length >= 8 ? undefined : 'at least 8 characters',
  };
  return (
    <form
      class="panel form"
      style={{ marginTop: '16px' }}
      onSubmit={async (e) => {
        e.preventDefault();
        if (errors.username || errors.password || username === '' || password === '') return;
        setBusy(true);
        setError(undefined);
        setCreated(undefined);
        try {
          const o = await operators.create({ username, password, role });
          setCreated(`Created the operator ${o.username} (${o.role}); they can log in now with the password you set.`);
          setUsername('');
          setPassword('');
          onCreated();
        } catch (err) {
          setError(err);
        } finally {
          setBusy(false);
        }
      }}
    >
      <h2 style={{ marginTop: 0 }}>New operator</h2>
      <Field label="Username" error={errors.username}>
        {(a) => (
          <input
            {...a}
            name="new-username"
            value={username}
            autoComplete="off"
            onInput={(e) => setUsername(e.currentTarget.value.trim())}
          />
        )}
      </Field>
      <Field label="Password" error={errors.password} hint="At least 8 characters; share it safely.">
        {(a) => (
          <input
            {...a}
            name="new-password"
            type="password"
            autoComplete="new-password"
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        )}
      </Field>
      <Field label="Role" hint="viewer: look only; operator: also commands, twins, provisioning; admin: also operators and integrators">
        {(a) => (
          <select {...a} name="new-role" value={role} onChange={(e) => setRole(e.currentTarget.value as Role)}>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        )}
      </Field>
      <ErrorText error={error} />
      {created ? (
        <p class="flash" role="status" data-testid="operator-created">
          {created}
        </p>
      ) : null}
      <button type="submit" class="btn primary" disabled={busy}>
        {busy ? 'Creating…' : 'Create operator'}
      </button>
    </form>
  );
}
