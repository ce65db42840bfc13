// The fleet in memory: every device's record plus its live state (session, last
// seen, RTT, sequence numbers). Loaded once at start and kept in step with every
// write, so authentication and the fleet view never wait on the database. In a
// cluster, other nodes' writes arrive as bus events (cluster/fleet-sync.ts) and
// their devices' presence as `remote`.

import type { DeviceInfo } from '@halyard/firmware-protocol';
import type { DeviceSession } from './device/session.js';
import type { DeviceRecord } from './store/store.js';

export interface DeviceEntry {
  record: DeviceRecord;
  session: DeviceSession | undefined;
  connectedAt: number | null;
  lastSeen: number | null;
  rtt: number | null;
  /** Highest sequence number handed to the store (duplicates are at or below it). */
  acceptedSeq: number;
  /** Highest sequence number committed (what WELCOME and ACK carry). */
  durableSeq: number;
  /** lastSeen or rtt changed since they were last written. */
  dirty: boolean;
  /** Times of recent connection attempts, for the reconnect limit. */
  connects: number[];
  /** Being deleted: refuse every connection and stop writing anything for it. */
  deleting: boolean;
  /** Cluster mode: another node serves the device (its presence said so, and its lease has not lapsed). */
  remote: { node: string; connectedAt: number } | undefined;
}

/** Open commands per device id: the command service knows them. */
export interface PendingCommands {
  pendingCommands(id: string): number;
}

/** Device ids in code-unit order (the order every listing and export pages in): not locale order. */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export class Fleet {
  private readonly byId = new Map<string, DeviceEntry>();
  private readonly byRowid = new Map<number, DeviceEntry>();
  /** Device ids in order, built when first asked for after a change (paging through the fleet). */
  private sorted: string[] | undefined;
  constructor(
    records: readonly DeviceRecord[],
    private readonly commands: PendingCommands,
  ) {
    for (const r of records) this.add(r);
  }

  get size(): number {
    return this.byId.size;
  }

  get(id: string): DeviceEntry | undefined {
    return this.byId.get(id);
  }

  getByRowid(rowid: number): DeviceEntry | undefined {
    return this.byRowid.get(rowid);
  }

  entries(): IterableIterator<DeviceEntry> {
    return this.byId.values();
  }

  /**
   * Every device id in order, sorted once per change of the fleet: a snapshot, never
   * changed in place (a later change makes a new one), so a caller may page through
   * it across turns of the event loop.
   */
  sortedIds(): readonly string[] {
    this.sorted ??= [...this.byId.keys()].sort(compareIds);
    return this.sorted;
  }

  /**
   * Up to `limit` devices in id order, starting after `after`: sorting the fleet
   * once per change, not once per page, keeps a page's cost to its own devices.
   */
  page(after: string | undefined, limit: number): DeviceEntry[] {
    const ids = this.sortedIds();
    let lo = 0;
    if (after !== undefined) {
      let hi = ids.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if ((ids[mid] as string) <= after) lo = mid + 1;
        else hi = mid;
      }
    }
    return ids.slice(lo, lo + limit).map((id) => this.byId.get(id) as DeviceEntry);
  }

  add(record: DeviceRecord): DeviceEntry {
    const entry: DeviceEntry = {
      record,
      session: undefined,
      connectedAt: null,
      lastSeen: record.lastSeen,
      rtt: record.rtt,
      acceptedSeq: record.lastSeq,
      durableSeq: record.lastSeq,
      dirty: false,
      connects: [],
      deleting: false,
      remote: undefined,
    };
    this.byId.set(record.id, entry);
    this.sorted = undefined;
    this.byRowid.set(record.rowid, entry);
    return entry;
  }

  /** Replaces the stored fields of a device, keeping its live state. */
  update(record: DeviceRecord): DeviceEntry {
    const entry = this.byId.get(record.id);
    if (entry === undefined) return this.add(record);
    entry.record = { ...record, lastSeq: Math.max(record.lastSeq, entry.durableSeq) };
    return entry;
  }

  /**
   * First step of deleting a device: from now on get() and entries() no longer see it,
   * so no upgrade, HELLO, command or twin change can reach it while the delete is
   * written. getByRowid() still finds it, for commits already under way.
   */
  markDeleting(id: string): DeviceEntry | undefined {
    const entry = this.byId.get(id);
    if (entry === undefined) return undefined;
    entry.deleting = true;
    this.byId.delete(id);
    this.sorted = undefined;
    return entry;
  }

  /** The delete could not be written: the device is back. */
  unmarkDeleting(entry: DeviceEntry): void {
    entry.deleting = false;
    if (!this.byId.has(entry.record.id)) this.byId.set(entry.record.id, entry);
    this.sorted = undefined;
  }

  /** Last step of deleting a device: forgets it entirely. */
  removeDeleted(entry: DeviceEntry): void {
    if (this.byId.get(entry.record.id) === entry) this.byId.delete(entry.record.id);
    this.sorted = undefined;
    if (this.byRowid.get(entry.record.rowid) === entry) this.byRowid.delete(entry.record.rowid);
  }

  info(entry: DeviceEntry): DeviceInfo {
    const here = entry.session?.isOpen ?? false;
    const online = here || entry.remote !== undefined;
    return toInfo(
      { ...entry.record, lastSeq: entry.durableSeq },
      {
        online,
        connectedAt: here ? entry.connectedAt : (entry.remote?.connectedAt ?? null),
        lastSeen: entry.lastSeen,
        rtt: entry.rtt,
        pendingCommands: this.commands.pendingCommands(entry.record.id),
      },
    );
  }

  online(): number {
    let n = 0;
    for (const e of this.byId.values()) if (e.session?.isOpen) n++;
    return n;
  }
}

/** The API's view of a device: its record plus what only the live session knows. */
export function toInfo(
  d: DeviceRecord,
  live: { online: boolean; connectedAt: number | null; lastSeen: number | null; rtt: number | null; pendingCommands: number },
): DeviceInfo {
  return {
    id: d.id,
    name: d.name,
    model: d.model,
    firmware: d.firmware,
    tags: d.tags,
    createdAt: d.createdAt,
    revoked: d.revokedAt !== null,
    online: live.online,
    lastSeen: live.lastSeen ?? d.lastSeen,
    rtt: live.rtt ?? d.rtt,
    connectedAt: live.connectedAt,
    lastSeq: d.lastSeq,
    pendingCommands: live.pendingCommands,
    caps: d.caps,
  };
}
