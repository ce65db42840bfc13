// The hub's version (from the channel's welcome) and how long it has been up (from
// /healthz, asked again at each reconnect: that is when a restart shows), with the time
// of a restart this console saw.

import { useEffect, useState } from 'preact/hooks';
import { hubHealth } from '../api/hub-info.ts';
import { ErrorText } from '../components/error-text.tsx';
import { span, timestamp } from '../lib/format.ts';
import type { StatsHistory } from '../state/stats-history.ts';

export function HubFacts({
  version,
  generation,
  now,
  history,
}: {
  version: string | undefined;
  generation: number;
  now: number;
  history: StatsHistory;
}) {
  const [error, setError] = useState<unknown>(undefined);
  useEffect(() => {
    const ctl = new AbortController();
    hubHealth(ctl.signal).then(
      (h) => {
        history.noteStart(Date.now() - h.uptimeSeconds * 1000);
        setError(undefined);
      },
      (err: unknown) => {
        if (!ctl.signal.aborted) setError(err);
      },
    );
    return () => ctl.abort();
  }, [generation, history]);
  const { startedAt, restartedAt } = history;
  return (
    <div class="facts" data-testid="hub-facts" style={{ marginBottom: '10px' }}>
      <span>
        version <b data-testid="hub-version">{version ?? '…'}</b>
      </span>
      <span>
        up <b data-testid="hub-uptime">{startedAt === undefined ? '…' : span(Math.max(0, now - startedAt))}</b>
        {startedAt === undefined ? null : <span class="muted"> (since {timestamp(startedAt)})</span>}
      </span>
      {restartedAt === undefined ? null : (
        <span data-testid="hub-restarted">
          restarted at <b>{timestamp(restartedAt)}</b>; the charts keep the minutes from before
        </span>
      )}
      <ErrorText error={error} />
    </div>
  );
}
