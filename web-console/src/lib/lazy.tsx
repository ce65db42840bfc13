// A screen loaded on first use: its code is a separate chunk (vite splits dynamic
// imports), so the first paint of the fleet does not wait for the dashboard or the map.

import type { FunctionComponent } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ErrorText } from '../components/error-text.tsx';

export function lazy<P extends object>(load: () => Promise<FunctionComponent<P>>): FunctionComponent<P> {
  let loaded: FunctionComponent<P> | undefined;
  let loading: Promise<FunctionComponent<P>> | undefined;
  return function Lazy(props: P) {
    const [, setReady] = useState(loaded !== undefined);
    const [error, setError] = useState<unknown>(undefined);
    useEffect(() => {
      if (loaded !== undefined) return;
      let live = true;
      loading ??= load();
      loading.then(
        (c) => {
          loaded = c;
          if (live) setReady(true);
        },
        (err: unknown) => {
          // A failed chunk (hub upgraded meanwhile, network gone) can be retried by coming back.
          loading = undefined;
          if (live) setError(new Error(`this screen could not be loaded (${(err as Error).message}); reload the page`));
        },
      );
      return () => {
        live = false;
      };
    }, []);
    if (loaded !== undefined) {
      const C = loaded;
      return <C {...props} />;
    }
    return error ? <ErrorText error={error} /> : <p class="muted">Loading…</p>;
  };
}
