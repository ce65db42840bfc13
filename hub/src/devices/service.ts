// The device registry's use cases: provision, change, rotate the token, revoke,
// delete. Each is one ordered operation (the store, the in-memory fleet, live
// sessions, the bus, the audit entry) that every door (HTTP today) calls the same
// way; route handlers only parse and map errors.

import { CloseCode, type DeviceInfo, type PresenceInfo } from '@halyard/firmware-protocol';
import type { Audit, Requester } from '../audit.js';
import { randomToken, sameHash, sha256 } from '../auth/secrets.js';
import type { EventBus } from '../bus.js';
import { HubError, HubErrorCode } from '../errors.js';
import type { DeviceEntry, Fleet } from '../fleet.js';
import type { Metrics } from '../metrics.js';
import type { DevicePatch, DeviceRecord, Store } from '../store/store.js';

/** What the service needs of the device gateway: ending live sessions. */
export interface DeviceSessions {
  disconnect(id: string, code: number, message: string): void;
  /** Ends a device's sessions for its deletion and drops the frames they queued. */
  disconnectDeleted(e: DeviceEntry): void;
}

/** Services that keep per-device state in memory, told when a device is gone. */
export interface DeviceForgetters {
  telemetry: { forgetDevice(rowid: number): void };
  commands: { forget(deviceId: string): void };
}

export interface NewDeviceRequest {
  id: string;
  name?: string | null | undefined;
  model?: string | null | undefined;
  tags?: string[] | undefined;
}

export class DeviceService {
  constructor(
    private readonly store: Pick<Store, 'op' | 'listPresence' | 'getDevice'>,
    private readonly fleet: Fleet,
    private readonly sessions: DeviceSessions,
    private readonly forgetters: DeviceForgetters,
    private readonly metrics: Pick<Metrics, 'devicesKnown'>,
    private readonly bus: EventBus,
    private readonly audit: Audit,
  ) {}

  /** The device, or DeviceUnknown. */
  entry(id: string): DeviceEntry {
    const e = this.fleet.get(id);
    if (e === undefined) throw new HubError(HubErrorCode.DeviceUnknown, `no device "${id}"`);
    return e;
  }

  /** Provisions a device; `token` is shown to the caller only this once. */
  async provision(requester: Requester, d: NewDeviceRequest): Promise<{ device: DeviceInfo; token: string }> {
    const secret = randomToken();
    const record = await this.store.op('createDevice', {
      id: d.id,
      name: d.name ?? null,
      model: d.model ?? null,
      tags: d.tags ?? [],
      secretHash: sha256(secret),
      createdAt: Date.now(),
    });
    const info = this.fleet.info(this.fleet.add(record));
    this.metrics.devicesKnown.set(this.fleet.size);
    this.bus.publish('device', { device: info });
    await this.audit(requester.actor, 'device.create', d.id, { name: d.name, model: d.model, tags: d.tags });
    return { device: info, token: `${d.id}.${secret}` };
  }

  async update(requester: Requester, id: string, patch: DevicePatch): Promise<DeviceInfo> {
    this.entry(id);
    const record = await this.store.op('updateDevice', { id, patch });
    const info = this.fleet.info(this.fleet.update(record));
    this.bus.publish('device', { device: info });
    await this.audit(requester.actor, 'device.update', id, patch);
    return info;
  }

  /** A new token; the old one stops working at once. `reinstate` also lifts a revocation. */
  async rotateToken(requester: Requester, id: string, reinstate: boolean): Promise<{ id: string; token: string; revoked: boolean }> {
    this.entry(id);
    const secret = randomToken();
    const record = await this.store.op('setSecret', { id, secretHash: sha256(secret), unrevoke: reinstate });
    const e = this.fleet.update(record);
    this.sessions.disconnect(id, CloseCode.Revoked, 'the device token was rotated');
    this.bus.publish('device', { device: this.fleet.info(e) });
    await this.audit(requester.actor, 'device.token.rotate', id, { reinstate });
    return { id, token: `${id}.${secret}`, revoked: record.revokedAt !== null };
  }

  /** Revokes the device: its live session ends at once and it cannot connect again. */
  async revoke(requester: Requester, id: string): Promise<DeviceInfo> {
    this.entry(id);
    const record = await this.store.op('revokeDevice', { id, at: Date.now() });
    const e = this.fleet.update(record);
    this.sessions.disconnect(id, CloseCode.Revoked, 'the device was revoked');
    const info = this.fleet.info(e);
    this.bus.publish('device', { device: info });
    await this.audit(requester.actor, 'device.revoke', id);
    return info;
  }

  /** Deletes the device with its telemetry, events, commands and twin. */
  async delete(requester: Requester, id: string): Promise<void> {
    this.entry(id);
    // One ordered operation: hide the device (no upgrade or HELLO succeeds from
    // here on), end its sessions and drop what they queued, write the delete, then
    // forget it; a reconnect racing the delete finds no device at any point.
    const e = this.fleet.markDeleting(id) as DeviceEntry;
    this.sessions.disconnectDeleted(e);
    try {
      await this.store.op('deleteDevice', { id });
    } catch (err) {
      this.fleet.unmarkDeleting(e);
      throw err;
    }
    this.forgetters.telemetry.forgetDevice(e.record.rowid);
    this.fleet.removeDeleted(e);
    this.forgetters.commands.forget(id);
    this.metrics.devicesKnown.set(this.fleet.size);
    this.bus.publish('device.removed', { id });
    await this.audit(requester.actor, 'device.delete', id);
  }

  /**
   * Cluster mode: another node changed the device, and this is its record as stored
   * now. The fleet takes it; a session here of a device revoked or given a new token
   * there ends, as it would have on that node.
   */
  changedElsewhere(record: DeviceRecord): void {
    const before = this.fleet.get(record.id);
    const rekeyed = before !== undefined && !sameHash(before.record.secretHash, record.secretHash);
    this.fleet.update(record);
    if (before === undefined) this.metrics.devicesKnown.set(this.fleet.size);
    if (record.revokedAt !== null) this.sessions.disconnect(record.id, CloseCode.Revoked, 'the device was revoked');
    else if (rekeyed) this.sessions.disconnect(record.id, CloseCode.Revoked, 'the device token was rotated');
  }

  /** Cluster mode: another node deleted the device; this node forgets it as its own delete would. */
  removedElsewhere(id: string): void {
    const e = this.fleet.markDeleting(id);
    if (e === undefined) return;
    this.sessions.disconnectDeleted(e);
    this.forgetters.telemetry.forgetDevice(e.record.rowid);
    this.fleet.removeDeleted(e);
    this.forgetters.commands.forget(id);
    this.metrics.devicesKnown.set(this.fleet.size);
  }

  /**
   * Cluster mode: a device this node does not know yet may have just been made on
   * another node (its `device` event still on the way); the store says. A request
   * that names a device by id asks this first, so that create-then-use through a
   * load balancer works whichever nodes the two requests reach.
   */
  async catchUp(id: string): Promise<void> {
    if (this.fleet.get(id) !== undefined) return;
    const record = await this.store.getDevice(id);
    if (record !== undefined && this.fleet.get(id) === undefined) this.changedElsewhere(record);
  }

  /** Presence history, newest first. */
  presence(id: string, limit: number): Promise<PresenceInfo[]> {
    const e = this.entry(id);
    return this.store.listPresence(e.record.rowid, e.record.id, limit);
  }
}
