// "Not live" in words while the channel is down: what is shown is the last known state,
// as of when the channel dropped. The fleet page and the device page say it alike.

import { clock } from '../lib/format.ts';
import { useSubscribe } from '../lib/hooks.ts';
import { useApp } from '../state/app-context.ts';

export function StaleNotice({ what }: { what: string }) {
  const { fleet } = useApp();
  useSubscribe(fleet.subscribe);
  if (fleet.staleSince === undefined) return null;
  return (
    <p class="notice" role="status" data-testid="stale">
      Not live: this is {what} as it was at {clock(fleet.staleSince).slice(0, 8)}. It updates again once the channel reconnects.
    </p>
  );
}
