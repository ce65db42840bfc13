// The session gate: ask the hub who we are; show the login, or the console. A session
// that ends while in use (logout elsewhere, 4401, a 401 from the API) returns here
// with the reason in words, at the same URL, so logging in again continues there.
// Only a 401 means "log in": a hub that cannot be reached or answers anything else is
// said so, and asked again, without dropping a session that may still be good.

import type { OperatorInfo } from '@halyard/firmware-protocol';
import { useEffect, useState } from 'preact/hooks';
import { session } from './api/endpoints.ts';
import { ApiError, errorText } from './api/http.ts';
import { Login } from './screens/login.tsx';
import { Shell } from './shell.tsx';

type Auth =
  | { kind: 'checking' }
  | { kind: 'out'; reason: string | undefined }
  | { kind: 'in'; me: OperatorInfo }
  | { kind: 'unreachable'; reason: string };

/** How long the gate waits before asking an unreachable hub again (ms). */
const RETRY_MS = 5_000;

export function App() {
  const [auth, setAuth] = useState<Auth>({ kind: 'checking' });
  const check = () =>
    session.me().then(
      (me) => setAuth({ kind: 'in', me }),
      (err: unknown) =>
        setAuth(
          err instanceof ApiError && err.status === 401
            ? { kind: 'out', reason: undefined }
            : { kind: 'unreachable', reason: errorText(err) },
        ),
    );
  useEffect(() => void check(), []);
  // Dependencies: re-armed each time the gate lands on "unreachable"
  useEffect(() => {
    if (auth.kind !== 'unreachable') return;
    const timer = setTimeout(() => void check(), RETRY_MS);
    return () => clearTimeout(timer);
  }, [auth]);
  if (auth.kind === 'checking') return <p class="muted login">Connecting to the hub…</p>;
  if (auth.kind === 'unreachable')
    return (
      <div class="login" role="alert" data-testid="hub-unreachable">
        <h1>Cannot reach the hub</h1>
        <p>{auth.reason}</p>
        <p class="muted">Asking again every {RETRY_MS / 1000} s.</p>
        <button type="button" class="btn primary" onClick={() => void check()}>
          Try now
        </button>
      </div>
    );
  if (auth.kind === 'out') return <Login reason={auth.reason} onLogin={(me) => setAuth({ kind: 'in', me })} />;
  return <Shell me={auth.me} onSignedOut={(reason) => setAuth({ kind: 'out', reason })} />;
}
