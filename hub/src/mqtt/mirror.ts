// The hub's bus, mirrored onto its MQTT topics (README.md § MQTT): presence
// as retained device status, committed telemetry as SenML JSON, events, twins
// (retained), and every command state change. Bus handlers run inside the
// gateways' and the store's callbacks, so they only build a message around data
// they already have; serialising and delivering happen later, in the sinks.
// In a cluster each node mirrors only the events that happened on it (the bus's
// local scope): every event is published once, and the brokers carry it to the
// integrators on every node. A second mirror of the other nodes' events (scope
// `remote`) feeds only the leader's bridges and discovery (index.ts).

import type { AlarmInfo, CommandInfo, ResolvedRecord, TwinInfo } from '@halyard/firmware-protocol';
import type { BusScope } from '../bus.js';
import type { HubContext } from '../context.js';
import { outMessage, tombstone } from './out-message.js';
import { commandStatus, eventJson, json, senmlJson, twinDesiredJson, twinReportedJson } from './payloads.js';
import type { Publisher } from './publisher.js';
import type { Topics } from './topics.js';

/** What discovery needs to hear about (discovery.ts). */
export interface DeviceObserver {
  telemetry(device: string, records: readonly ResolvedRecord[]): void;
  changed(device: string): void;
  removed(device: string): void;
}

/** Devices whose retained state is published per event-loop turn at start. */
const START_CHUNK = 500;

/** An alarm on MQTT: as the API has it, without its history (GET /api/v1/alarms/{id} has that). */
const alarmJson = ({ history: _, ...rest }: AlarmInfo) => rest;

const online = (on: boolean) => Buffer.from(on ? 'online' : 'offline');

export class Mirror {
  private readonly unsubscribe: (() => void)[] = [];
  /** Last published twin versions per device, so a twin event publishes only the half that changed. */
  private readonly twinVersions = new Map<string, { desired: number; reported: number }>();
  /** Devices whose status has been published since start. */
  private readonly statusKnown = new Set<string>();
  private running = false;

  constructor(
    private readonly ctx: HubContext,
    private readonly topics: Topics,
    private readonly publisher: Pick<Publisher, 'publish'>,
    private readonly observer: DeviceObserver | undefined,
    private readonly scope: BusScope = 'local',
  ) {}

  start(): void {
    const { bus } = this.ctx;
    this.running = true;
    this.unsubscribe.push(
      bus.subscribe(
        'presence',
        ({ presence }) => {
          this.status(presence.device, presence.online);
          // HELLO may have brought a new model or firmware.
          if (presence.online) this.observer?.changed(presence.device);
        },
        this.scope,
      ),
      bus.subscribe(
        'telemetry',
        ({ device, records }) => {
          this.publisher.publish(outMessage(this.topics.telemetry(device), 'stream', () => senmlJson(records)));
          this.observer?.telemetry(device, records);
        },
        this.scope,
      ),
      bus.subscribe(
        'event',
        ({ event }) => {
          this.publisher.publish(outMessage(this.topics.events(event.device), 'stream', () => eventJson(event), 'events'));
        },
        this.scope,
      ),
      bus.subscribe('command', ({ command }) => this.command(command), this.scope),
      bus.subscribe('twin', ({ twin }) => this.twin(twin), this.scope),
      bus.subscribe(
        'device',
        ({ device }) => {
          if (!this.statusKnown.has(device.id)) this.status(device.id, device.online);
          this.observer?.changed(device.id);
        },
        this.scope,
      ),
      bus.subscribe('device.removed', ({ id }) => this.removed(id), this.scope),
      // Published once on the bus, by the node that evaluated it.
      bus.subscribe('alarm', ({ alarm }) => this.alarm(alarm), this.scope),
    );
  }

  stop(): void {
    this.running = false;
    for (const u of this.unsubscribe.splice(0)) u();
  }

  /** The hub's own availability: retained, `online` while it runs. */
  hubStatus(on: boolean): void {
    this.publisher.publish(outMessage(this.topics.hubStatus(), 'state', online(on)));
  }

  /**
   * The retained state of the whole fleet, for a broker that starts empty:
   * statuses and twins. `again`: all of it, also what was published since start
   * (the cluster's Redis came back: what was published meanwhile never reached the
   * other nodes).
   */
  async publishFleet(again = false): Promise<void> {
    const ids = [...this.ctx.fleet.entries()].map((e) => e.record.id);
    for (let i = 0; i < ids.length && this.running; i += START_CHUNK) {
      for (const id of ids.slice(i, i + START_CHUNK)) {
        const e = this.ctx.fleet.get(id);
        if (e === undefined) continue; // deleted meanwhile
        // Online here, or on another node of a cluster.
        const on = (e.session?.isOpen ?? false) || e.remote !== undefined;
        if (again || !this.statusKnown.has(id)) this.status(id, on);
        const twin = await this.ctx.twins.get(id);
        if (again) this.twinVersions.delete(id);
        this.twin(twin);
        const alarms = this.ctx.alarmEvaluator.current(id);
        if (alarms.length > 0) this.publisher.publish(outMessage(this.topics.alarms(id), 'state', json(alarms.map(alarmJson)), 'status'));
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  private status(device: string, on: boolean): void {
    this.statusKnown.add(device);
    this.publisher.publish(outMessage(this.topics.status(device), 'state', online(on)));
  }

  private command(c: CommandInfo): void {
    this.publisher.publish(outMessage(this.topics.commandStatus(c.device, c.name), 'control', () => json(commandStatus(c))));
  }

  private twin(t: TwinInfo): void {
    const last = this.twinVersions.get(t.device) ?? { desired: 0, reported: 0 };
    // Versions only rise: an older snapshot (read at start while events arrive) is never published over a newer one.
    if (t.desiredVersion > last.desired) {
      this.publisher.publish(outMessage(this.topics.twinDesired(t.device), 'state', twinDesiredJson(t), 'twin'));
    }
    if (t.reportedVersion > last.reported) {
      this.publisher.publish(outMessage(this.topics.twinReported(t.device), 'state', twinReportedJson(t), 'twin'));
    }
    this.twinVersions.set(t.device, {
      desired: Math.max(last.desired, t.desiredVersion),
      reported: Math.max(last.reported, t.reportedVersion),
    });
  }

  private alarm(a: AlarmInfo): void {
    this.publisher.publish(outMessage(this.topics.alarmStream(), 'stream', () => json(alarmJson(a)), 'events'));
    const current = this.ctx.alarmEvaluator.current(a.device).map(alarmJson);
    this.publisher.publish(outMessage(this.topics.alarms(a.device), 'state', json(current), 'status'));
  }

  private removed(device: string): void {
    this.statusKnown.delete(device);
    this.twinVersions.delete(device);
    for (const topic of [
      this.topics.status(device),
      this.topics.twinDesired(device),
      this.topics.twinReported(device),
      this.topics.alarms(device),
    ]) {
      this.publisher.publish(tombstone(topic));
    }
    this.observer?.removed(device);
  }
}
