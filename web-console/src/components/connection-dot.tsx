// The console channel's own health in the top bar: green live, amber reconnecting,
// red lost, with the reason and a way to retry at once.

import type { ConsoleChannel } from '../channel/channel.ts';
import { connectionLook } from '../channel/status.ts';
import { useChannelState, useNow } from '../lib/hooks.ts';

export function ConnectionDot({ channel }: { channel: ConsoleChannel }) {
  const state = useChannelState(channel);
  const now = useNow();
  const look = connectionLook(state, now);
  return (
    <span class="row" style={{ flexWrap: 'nowrap', minWidth: 0 }}>
      <span class={`conn conn-${look.tone}`} role="status" aria-live="polite" title={look.detail} data-state={look.tone}>
        <span class="dot" aria-hidden="true" />
        <span>{look.label}</span>
        {look.tone === 'live' ? null : <span class="muted hide-narrow">· {look.detail}</span>}
      </span>
      {state.kind === 'waiting' ? (
        <button type="button" class="btn small" onClick={() => channel.retryNow()}>
          Retry now
        </button>
      ) : null}
    </span>
  );
}
