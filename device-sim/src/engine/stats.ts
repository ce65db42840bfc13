// Fleet-wide counters and the ack-latency histogram. Devices bump plain fields here
// (no per-message events or allocations), and the status line and summary read
// snapshots. Latency is an HDR histogram, so percentiles are real, not averages.

import { build, type Histogram } from 'hdr-histogram-js';
import type { StopReason } from './close-policy.js';

/** Where a device is in its life (one count per state is kept up to date). */
export type DeviceState = 'idle' | 'connecting' | 'online' | 'backoff' | 'rebooting' | 'stopped';
const STATES: readonly DeviceState[] = ['idle', 'connecting', 'online', 'backoff', 'rebooting', 'stopped'];

export interface LatencySummary {
  /** Acknowledged messages measured. */
  count: number;
  /** Milliseconds, to microsecond resolution. */
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface StatsSnapshot {
  /** ms since the epoch. */
  time: number;
  /** ms since the fleet started. */
  elapsedMs: number;
  devices: number;
  states: Record<DeviceState, number>;
  stopReasons: Partial<Record<StopReason, number>>;
  /** Sessions that reached WELCOME. */
  sessions: number;
  /** Connection attempts after the first one of each device. */
  reconnects: number;
  telemetry: number;
  records: number;
  events: number;
  reported: number;
  /** Uplink messages acknowledged by the hub. */
  acked: number;
  /** Uplink messages sent again on a later connection. */
  resent: number;
  /** Buffered messages not yet acknowledged, fleet-wide. */
  pending: number;
  /** Messages lost from a full offline buffer (oldest first). */
  dropped: number;
  /** Messages dropped after the hub refused them (4400/4413) or as larger than maxFrame. */
  refused: number;
  /** Messages lost with a device's memory (power cut). */
  lost: number;
  commands: { received: number; duplicates: number; succeeded: number; failed: number; rejected: number };
  desiredApplied: number;
  /** Close codes seen (or the code of the ERROR before the close). */
  closes: Record<string, number>;
  /** HTTP answers other than 101 at the upgrade. */
  upgradeFailures: Record<string, number>;
  /** Socket-level errors by code (ECONNREFUSED, EMFILE, EADDRNOTAVAIL, ...). */
  errors: Record<string, number>;
  /** Messages from the hub that broke the protocol. */
  hubProtocolErrors: number;
  chaos: { disconnects: number; silences: number; malformed: number; storms: number; slowDevices: number; skewedDevices: number };
  ackLatency: LatencySummary;
}

type Counters = Omit<StatsSnapshot, 'time' | 'elapsedMs' | 'devices' | 'states' | 'ackLatency' | 'pending'>;

function emptyCounters(): Counters {
  return {
    stopReasons: {},
    sessions: 0,
    reconnects: 0,
    telemetry: 0,
    records: 0,
    events: 0,
    reported: 0,
    acked: 0,
    resent: 0,
    dropped: 0,
    refused: 0,
    lost: 0,
    commands: { received: 0, duplicates: 0, succeeded: 0, failed: 0, rejected: 0 },
    desiredApplied: 0,
    closes: {},
    upgradeFailures: {},
    errors: {},
    hubProtocolErrors: 0,
    chaos: { disconnects: 0, silences: 0, malformed: 0, storms: 0, slowDevices: 0, skewedDevices: 0 },
  };
}

function newHistogram(): Histogram {
  // Microseconds; 3 significant digits. autoResize covers anything beyond an hour.
  return build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });
}

function summarise(h: Histogram): LatencySummary {
  if (h.totalCount === 0) return { count: 0, p50: 0, p90: 0, p99: 0, max: 0 };
  const ms = (us: number) => Math.round(us) / 1_000;
  return {
    count: h.totalCount,
    p50: ms(h.getValueAtPercentile(50)),
    p90: ms(h.getValueAtPercentile(90)),
    p99: ms(h.getValueAtPercentile(99)),
    max: ms(h.maxValue),
  };
}

export function bump(table: Record<string, number>, key: string | number, by = 1): void {
  table[key] = (table[key] ?? 0) + by;
}

export class FleetStats {
  readonly counters: Counters = emptyCounters();
  /** Messages buffered and not yet acknowledged, kept by the devices. */
  pending = 0;
  private readonly states: Record<DeviceState, number> = { idle: 0, connecting: 0, online: 0, backoff: 0, rebooting: 0, stopped: 0 };
  private readonly total = newHistogram();
  private window = newHistogram();
  private readonly startedAt = Date.now();

  constructor(readonly devices: number) {
    this.states.idle = devices;
  }

  move(from: DeviceState, to: DeviceState): void {
    this.states[from]--;
    this.states[to]++;
  }

  state(state: DeviceState): number {
    return this.states[state];
  }

  recordLatency(ms: number): void {
    const us = Math.max(1, Math.round(ms * 1_000));
    this.total.recordValue(us);
    this.window.recordValue(us);
  }

  /** Latency since the previous call (the status line's view), then starts a new window. */
  takeWindow(): LatencySummary {
    const out = summarise(this.window);
    this.window.reset();
    return out;
  }

  snapshot(): StatsSnapshot {
    const c = this.counters;
    const copy = <T extends object>(o: T): T => ({ ...o });
    const states = {} as Record<DeviceState, number>;
    for (const s of STATES) states[s] = this.states[s];
    return {
      ...c,
      stopReasons: copy(c.stopReasons),
      commands: copy(c.commands),
      closes: copy(c.closes),
      upgradeFailures: copy(c.upgradeFailures),
      errors: copy(c.errors),
      chaos: copy(c.chaos),
      time: Date.now(),
      elapsedMs: Date.now() - this.startedAt,
      devices: this.devices,
      states,
      pending: this.pending,
      ackLatency: summarise(this.total),
    };
  }
}
