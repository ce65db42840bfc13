// The newest value of each metric of every device, for the fleet table's value
// columns and the map. Loaded from the fleet-wide latest API a page at a time (it is
// paged: `after` / `next`) and refreshed every few seconds; the rows on screen also
// follow the live telemetry stream (the hub streams at most 50 named devices), so what
// the operator looks at is live within a second.

import type { TelemetryPoint } from '@halyard/firmware-protocol';
import { Batcher, nextFrame, type Schedule } from './batcher.ts';

export type LatestValue = number | string | boolean;

export interface Latest {
  v: LatestValue;
  unit: string | undefined;
  t: number;
}

/** One device's entry in GET /telemetry/latest. */
export interface ApiLatest {
  name: string;
  unit?: string | null;
  t: number;
  v?: number;
  vs?: string;
  vb?: boolean;
}

export class LatestStore {
  private readonly byDevice = new Map<string, Map<string, Latest>>();
  private readonly names = new Map<string, number>();
  private readonly versions = new Map<string, number>();
  private readonly listeners = new Set<() => void>();
  private readonly batcher: Batcher;
  /** Bumps on every change (sorting by a value column re-sorts on it, throttled). */
  version = 0;

  constructor(schedule: Schedule = nextFrame) {
    this.batcher = new Batcher(() => {
      for (const fn of this.listeners) fn();
    }, schedule);
  }

  /** Bumps when one of the device's values changes: rows re-render only then. */
  deviceVersion(device: string): number {
    return this.versions.get(device) ?? 0;
  }

  get(device: string, metric: string): Latest | undefined {
    return this.byDevice.get(device)?.get(metric);
  }

  /** Every metric name any device has reported, with how many devices have it. */
  metricNames(): ReadonlyMap<string, number> {
    return this.names;
  }

  /** The metrics `devices` have, most common first. */
  metricsOf(devices: Iterable<string>): string[] {
    const n = new Map<string, number>();
    for (const id of devices) for (const name of this.byDevice.get(id)?.keys() ?? []) n.set(name, (n.get(name) ?? 0) + 1);
    return [...n.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([name]) => name);
  }

  readonly subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };

  private set(device: string, name: string, value: Latest): void {
    let m = this.byDevice.get(device);
    if (m === undefined) {
      m = new Map();
      this.byDevice.set(device, m);
    }
    const old = m.get(name);
    // A page fetched before a live point must not take it back.
    if (old !== undefined && (old.t > value.t || (old.t === value.t && old.v === value.v))) return;
    if (old === undefined) this.names.set(name, (this.names.get(name) ?? 0) + 1);
    m.set(name, value);
    this.versions.set(device, (this.versions.get(device) ?? 0) + 1);
  }

  /** One page of GET /telemetry/latest. */
  applyPage(devices: Record<string, ApiLatest[]>): void {
    for (const [id, metrics] of Object.entries(devices)) {
      for (const p of metrics) {
        const v = p.v ?? p.vs ?? p.vb;
        if (v === undefined) continue;
        this.set(id, p.name, { v, unit: p.unit ?? undefined, t: p.t });
      }
    }
    this.changed();
  }

  /** Live points from the telemetry stream. */
  applyLive(device: string, points: readonly TelemetryPoint[]): void {
    for (const p of points) {
      const v = p.value ?? p.stringValue ?? p.boolValue;
      if (v === undefined) continue;
      this.set(device, p.name, { v, unit: p.unit, t: p.time });
    }
    this.changed();
  }

  /** A deleted device's values go with it. */
  remove(device: string): void {
    const m = this.byDevice.get(device);
    if (m === undefined) return;
    for (const name of m.keys()) {
      const n = (this.names.get(name) ?? 1) - 1;
      if (n === 0) this.names.delete(name);
      else this.names.set(name, n);
    }
    this.byDevice.delete(device);
    this.versions.delete(device);
    this.changed();
  }

  private changed(): void {
    this.version++;
    this.batcher.mark();
  }
}
