// A device's twin, live: fetched once (and after each reconnect), then kept current from
// the channel's `twins` stream, never stepping back to an older version.

import type { TwinInfo } from '@halyard/firmware-protocol';
import { useEffect, useState } from 'preact/hooks';
import { devices } from '../../api/endpoints.ts';
import { useGeneration, useUpdates } from '../../lib/hooks.ts';
import { useApp } from '../../state/app-context.ts';

function newer(a: TwinInfo | undefined, b: TwinInfo): boolean {
  return a === undefined || (b.desiredVersion >= a.desiredVersion && b.reportedVersion >= a.reportedVersion);
}

export function useTwin(id: string): { twin: TwinInfo | undefined; error: unknown; accept: (t: TwinInfo) => void } {
  const { channel } = useApp();
  const generation = useGeneration(channel);
  const [twin, setTwin] = useState<TwinInfo | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const accept = (t: TwinInfo) => setTwin((cur) => (t.device === id && newer(cur, t) ? t : cur));

  useEffect(() => channel.subscribe('twins', [id]), [channel, id]);
  useUpdates(channel, 'twin', (u) => accept(u.twin));
  // Dependencies: refetch per device and after every reconnect
  useEffect(() => {
    let live = true;
    setError(undefined);
    devices.twin(id).then(
      (t) => live && accept(t),
      (err: unknown) => live && setError(err),
    );
    return () => {
      live = false;
    };
  }, [id, generation]);
  // Dependencies: a new device starts empty
  useEffect(() => setTwin(undefined), [id]);
  return { twin, error, accept };
}
