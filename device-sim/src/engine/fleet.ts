// A fleet: many SimDevices sharing one context, started over a ramp, driven by one
// sweep timer (watchdogs and chaos for all devices), plus reconnect storms. This is
// what startFleet() returns; the CLI, `npm run demo` and the benchmarks all use it.

import { EventEmitter } from 'node:events';
import { type BackoffOptions, DEFAULT_BACKOFF, DEVICE_PATH, isDeviceId } from '@halyard/firmware-protocol';
import { type ChaosOptions, isChaotic, NO_CHAOS } from '../chaos/chaos.js';
import { SimError, SimErrorCode } from '../errors.js';
import type { ProfileChoice, ProfileName } from '../profiles/profile.js';
import { createProfile, profileFor } from '../profiles/registry.js';
import type { StopReason } from './close-policy.js';
import type { DeviceSpec, FleetContext, FleetEventMap } from './context.js';
import { SimDevice } from './device.js';
import { childSeed, seededRandom } from './random.js';
import { type DeviceState, FleetStats, type LatencySummary, type StatsSnapshot } from './stats.js';
import { DEFAULT_UPDATE_OPTIONS, UPDATE_FAULTS, type UpdateOptions } from './updater.js';

export interface FleetOptions {
  /** The hub: `ws://host:port` or `wss://host:port` (the device path is added when absent). */
  hub: string;
  /** Devices and their tokens, e.g. from provisionDevices() or a tokens file. */
  devices: readonly DeviceSpec[];
  /** Profile for devices whose spec names none. Default `mixed`. */
  profile?: ProfileChoice;
  /** Telemetry messages per second per device. Default: each profile's own rate. */
  rate?: number;
  /** Records per TELEMETRY, 1-1000. Default 0: one sample (the profile's 2-4 records). */
  batch?: number;
  /** Devices start evenly over this long, ms. Default 0: all at once. */
  rampMs?: number;
  /** Thermostats overheat then cool in cycles this long, ms (drives alarms in and out). Default 0: never. */
  overheatMs?: number;
  /** Reconnect backoff (SPEC.md §8.3), ms. Default base 1 s, cap 60 s. */
  backoff?: Partial<BackoffOptions>;
  /** Offline buffer per device, messages. Default 1000. */
  buffer?: number;
  /** For wss: a CA to trust (PEM), or `insecure` to skip verification (labs only). */
  tls?: { ca?: string | Buffer; insecure?: boolean };
  /** Local addresses to connect from, round-robin over devices (e.g. 127.0.0.1-127.0.0.8). */
  sourceAddresses?: readonly string[];
  /** Fault injection; all off by default. */
  chaos?: Partial<ChaosOptions>;
  /**
   * Firmware updates (SPEC.md §12): link speed, request window, the public key to
   * verify signatures with, and a fault for the chaos share (--chaos-devices).
   */
  updates?: Partial<UpdateOptions>;
  /** Seed for every random choice. Default: random. */
  seed?: number;
  /** After HTTP 401, asked once per device for a fresh token; undefined stops the device. */
  onUnauthorized?: (id: string) => Promise<string | undefined>;
}

/** A read-only view of one simulated device, plus test hooks. */
export interface DeviceHandle {
  readonly id: string;
  readonly profile: ProfileName;
  readonly state: DeviceState;
  readonly stopReason: StopReason | undefined;
  /** Messages buffered and not yet acknowledged. */
  readonly pending: number;
  readonly nextSeq: number;
  /** A power cut on firmware without flash: drops the link, counter back to 1, buffer lost, boots again. */
  forgetMemory(): void;
}

export interface Fleet {
  readonly size: number;
  /** Typed events (online, offline, stopped, command, desired, chaos). */
  readonly events: EventEmitter<FleetEventMap>;
  stats(): StatsSnapshot;
  /** Ack latency since the previous call (for a live view). */
  takeLatencyWindow(): LatencySummary;
  device(id: string): DeviceHandle | undefined;
  devices(): DeviceHandle[];
  /** Every online device drops and reconnects at once, without backoff. */
  storm(): void;
  /**
   * Stops new readings, events and chaos, and resolves true once every buffered message
   * is acknowledged (false after `timeoutMs`). Connections stay up: commands still run.
   * For tests and benchmarks that compare what was sent with what the hub stored.
   */
  drain(timeoutMs?: number): Promise<boolean>;
  /** Closes every connection and stops; resolves with the final statistics. */
  stop(): Promise<StatsSnapshot>;
}

/** How often the sweep checks watchdogs and chaos timers, ms. */
const SWEEP_MS = 250;

function fail(message: string): never {
  throw new SimError(SimErrorCode.FleetOptions, message);
}

function deviceUrl(hub: string): string {
  let url: URL;
  try {
    url = new URL(hub);
  } catch {
    fail(`hub "${hub}" is not a URL`);
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') fail(`hub "${hub}" must be ws:// or wss://`);
  if (url.pathname === '' || url.pathname === '/') url.pathname = DEVICE_PATH;
  return url.toString();
}

function check(options: FleetOptions): void {
  if (options.devices.length === 0) fail('no devices to simulate');
  const ids = new Set<string>();
  for (const d of options.devices) {
    if (!isDeviceId(d.id)) fail(`"${d.id}" is not a valid device id (SPEC.md §3.5)`);
    if (ids.has(d.id)) fail(`device "${d.id}" is listed twice`);
    ids.add(d.id);
    if (typeof d.token !== 'string' || d.token.length === 0) fail(`device "${d.id}" has no token`);
    if (d.updateFault != null && !(UPDATE_FAULTS as readonly string[]).includes(d.updateFault))
      fail(`device "${d.id}": updateFault must be one of ${UPDATE_FAULTS.join(', ')}`);
  }
  const { rate, batch, buffer } = options;
  if (rate !== undefined && !(rate > 0 && rate <= 10_000)) fail('rate must be above 0 and at most 10000 messages/s');
  if (batch !== undefined && !(Number.isInteger(batch) && batch >= 0 && batch <= 1_000)) fail('batch must be an integer from 0 to 1000');
  if (buffer !== undefined && !(Number.isInteger(buffer) && buffer >= 1)) fail('buffer must be a positive integer');
}

export function startFleet(options: FleetOptions): Fleet {
  check(options);
  const backoff: BackoffOptions = { ...DEFAULT_BACKOFF, ...options.backoff };
  if (!(backoff.baseMs > 0 && backoff.capMs >= backoff.baseMs)) fail('backoff needs 0 < base <= cap');
  const chaos: ChaosOptions = { ...NO_CHAOS, ...options.chaos };
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 32);
  const stats = new FleetStats(options.devices.length);
  const events = new EventEmitter<FleetEventMap>();
  // Tests and tools may attach a listener per awaited event; that is not a leak.
  events.setMaxListeners(0);
  const addresses = options.sourceAddresses ?? [];
  const updates: UpdateOptions = { ...DEFAULT_UPDATE_OPTIONS, ...options.updates };
  if (!(Number.isInteger(updates.window) && updates.window >= 1 && updates.window <= 16)) fail('updates.window must be from 1 to 16');
  if (!(updates.speed >= 0)) fail('updates.speed must be 0 or more bytes/s');
  const sound: UpdateOptions = Object.freeze({ ...updates, fault: undefined });
  Object.freeze(updates);
  const ctx: FleetContext = {
    url: deviceUrl(options.hub),
    socket: {
      ...(options.tls?.ca === undefined ? {} : { ca: options.tls.ca }),
      ...(options.tls?.insecure === true ? { rejectUnauthorized: false } : {}),
    },
    rate: options.rate,
    batch: options.batch ?? 0,
    buffer: options.buffer ?? 1_000,
    backoff,
    chaos,
    stats,
    events,
    random: seededRandom(seed),
    seed,
    localAddress: (index) => (addresses.length === 0 ? undefined : addresses[index % addresses.length]),
    onUnauthorized: options.onUnauthorized,
    updates: (chaotic, own) =>
      own === undefined ? (chaotic ? updates : sound) : own === null ? sound : Object.freeze({ ...updates, fault: own }),
    producing: true,
  };

  const choice = options.profile ?? 'mixed';
  const devices = options.devices.map((spec, index) => {
    const random = seededRandom(childSeed(seed, index));
    const chaotic = isChaotic(index, chaos.fraction);
    const skewMs = chaotic && chaos.skewMs > 0 ? (random() < 0.5 ? -chaos.skewMs : chaos.skewMs) : 0;
    if (chaotic && chaos.slowMs > 0) stats.counters.chaos.slowDevices++;
    if (skewMs !== 0) stats.counters.chaos.skewedDevices++;
    const profile = createProfile(spec.profile ?? profileFor(choice, index), {
      random,
      now: Date.now() + skewMs,
      index,
      overheatMs: options.overheatMs ?? 0,
    });
    // Each device gets its own copy of the spec: a re-provisioned token is written into it.
    return new SimDevice({ ...spec }, index, profile, ctx, chaotic, skewMs);
  });
  const byId = new Map(devices.map((d) => [d.id, d]));

  const rampMs = Math.max(0, options.rampMs ?? 0);
  const starters = devices.map((d, i) => setTimeout(() => d.start(), (i * rampMs) / devices.length));
  const sweep = setInterval(() => {
    const now = performance.now();
    for (const d of devices) d.sweep(now);
  }, SWEEP_MS);

  const storm = (): void => {
    stats.counters.chaos.storms++;
    events.emit('chaos', { id: '*', kind: 'storm' });
    for (const d of devices) d.storm();
  };
  const stormTimer = chaos.stormEveryMs > 0 ? setInterval(storm, chaos.stormEveryMs) : undefined;

  const handle = (d: SimDevice): DeviceHandle => ({
    id: d.id,
    profile: d.profile.name,
    get state() {
      return d.state;
    },
    get stopReason() {
      return d.stopReason;
    },
    get pending() {
      return d.pending;
    },
    get nextSeq() {
      return d.nextSeq;
    },
    forgetMemory: () => d.forgetMemory(),
  });

  let stopping: Promise<StatsSnapshot> | undefined;
  return {
    size: devices.length,
    events,
    stats: () => stats.snapshot(),
    takeLatencyWindow: () => stats.takeWindow(),
    device: (id) => {
      const d = byId.get(id);
      return d === undefined ? undefined : handle(d);
    },
    devices: () => devices.map(handle),
    storm,
    drain: (timeoutMs = 30_000) => {
      ctx.producing = false;
      clearInterval(stormTimer);
      const deadline = performance.now() + timeoutMs;
      return new Promise((resolve) => {
        // Polled: pending is a counter many devices change, and this is a rare call.
        const poll = setInterval(() => {
          const done = stats.pending === 0;
          if (done || performance.now() > deadline) {
            clearInterval(poll);
            resolve(done);
          }
        }, 20);
      });
    },
    stop: () => {
      stopping ??= (async () => {
        for (const t of starters) clearTimeout(t);
        clearInterval(sweep);
        clearInterval(stormTimer);
        await Promise.all(devices.map((d) => d.stop()));
        return stats.snapshot();
      })();
      return stopping;
    },
  };
}
