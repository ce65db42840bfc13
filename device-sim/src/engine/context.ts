// What every device of a fleet shares: where the hub is, the knobs, the counters and
// the event emitter. One object per fleet, so a device costs one pointer for it.

import type { EventEmitter } from 'node:events';
import type { BackoffOptions, DataMap } from '@halyard/firmware-protocol';
import type { ClientOptions } from 'ws';
import type { ChaosOptions } from '../chaos/chaos.js';
import type { ProfileName } from '../profiles/profile.js';
import type { StopReason } from './close-policy.js';
import type { CommandOutcome } from './command-log.js';
import type { Random } from './random.js';
import type { FleetStats } from './stats.js';
import type { UpdateFault, UpdateOptions } from './updater.js';

/** A device to simulate: its credential and, optionally, its profile. */
export interface DeviceSpec {
  id: string;
  /** `<id>.<secret>` as the hub issued it. */
  token: string;
  profile?: ProfileName;
  /** This device's firmware-update fault, whatever the fleet's (`null`: none); absent: the fleet's for the chaos share. */
  updateFault?: UpdateFault | null;
}

/** Events a fleet emits, for tests, the demo and tools (not needed to run a fleet). */
export interface FleetEventMap {
  /** A session reached WELCOME. */
  online: [{ id: string; session: string; acked: number; boot: number; fw: string }];
  /** A connection ended (or never opened); `retryInMs` is absent when the device stops. */
  offline: [{ id: string; code?: number; status?: number; retryInMs?: number }];
  /** A device gave up for good. */
  stopped: [{ id: string; reason: StopReason }];
  /** A command got its outcome (repeats of a known id are not re-emitted). */
  command: [{ id: string; command: { id: string; name: string }; outcome: CommandOutcome }];
  /** A DESIRED document was applied and `reported` queued. */
  desired: [{ id: string; version: number; reported: DataMap }];
  /** An UPDATE_STATUS was queued (SPEC.md §12.5): state and reason by name, bytes held. */
  update: [{ id: string; job: string; state: string; reason?: string; progress: number }];
  /** A fault was injected. */
  chaos: [{ id: string; kind: 'disconnect' | 'silent' | 'malformed' | 'storm' }];
}

export interface FleetContext {
  /** ws[s]://host:port/v1/device */
  url: string;
  /** TLS and socket options shared by every connection. */
  socket: Pick<ClientOptions, 'ca' | 'rejectUnauthorized'>;
  /** Telemetry messages per second per device; undefined: each profile's own rate. */
  rate: number | undefined;
  /** Records per TELEMETRY; 0: one sample of the profile (its natural 2-4 records). */
  batch: number;
  /** Offline buffer size, messages. */
  buffer: number;
  backoff: BackoffOptions;
  chaos: ChaosOptions;
  stats: FleetStats;
  events: EventEmitter<FleetEventMap>;
  /** Jitter and chaos picks; profiles get their own seeded streams. */
  random: Random;
  seed: number;
  /** Local address for device `index` (spreads ports over 127.0.0.x). */
  localAddress(index: number): string | undefined;
  /** False once drain() began: no new readings or events, no chaos. */
  producing: boolean;
  /** Update behaviour of a device: `chaotic` devices get the fleet's fault, unless `own` (the device's spec) says otherwise. */
  updates(chaotic: boolean, own?: UpdateFault | null): UpdateOptions;
  /** Called once per device after HTTP 401: a new token to retry with, or undefined to stop. */
  onUnauthorized: ((id: string) => Promise<string | undefined>) | undefined;
}
