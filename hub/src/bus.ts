// The hub's typed event bus: how the gateways, MQTT, the console and the store
// meet. Behind an interface so that cluster mode backs it with Redis
// (cluster/cluster-bus.ts) and nothing else changes. Handlers run synchronously and
// must not block: each subscriber queues its own work.
//
// In a cluster every event reaches every node. A subscriber says which it wants
// (BusScope): consoles want them all; whatever must happen once per event in the
// cluster (the MQTT mirror, integrations) takes only this node's ('local'); whatever
// keeps this node's memory in step with another's (command and twin delivery, the
// fleet) takes only the others' ('remote'). A single hub has only local events.

import type {
  AlarmInfo,
  CommandInfo,
  DeviceInfo,
  EventInfo,
  JobProgressInfo,
  PresenceInfo,
  ResolvedRecord,
  TwinInfo,
  UpdateInfo,
} from '@halyard/firmware-protocol';
import type { Logger } from './log.js';

export interface BusEvents {
  /** Telemetry rows committed for a device. */
  telemetry: { device: string; records: readonly ResolvedRecord[] };
  presence: { presence: PresenceInfo; rtt: number | null; lastSeen: number | null };
  device: { device: DeviceInfo };
  'device.removed': { id: string };
  event: { event: EventInfo };
  command: { command: CommandInfo };
  twin: { twin: TwinInfo };
  /** A firmware update started or changed (updates/service.ts). */
  update: { update: UpdateInfo };
  /**
   * An operator's sessions ended (logout, disabled, role or password changed, deleted);
   * tokenHash (hex) names the one session that ended, keepTokenHash (hex) the one that
   * did not (the session that changed its own password).
   */
  'session.ended': { username: string; tokenHash?: string; keepTokenHash?: string };
  /** An alarm was raised, acknowledged, cleared or flapped (README.md § Alarms and notifications); published by the node that evaluated it. */
  alarm: { alarm: AlarmInfo };
  /** An alarm rule was created, changed or deleted: every node reloads it from the store. */
  'alarm.rule': { id: string };
  /** A fleet job's progress changed (jobs/scheduler.ts, on the leader): every node's consoles hear of it. */
  job: { progress: JobProgressInfo };
}

export type BusTopic = keyof BusEvents;
export const BUS_TOPICS: readonly BusTopic[] = [
  'telemetry',
  'presence',
  'device',
  'device.removed',
  'event',
  'command',
  'twin',
  'update',
  'session.ended',
  'alarm',
  'alarm.rule',
  'job',
];

/** Where an event was published: on this node (`local`), or on `node`. */
export interface BusOrigin {
  local: boolean;
  /** The publishing node's id (--node-id); undefined on a single hub. */
  node: string | undefined;
}
export type BusHandler<K extends BusTopic> = (payload: BusEvents[K], origin: BusOrigin) => void;

/** Which events a subscriber gets: every node's (`all`, the default), this node's only, or the other nodes' only. */
export type BusScope = 'all' | 'local' | 'remote';

export interface EventBus {
  publish<K extends BusTopic>(topic: K, payload: BusEvents[K]): void;
  /** Returns a function that unsubscribes. */
  subscribe<K extends BusTopic>(topic: K, handler: BusHandler<K>, scope?: BusScope): () => void;
}

/** Subscribers by topic and scope, and delivery to them; the single hub's bus and the cluster bus's local half. */
export class LocalBus implements EventBus {
  private readonly handlers = new Map<BusTopic, Set<{ handler: BusHandler<BusTopic>; scope: BusScope }>>();
  private readonly here: BusOrigin;

  constructor(
    private readonly log: Logger,
    nodeId?: string,
  ) {
    this.here = { local: true, node: nodeId };
  }

  publish<K extends BusTopic>(topic: K, payload: BusEvents[K]): void {
    this.deliver(topic, payload, this.here);
  }

  /** Hands an event to the subscribers whose scope takes it. */
  deliver<K extends BusTopic>(topic: K, payload: BusEvents[K], origin: BusOrigin): void {
    const set = this.handlers.get(topic);
    if (set === undefined) return;
    const skip: BusScope = origin.local ? 'remote' : 'local';
    for (const { handler, scope } of set) {
      if (scope === skip) continue;
      try {
        (handler as BusHandler<K>)(payload, origin);
      } catch (err) {
        // One broken subscriber must not stop the others or the publisher.
        this.log.error({ err, topic }, 'bus subscriber failed');
      }
    }
  }

  subscribe<K extends BusTopic>(topic: K, handler: BusHandler<K>, scope: BusScope = 'all'): () => void {
    let set = this.handlers.get(topic);
    if (set === undefined) {
      set = new Set();
      this.handlers.set(topic, set);
    }
    const sub = { handler: handler as BusHandler<BusTopic>, scope };
    set.add(sub);
    return () => set.delete(sub);
  }
}
