// Keeping this node's memory in step with the other nodes' writes and devices
// (docs/architecture.md § Cluster): before another node's event is handed out, the
// part of memory it concerns is read again from PostgreSQL (an operator's sessions,
// a device's record); other nodes' presence marks their devices online here; and a
// node that died without a word has its devices shown offline once their leases
// lapse (LEASE_TTL_MS, SPEC.md §8.6), announced and written to the presence history
// once in the cluster, by whichever node sees it first.

import type { BusEvents } from '../bus.js';
import type { DeviceService } from '../devices/service.js';
import type { DeviceEntry, Fleet } from '../fleet.js';
import type { Logger } from '../log.js';
import type { DeviceRecord, NewPresence, Store } from '../store/store.js';
import type { ClusterBus } from './cluster-bus.js';
import type { ClusterLink } from './link.js';
import { LEASE_TTL_MS, RENEW_MS } from './ownership.js';

export interface FleetSyncStore extends Pick<Store, 'op'> {
  getDevice(id: string): Promise<DeviceRecord | undefined>;
  /** One operator's record and sessions again (postgres-store.ts). */
  reloadOperator(username: string): Promise<void>;
}

export class FleetSync {
  private timer: NodeJS.Timeout | undefined;
  /** Leases are not judged until this long after Redis (re)appeared: every node must have announced its own again first. */
  private graceUntil = 0;

  constructor(
    private readonly link: ClusterLink,
    private readonly bus: ClusterBus,
    private readonly fleet: Fleet,
    private readonly devices: DeviceService,
    private readonly store: FleetSyncStore,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    const { bus } = this;
    bus.before('session.ended', ({ username }) => this.store.reloadOperator(username));
    bus.before('device', async ({ device }) => {
      const record = await this.store.getDevice(device.id);
      if (record !== undefined) this.devices.changedElsewhere(record);
    });
    bus.before('device.removed', ({ id }) => this.devices.removedElsewhere(id));
    bus.subscribe('presence', (p, origin) => this.presence(p, origin.node), 'remote');
    this.graceUntil = Date.now() + LEASE_TTL_MS;
    this.link.on('up', () => {
      this.graceUntil = Date.now() + LEASE_TTL_MS;
    });
    await this.loadLeases();
    this.timer = setInterval(() => void this.sweep(), RENEW_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Another node's device came or went. An offline older than the last online seen (from the node that took it over) is stale. */
  private presence({ presence, rtt, lastSeen }: BusEvents['presence'], node: string | undefined): void {
    const e = this.fleet.get(presence.device);
    if (e === undefined || node === undefined) return;
    if (presence.online) e.remote = { node, connectedAt: presence.at };
    else if (e.remote !== undefined && presence.at >= e.remote.connectedAt) e.remote = undefined;
    if (lastSeen !== null && (e.lastSeen ?? 0) < lastSeen) e.lastSeen = lastSeen;
    if (rtt !== null) e.rtt = rtt;
  }

  /** At start: which devices other nodes serve now, from their leases. */
  private async loadLeases(): Promise<void> {
    const match = this.link.key('own', '*');
    const skip = this.link.key('own', '').length;
    let cursor = '0';
    const now = Date.now();
    do {
      const [next, keys] = await this.link.cmd.scan(cursor, 'MATCH', match, 'COUNT', 1_000);
      cursor = next;
      if (keys.length === 0) continue;
      const values = await this.link.cmd.mget(...keys);
      keys.forEach((k, i) => {
        const node = values[i]?.split(' ')[0];
        const e = this.fleet.get(k.slice(skip));
        if (node !== undefined && e !== undefined && node !== this.link.nodeId) e.remote = { node, connectedAt: now };
      });
    } while (cursor !== '0');
  }

  /** Devices shown served by a node whose heartbeat is gone: offline once their leases lapse, announced by one node. */
  private async sweep(): Promise<void> {
    if (!this.link.up || Date.now() < this.graceUntil) return;
    const byNode = new Map<string, DeviceEntry[]>();
    for (const e of this.fleet.entries()) {
      if (e.remote === undefined) continue;
      const list = byNode.get(e.remote.node);
      if (list === undefined) byNode.set(e.remote.node, [e]);
      else list.push(e);
    }
    if (byNode.size === 0) return;
    try {
      const nodes = [...byNode.keys()];
      const alive = await Promise.all(nodes.map((n) => this.link.cmd.exists(this.link.key('alive', n))));
      for (const [i, node] of nodes.entries()) {
        if (alive[i] !== 0) continue;
        const entries = byNode.get(node) ?? [];
        for (let j = 0; j < entries.length; j += 1_000) await this.expire(node, entries.slice(j, j + 1_000));
      }
    } catch (err) {
      this.log.debug({ err: (err as Error).message }, 'cluster: presence sweep failed; retrying at the next round');
    }
  }

  private async expire(node: string, entries: DeviceEntry[]): Promise<void> {
    const leases = await this.link.cmd.mget(...entries.map((e) => this.link.key('own', e.record.id)));
    const now = Date.now();
    const rows: NewPresence[] = [];
    for (const [i, e] of entries.entries()) {
      const remote = e.remote;
      // Still leased to that node (it is slow to renew its heartbeat, or the lease has not lapsed yet): wait.
      if (remote === undefined || remote.node !== node || leases[i]?.startsWith(`${node} `)) continue;
      e.remote = undefined;
      if (e.session?.isOpen) continue;
      // One node announces it: the first to mark this session of the device gone.
      const first = await this.link.cmd.set(this.link.key('gone', e.record.id, node), '1', 'PX', 60_000, 'NX');
      if (first !== 'OK') continue;
      this.log.info({ device: e.record.id, node }, 'cluster: device offline: the node serving it is gone and its lease lapsed');
      // The history row the dead node could not write: this node, the one that announces it, writes it.
      if (!e.deleting) rows.push({ device: e.record.rowid, online: false, reason: 'timeout', code: 1006, at: now });
      this.bus.publish('presence', {
        presence: { device: e.record.id, online: false, reason: 'timeout', code: 1006, at: now },
        rtt: e.rtt,
        lastSeen: e.lastSeen,
      });
    }
    if (rows.length > 0)
      await this.store
        .op('recordPresence', rows)
        .catch((err: unknown) =>
          this.log.error({ err, devices: rows.length }, "cluster: could not record the presence of a gone node's devices"),
        );
  }
}
