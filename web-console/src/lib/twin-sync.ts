// Where a twin stands between desired and reported, for its banner: a device that never
// connected cannot be "in sync"; a key waits from when desired changed; a key still
// waiting after a while is "not applied" (the device ignores or refuses it), in words.

import type { TwinInfo } from '@halyard/firmware-protocol';

export type SyncState = 'in-sync' | 'never' | 'offline' | 'waiting' | 'not-applied';

export interface Sync {
  state: SyncState;
  /** Desired keys the device has not reported back, oldest desire first. */
  keys: string[];
  /** When the oldest of them was desired (ms), if known. */
  since: number | undefined;
}

export function twinSync(
  twin: Pick<TwinInfo, 'delta' | 'desiredUpdated'>,
  device: { online: boolean; lastSeen: number | null; connectedAt: number | null } | undefined,
  now: number,
  notAppliedAfterMs: number,
): Sync {
  const keys = Object.keys(twin.delta).sort((a, b) => (twin.desiredUpdated[a] ?? 0) - (twin.desiredUpdated[b] ?? 0));
  const times = keys.map((k) => twin.desiredUpdated[k]).filter((t): t is number => t !== undefined);
  const since = times.length === 0 ? undefined : Math.min(...times);
  if (device !== undefined && device.lastSeen === null && !device.online) return { state: 'never', keys, since };
  if (keys.length === 0) return { state: 'in-sync', keys, since };
  // An offline device cannot apply anything; that is not its refusal.
  if (device !== undefined && !device.online) return { state: 'offline', keys, since };
  // A device gets pending desired keys when it connects: count from then if later.
  const from = since === undefined ? undefined : Math.max(since, device?.connectedAt ?? 0);
  const stuck = from !== undefined && now - from >= notAppliedAfterMs;
  return { state: stuck ? 'not-applied' : 'waiting', keys, since };
}
