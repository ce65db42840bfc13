// When the device came and went, and why: history from the API, changes live.

import type { PresenceInfo } from '@halyard/firmware-protocol';
import { useEffect, useState } from 'preact/hooks';
import { devices } from '../../api/endpoints.ts';
import { Empty } from '../../components/empty.tsx';
import { ErrorText } from '../../components/error-text.tsx';
import { Badge } from '../../components/status.tsx';
import { CLOSE_CODES } from '../../lib/close-codes.ts';
import { ago, timestamp } from '../../lib/format.ts';
import { useGeneration, useNow, useUpdates } from '../../lib/hooks.ts';
import { useApp } from '../../state/app-context.ts';

function add(list: readonly PresenceInfo[], p: PresenceInfo): PresenceInfo[] {
  // Online re-statements (last-seen refreshes) repeat the same transition: skip them.
  if (list.some((x) => x.at === p.at && x.online === p.online)) return list as PresenceInfo[];
  return [p, ...list].sort((a, b) => b.at - a.at).slice(0, 500);
}

export function PresenceTab({ id }: { id: string }) {
  const { channel } = useApp();
  const generation = useGeneration(channel);
  const now = useNow();
  const [list, setList] = useState<PresenceInfo[]>([]);
  const [error, setError] = useState<unknown>(undefined);
  useUpdates(channel, 'presence', (u) => {
    if (u.presence.device === id) setList((l) => add(l, u.presence));
  });
  // Dependencies: refetch per device and after every reconnect
  useEffect(() => {
    let live = true;
    devices.presence(id, 200).then(
      (r) => {
        if (!live) return;
        setError(undefined);
        setList((l) => r.presence.reduce(add, l));
      },
      (err: unknown) => live && setError(err),
    );
    return () => {
      live = false;
    };
  }, [id, generation]);
  return (
    <section aria-label="Presence">
      <ErrorText error={error} />
      {list.length === 0 ? (
        <Empty title="This device has never connected" />
      ) : (
        <div class="scroll-x">
          <table class="list" aria-label="Presence history, newest first">
            <thead>
              <tr>
                <th>When</th>
                <th>State</th>
                <th>Reason</th>
                <th class="hide-narrow">Close code</th>
              </tr>
            </thead>
            <tbody>
              {list.map((p) => (
                <tr key={`${p.at}:${p.online}`}>
                  <td class="mono" title={ago(p.at, now)}>
                    {timestamp(p.at)}
                  </td>
                  <td>
                    <Badge tone={p.online ? 'good' : 'off'}>{p.online ? 'online' : 'offline'}</Badge>
                  </td>
                  <td>{p.reason.replace(/_/g, ' ')}</td>
                  <td class="hide-narrow">{p.code === null ? '' : `${p.code} ${CLOSE_CODES[p.code] ? `(${CLOSE_CODES[p.code]})` : ''}`}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
