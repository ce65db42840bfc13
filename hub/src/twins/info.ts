// A twin as the API, console and MQTT show it: both documents, their versions, and
// the delta (desired keys reported does not match yet).

import { deepEqual, type JsonObject, type TwinInfo } from '@halyard/firmware-protocol';
import type { TwinState } from '../store/store.js';

/** Desired keys whose value differs from reported. */
export function twinDelta(t: TwinState): JsonObject {
  const delta: JsonObject = {};
  for (const [k, v] of Object.entries(t.desired)) if (!deepEqual(v, t.reported[k])) delta[k] = v;
  return delta;
}

export function twinInfo(deviceId: string, t: TwinState): TwinInfo {
  return {
    device: deviceId,
    desired: t.desired,
    desiredVersion: t.desiredVersion,
    reported: t.reported,
    reportedVersion: t.reportedVersion,
    delta: twinDelta(t),
    desiredUpdated: t.desiredUpdated,
    reportedUpdated: t.reportedUpdated,
  };
}
