// The session gate: ask the hub who we are; show the login, or the console. A session
// that ends while in use (logout elsewhere, 4401, a 401 from the API) returns here
// with the reason in words, at the same URL, so logging in again continues there.

import type { OperatorInfo } from '@halyard/firmware-protocol';
import { useEffect, useState } from 'preact/hooks';
import { session } from './api/endpoints.ts';
import { ApiError, errorText } from './api/http.ts';
import { Login } from './screens/login.tsx';
import { Shell } from './shell.tsx';

type Auth = { kind: 'checking' } | { kind: 'out'; reason: string | undefined } | { kind: 'in'; me: OperatorInfo };

export function App() {
  const [auth, setAuth] = useState<Auth>({ kind: 'checking' });
  useEffect(() => {
    session.me().then(
      (me) => setAuth({ kind: 'in', me }),
      (err: unknown) => setAuth({ kind: 'out', reason: err instanceof ApiError && err.status === 401 ? undefined : errorText(err) }),
    );
  }, []);
  if (auth.kind === 'checking') return <p class="muted login">Connecting to the hub…</p>;
  if (auth.kind === 'out') return <Login reason={auth.reason} onLogin={(me) => setAuth({ kind: 'in', me })} />;
  return <Shell me={auth.me} onSignedOut={(reason) => setAuth({ kind: 'out', reason })} />;
}
