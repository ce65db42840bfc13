// Home Assistant MQTT discovery (--ha-discovery): one retained config per device
// metric, a sensor (or binary_sensor for booleans) reading its value out of the
// device's SenML telemetry, available while both the device and the hub are
// online, grouped under the device with its model and firmware, with units from
// SenML. Configs render per destination: through a bridge, the state and
// availability topics carry the bridge's prefix, while the config itself stays
// under Home Assistant's discovery prefix where Home Assistant looks for it.

import { createHash } from 'node:crypto';
import type { ResolvedRecord } from '@halyard/firmware-protocol';
import type { HubContext } from '../context.js';
import { HUB_VERSION } from '../version.js';
import { haUnit } from './ha-units.js';
import type { DeviceObserver } from './mirror.js';
import type { OutMessage, Rendered } from './out-message.js';
import type { Publisher } from './publisher.js';
import type { Topics } from './topics.js';

/** Metrics announced per device; beyond it a device's new metrics are not announced (logged once). */
export const MAX_DISCOVERED_METRICS = 256;
/** Devices read from the store per event-loop turn when announcing at start. */
const START_CHUNK = 200;
const ORIGIN = { name: 'Halyard', sw_version: HUB_VERSION };

type Kind = 'number' | 'string' | 'bool';
interface Metric {
  unit: string | undefined;
  kind: Kind;
}

function kindOf(r: { value?: unknown; stringValue?: unknown; boolValue?: unknown }): Kind | undefined {
  if (r.value !== undefined) return 'number';
  if (r.boolValue !== undefined) return 'bool';
  if (r.stringValue !== undefined) return 'string';
  return undefined; // data values and sums have no sensor
}

/** HA ids allow [A-Za-z0-9_-]; anything else becomes _, plus a hash of the original so two names cannot collide. */
export function haId(raw: string): string {
  const clean = raw.replace(/[^A-Za-z0-9_-]/g, '_');
  return clean === raw ? raw : `${clean}_${createHash('sha256').update(raw).digest('hex').slice(0, 6)}`;
}

export class Discovery implements DeviceObserver {
  private readonly metrics = new Map<string, Map<string, Metric>>();
  /** name, model and firmware as last announced, per device. */
  private readonly signatures = new Map<string, string>();
  private readonly full = new Set<string>();
  private stopped = false;

  constructor(
    private readonly ctx: HubContext,
    private readonly topics: Topics,
    private readonly publisher: Publisher,
    private readonly haPrefix: string,
  ) {}

  telemetry(device: string, records: readonly ResolvedRecord[]): void {
    for (const r of records) {
      const kind = kindOf(r);
      if (kind !== undefined) this.observe(device, r.name, { unit: r.unit, kind });
    }
  }

  /** Name, model or firmware may have changed: announce the device's metrics again if so. */
  changed(device: string): void {
    const known = this.metrics.get(device);
    if (known === undefined || this.signature(device) === this.signatures.get(device)) return;
    for (const [name, m] of known) this.announce(device, name, m);
  }

  removed(device: string): void {
    for (const [name, m] of this.metrics.get(device) ?? []) this.publisher.publish(this.message(device, name, m, true));
    this.metrics.delete(device);
    this.signatures.delete(device);
    this.full.delete(device);
  }

  /** Home Assistant (re)started: every config again. */
  republish(): void {
    for (const [device, known] of this.metrics) for (const [name, m] of known) this.announce(device, name, m);
  }

  /** Announces the metrics the store already knows, from each device's latest values. */
  async announceExisting(): Promise<void> {
    const entries = [...this.ctx.fleet.entries()];
    for (let i = 0; i < entries.length && !this.stopped; i += START_CHUNK) {
      for (const e of entries.slice(i, i + START_CHUNK)) {
        if (this.ctx.fleet.get(e.record.id) !== e) continue; // deleted meanwhile
        // The service, not the store: metrics whose points are still in the
        // uncompacted log (a restart soon after they arrived) are only in its tail.
        const { telemetry } = this.ctx;
        const latest = new Map((await telemetry.latest(e.record.rowid)).map((p) => [p.name, p.value]));
        for (const s of await telemetry.series(e.record.rowid)) {
          if (this.metrics.get(e.record.id)?.has(s.name)) continue;
          const v = latest.get(s.name);
          // A series without a latest value (none kept): one with a unit is numeric;
          // one without waits for its next telemetry to say what it is.
          const kind: Kind | undefined =
            typeof v === 'number' || (v === undefined && s.unit !== null)
              ? 'number'
              : typeof v === 'boolean'
                ? 'bool'
                : typeof v === 'string'
                  ? 'string'
                  : undefined;
          if (kind !== undefined) this.observe(e.record.id, s.name, { unit: s.unit ?? undefined, kind });
        }
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** Stops a start-up announcement still in progress (shutdown). */
  stop(): void {
    this.stopped = true;
  }

  private observe(device: string, name: string, m: Metric): void {
    let known = this.metrics.get(device);
    if (known === undefined) {
      known = new Map();
      this.metrics.set(device, known);
    }
    const old = known.get(name);
    if (old !== undefined && old.unit === m.unit && old.kind === m.kind) return;
    if (old === undefined && known.size >= MAX_DISCOVERED_METRICS) {
      if (!this.full.has(device))
        this.ctx.log.warn({ device, limit: MAX_DISCOVERED_METRICS }, 'Home Assistant discovery: too many metrics');
      this.full.add(device);
      return;
    }
    // A boolean turning numeric (or back) moves between components: clear the old config.
    if (old !== undefined && (old.kind === 'bool') !== (m.kind === 'bool')) this.publisher.publish(this.message(device, name, old, true));
    known.set(name, m);
    this.announce(device, name, m);
  }

  private signature(device: string): string {
    const r = this.ctx.fleet.get(device)?.record;
    return JSON.stringify([r?.name, r?.model, r?.firmware]);
  }

  private announce(device: string, name: string, m: Metric): void {
    this.signatures.set(device, this.signature(device));
    this.publisher.publish(this.message(device, name, m, false));
  }

  /** The retained config of one metric (or its removal), rendered per destination. */
  private message(device: string, name: string, m: Metric, clear: boolean): OutMessage {
    const rendered = new Map<string, Rendered>();
    const render = (bridgePrefix: string): Rendered => {
      let r = rendered.get(bridgePrefix);
      if (r === undefined) {
        const node = haId(`${bridgePrefix}${this.topics.prefix}_${device}`);
        const component = m.kind === 'bool' ? 'binary_sensor' : 'sensor';
        const topic = `${this.haPrefix}/${component}/${node}/${haId(name)}/config`;
        r = { topic, payload: clear ? Buffer.alloc(0) : Buffer.from(JSON.stringify(this.config(device, name, m, node, bridgePrefix))) };
        rendered.set(bridgePrefix, r);
      }
      return r;
    };
    return { key: render('').topic, lane: 'state', tombstone: clear, render };
  }

  /** The discovery payload (https://www.home-assistant.io/integrations/mqtt/#mqtt-discovery). */
  config(device: string, name: string, m: Metric, node: string, bridgePrefix: string): Record<string, unknown> {
    const record = this.ctx.fleet.get(device)?.record;
    const field = m.kind === 'number' ? 'v' : m.kind === 'bool' ? 'vb' : 'vs';
    const pick = `{% set r = value_json | selectattr('n', 'eq', '${name}') | list %}`;
    // A pack without this metric renders '', which Home Assistant ignores: the state stays.
    const value = m.kind === 'bool' ? `{{ ('ON' if r[-1].vb else 'OFF') if r else '' }}` : `{{ r[-1].${field} if r else '' }}`;
    const unit = m.kind === 'number' ? haUnit(m.unit) : undefined;
    return {
      name,
      unique_id: `${node}_${haId(name)}`,
      state_topic: bridgePrefix + this.topics.telemetry(device),
      value_template: pick + value,
      ...(unit === undefined ? {} : { unit_of_measurement: unit.unit }),
      ...(unit?.deviceClass === undefined ? {} : { device_class: unit.deviceClass }),
      ...(m.kind === 'number' ? { state_class: 'measurement' } : {}),
      ...(m.kind === 'bool' ? { payload_on: 'ON', payload_off: 'OFF' } : {}),
      availability: [{ topic: bridgePrefix + this.topics.status(device) }, { topic: bridgePrefix + this.topics.hubStatus() }],
      availability_mode: 'all',
      payload_available: 'online',
      payload_not_available: 'offline',
      device: {
        identifiers: [node],
        name: record?.name ?? device,
        ...(record?.model ? { model: record.model } : {}),
        ...(record?.firmware ? { sw_version: record.firmware } : {}),
      },
      origin: ORIGIN,
    };
  }
}
