// One command: what was asked, by whom, and its status moving through queued -> sent
// -> accepted -> a final state, each with its time; why it failed and when an open one
// gives up are in the row itself; params and result on demand.

import type { CommandInfo } from '@halyard/firmware-protocol';
import { useState } from 'preact/hooks';
import { Badge } from '../../components/status.tsx';
import { deadline, outcomeText } from '../../lib/command-outcome.ts';
import { isFinal, stateTone, timeline } from '../../lib/command-timeline.ts';
import { after, ago, clock, span } from '../../lib/format.ts';
import { pretty } from '../../lib/json.ts';
import { useApp } from '../../state/app-context.ts';

const WORD: Record<string, string> = { timed_out: 'timed out', result: 'result' };

export function CommandRow({ c, now, canCancel }: { c: CommandInfo; now: number; canCancel: boolean }) {
  const { channel } = useApp();
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const steps = timeline(c);
  const why = outcomeText(c);
  const due = deadline(c);
  return (
    <li class="cmd" data-command={c.id} data-state={c.state}>
      <div class="cmd-head">
        <b class="mono">{c.name}</b>
        <Badge tone={stateTone(c.state)}>{WORD[c.state] ?? c.state}</Badge>
        <span class="muted">
          by {c.createdBy}, {ago(c.createdAt, now)}
        </span>
        <span class="muted mono hide-narrow">{c.id}</span>
        {canCancel && !isFinal(c) ? (
          <button
            type="button"
            class="btn small"
            disabled={busy}
            onClick={async () => {
              setBusy(true);
              const r = await channel.request({ t: 'cancel', command: c.id });
              setBusy(false);
              setError(r.ok ? undefined : r.error.message);
            }}
          >
            Cancel
          </button>
        ) : null}
      </div>
      <ol class="timeline" aria-label="Status timeline">
        {steps.map((s) => (
          <li key={s.state} class={`tone-${s.tone === 'neutral' && s.at === undefined ? 'off' : s.tone}`}>
            <span class={`dot dot-${s.at === undefined && s.tone === 'neutral' ? 'off' : s.tone}`} aria-hidden="true" />
            {WORD[s.state] ?? s.state}
            {s.at !== undefined ? (
              <span class="at" title={clock(s.at)}>
                {s.at === c.createdAt ? clock(s.at) : after(s.at - c.createdAt)}
              </span>
            ) : (
              <span class="at">{s.tone === 'pending' ? 'now' : 'waiting'}</span>
            )}
          </li>
        ))}
      </ol>
      {why ? (
        <p class={`cmd-why tone-${stateTone(c.state)}`} data-testid="command-outcome">
          {why}
        </p>
      ) : null}
      {due ? (
        <p class="cmd-why muted" data-testid="command-deadline" title={clock(due.at)}>
          {due.what} {due.at > now ? `in ${span(due.at - now)}` : 'now'} (at {clock(due.at).slice(0, 8)})
        </p>
      ) : null}
      {error ? (
        <p class="error" role="alert">
          {error}
        </p>
      ) : null}
      <details>
        <summary class="muted">params{isFinal(c) ? ' and result' : ''}</summary>
        <pre class="block">params: {pretty(c.params)}</pre>
        {c.result !== null ? <pre class="block">result: {pretty(c.result)}</pre> : null}
        {c.error !== null ? <pre class="block tone-bad">error: {c.error}</pre> : null}
      </details>
    </li>
  );
}
