// Every device as the console knows it, kept live from the channel's `fleet` stream:
// a snapshot, then device, removal and presence updates applied in place. Listeners
// hear about changes at most once per frame however many arrive.

import type { ConsoleUpdate, DeviceInfo } from '@halyard/firmware-protocol';
import { Batcher, nextFrame, type Schedule } from './batcher.ts';

export class FleetStore {
  private readonly devices = new Map<string, DeviceInfo>();
  private readonly listeners = new Set<() => void>();
  private readonly batcher: Batcher;
  /** A snapshot has arrived (since the app started). */
  loaded = false;
  /** When the channel dropped, while the fleet shown is the last known one; undefined when live. */
  staleSince: number | undefined;
  /**
   * Bumps when a change can move rows: devices added or removed, status or attributes
   * changed. Last-seen and RTT refreshes do not, so sorted tables do not jump.
   */
  structure = 0;
  /** Bumps on every change. */
  version = 0;

  constructor(schedule: Schedule = nextFrame) {
    this.batcher = new Batcher(() => {
      for (const fn of this.listeners) fn();
    }, schedule);
  }

  get size(): number {
    return this.devices.size;
  }

  get(id: string): DeviceInfo | undefined {
    return this.devices.get(id);
  }

  values(): IterableIterator<DeviceInfo> {
    return this.devices.values();
  }

  /** An arrow so components can pass it around (and to hooks' dependency lists) unbound. */
  readonly subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };

  /** Applies one channel update; others are ignored. */
  apply(u: ConsoleUpdate): void {
    switch (u.t) {
      case 'fleet':
        this.devices.clear();
        for (const d of u.devices) this.devices.set(d.id, d);
        this.loaded = true;
        this.staleSince = undefined;
        this.structure++;
        break;
      case 'device': {
        const old = this.devices.get(u.device.id);
        this.devices.set(u.device.id, u.device);
        if (old === undefined || !sameRowShape(old, u.device)) this.structure++;
        break;
      }
      case 'device.removed':
        if (!this.devices.delete(u.id)) return;
        this.structure++;
        break;
      case 'presence': {
        const old = this.devices.get(u.presence.device);
        if (old === undefined) return;
        const online = u.presence.online;
        // Each change makes a new object, so rows can skip re-rendering unchanged devices.
        this.devices.set(old.id, {
          ...old,
          online,
          lastSeen: u.lastSeen ?? old.lastSeen,
          rtt: u.rtt ?? old.rtt,
          connectedAt: online ? u.presence.at : null,
        });
        if (old.online !== online) this.structure++;
        break;
      }
      default:
        return;
    }
    this.version++;
    this.batcher.mark();
  }

  /** The channel dropped: keep showing the last known fleet, marked as such, until the next snapshot. */
  stale(at: number = Date.now()): void {
    if (this.staleSince !== undefined) return;
    this.staleSince = at;
    this.version++;
    this.batcher.mark();
  }
}

/** Fields that filters and sorts use, other than last seen and RTT. */
function sameRowShape(a: DeviceInfo, b: DeviceInfo): boolean {
  return (
    a.online === b.online &&
    a.revoked === b.revoked &&
    a.name === b.name &&
    a.model === b.model &&
    a.firmware === b.firmware &&
    a.pendingCommands === b.pendingCommands &&
    a.tags.join('\u0000') === b.tags.join('\u0000')
  );
}
