// The command state machine (SPEC.md §6): which state may follow which. The
// service and every store apply the same rule.

import type { CommandState } from '@halyard/firmware-protocol';

/** Which states each state may move to. */
const NEXT: Record<CommandState, readonly CommandState[]> = {
  // A device may answer a command whose 'sent' was not yet written when the hub
  // stopped: its answer proves delivery, so queued may move straight on.
  queued: ['sent', 'accepted', 'succeeded', 'failed', 'rejected', 'expired', 'cancelled'],
  sent: ['accepted', 'succeeded', 'failed', 'rejected', 'timed_out', 'cancelled'],
  accepted: ['succeeded', 'failed', 'rejected', 'timed_out', 'cancelled'],
  succeeded: [],
  failed: [],
  rejected: [],
  expired: [],
  timed_out: [],
  cancelled: [],
};

export function canMove(from: CommandState, to: CommandState): boolean {
  return NEXT[from].includes(to);
}
