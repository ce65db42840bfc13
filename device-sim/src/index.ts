// @halyard/device-sim: simulated Halyard devices, as a library.
//
// The CLI (main.ts, `npm run sim`) is one user of this API; `npm run demo` and the
// benchmarks are others. Devices speak only the wire protocol (SPEC.md) over real
// sockets, exactly like firmware would, so the hub cannot tell them from hardware.
//
// Start a fleet from tokens you already have:
//
//   import { startFleet } from '@halyard/device-sim';
//   const fleet = startFleet({
//     hub: 'ws://127.0.0.1:8080',
//     devices: [{ id: 'thermo-1', token: 'thermo-1.<secret>' }],
//     profile: 'mixed',            // or one of PROFILE_NAMES; per device via `devices[i].profile`
//   });
//   fleet.events.on('online', ({ id }) => console.log(id, 'online'));
//   console.log(fleet.stats());    // counters, states, ack latency percentiles
//   await fleet.stop();            // closes every socket; resolves with the final stats
//
// Or create the devices through the hub's HTTP API first (what `npm run demo` needs):
//
//   const { devices, renew } = await provisionDevices({
//     hub: 'ws://127.0.0.1:8080', count: 25, profile: 'mixed',
//     auth: { user: 'admin', password }, tokensPath: 'tokens.json', // tokensPath optional
//   });
//   const fleet = startFleet({ hub: 'ws://127.0.0.1:8080', devices, onUnauthorized: renew });
//
// FleetOptions documents every knob (rate, batch, ramp, backoff, buffer, tls,
// sourceAddresses, chaos, updates, seed). Everything runs in the calling process: for load
// tests, start the fleet in a process of its own so it does not share the hub's CPU.

export type { ChaosOptions } from './chaos/chaos.js';
export { NO_CHAOS } from './chaos/chaos.js';
export type { StopReason } from './engine/close-policy.js';
export type { CommandOutcome } from './engine/command-log.js';
export type { DeviceSpec, FleetEventMap } from './engine/context.js';
export { type DeviceHandle, type Fleet, type FleetOptions, startFleet } from './engine/fleet.js';
export { seededRandom } from './engine/random.js';
export type { DeviceState, LatencySummary, StatsSnapshot } from './engine/stats.js';
export { parseUpdateKey } from './engine/update-key.js';
export { DEFAULT_UPDATE_OPTIONS, UPDATE_FAULTS, type UpdateFault, type UpdateOptions } from './engine/updater.js';
export { isSimError, SimError, SimErrorCode, type SimErrorCodeString } from './errors.js';
export type { LoadOptions } from './load/load-gen.js';
export { PROFILE_NAMES, type Profile, type ProfileChoice, type ProfileName } from './profiles/profile.js';
export { createProfile, PROFILE_CHOICES } from './profiles/registry.js';
export { apiBaseFor } from './provision/api-client.js';
export {
  deviceIds,
  loadDevices,
  type OperatorAuth,
  type Provisioned,
  type ProvisionOptions,
  provisionDevices,
} from './provision/provision.js';
export { formatSummary, type Summary, summarise } from './report/summary.js';
