// Log in with a username and password; the hub sets the session cookie.

import type { OperatorInfo } from '@halyard/firmware-protocol';
import { useState } from 'preact/hooks';
import { session } from '../api/endpoints.ts';
import { ErrorText } from '../components/error-text.tsx';
import { useTitle } from '../lib/title.ts';

export function Login({ reason, onLogin }: { reason: string | undefined; onLogin: (me: OperatorInfo) => void }) {
  useTitle('Log in');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  return (
    <main class="login panel">
      <h1>Halyard</h1>
      {reason ? <p class="notice">{reason}</p> : null}
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError(undefined);
          try {
            const r = await session.login(username.trim(), password);
            onLogin(r.operator);
          } catch (err) {
            setError(err);
            setBusy(false);
          }
        }}
      >
        <div class="field">
          <label for="login-user">Username</label>
          <input
            id="login-user"
            name="username"
            autoComplete="username"
            value={username}
            onInput={(e) => setUsername(e.currentTarget.value)}
            required
          />
        </div>
        <div class="field">
          <label for="login-password">Password</label>
          <input
            id="login-password"
            name="password"
            type="password"
            autoComplete="current-password"
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
            required
          />
        </div>
        <ErrorText error={error} />
        <button type="submit" class="btn primary" disabled={busy}>
          {busy ? 'Logging in…' : 'Log in'}
        </button>
      </form>
      <p class="muted">On first start the hub prints the password of the operator "admin" once.</p>
    </main>
  );
}
