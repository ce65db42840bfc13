// The hub's typed event bus: how the gateways, MQTT, the console and the store
// meet. Behind an interface so a cluster mode can back it with Redis and nothing
// else changes. Handlers run synchronously and must not block: each subscriber
// queues its own work.

import type { CommandInfo, DeviceInfo, EventInfo, PresenceInfo, ResolvedRecord, TwinInfo } from '@halyard/firmware-protocol';
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
  /**
   * An operator's sessions ended (logout, disabled, role or password changed, deleted);
   * tokenHash (hex) names the one session that ended, keepTokenHash (hex) the one that
   * did not (the session that changed its own password).
   */
  'session.ended': { username: string; tokenHash?: string; keepTokenHash?: string };
}

export type BusTopic = keyof BusEvents;
export type BusHandler<K extends BusTopic> = (payload: BusEvents[K]) => void;

export interface EventBus {
  publish<K extends BusTopic>(topic: K, payload: BusEvents[K]): void;
  /** Returns a function that unsubscribes. */
  subscribe<K extends BusTopic>(topic: K, handler: BusHandler<K>): () => void;
}

export class LocalBus implements EventBus {
  private readonly handlers = new Map<BusTopic, Set<BusHandler<BusTopic>>>();

  constructor(private readonly log: Logger) {}

  publish<K extends BusTopic>(topic: K, payload: BusEvents[K]): void {
    const set = this.handlers.get(topic);
    if (set === undefined) return;
    for (const h of set) {
      try {
        (h as BusHandler<K>)(payload);
      } catch (err) {
        // One broken subscriber must not stop the others or the publisher.
        this.log.error({ err, topic }, 'bus subscriber failed');
      }
    }
  }

  subscribe<K extends BusTopic>(topic: K, handler: BusHandler<K>): () => void {
    let set = this.handlers.get(topic);
    if (set === undefined) {
      set = new Set();
      this.handlers.set(topic, set);
    }
    set.add(handler as BusHandler<BusTopic>);
    return () => set.delete(handler as BusHandler<BusTopic>);
  }
}
