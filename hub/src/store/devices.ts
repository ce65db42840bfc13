// Devices: the fleet's registry rows and the device-side durable sequence numbers.

import { HubError, HubErrorCode } from '../errors.js';
import type { Db } from './db.js';
import { sql } from './prepared.js';

/** A device as the hub keeps it in memory (DeviceInfo plus what authentication needs). */
export interface DeviceRecord {
  rowid: number;
  id: string;
  name: string | null;
  model: string | null;
  firmware: string | null;
  tags: string[];
  secretHash: Uint8Array;
  createdAt: number;
  revokedAt: number | null;
  boot: number | null;
  lastSeen: number | null;
  rtt: number | null;
  lastSeq: number;
  /** What the device declared in its last HELLO `caps` (SPEC.md §5.1); [] if none. */
  caps: string[];
}

/**
 * A devices row joined with its sequence mark, as either engine returns it; `L` is how
 * the engine returns a JSON list column (SQLite: its text, PostgreSQL: the parsed list).
 */
export interface DeviceRow<L> {
  rowid: number;
  id: string;
  name: string | null;
  model: string | null;
  firmware: string | null;
  tags: L;
  secret_hash: Uint8Array;
  created_at: number;
  revoked_at: number | null;
  boot: number | null;
  last_seen: number | null;
  rtt: number | null;
  seq: number | null;
  caps: L;
}

type Row = DeviceRow<string>;

/** The columns of a DeviceRow, in both engines' SQL. */
export const DEVICE_SELECT = `SELECT d.rowid, d.id, d.name, d.model, d.firmware, d.tags, d.secret_hash, d.created_at, d.revoked_at, d.boot,
  d.last_seen, d.rtt, s.seq, d.caps FROM devices d LEFT JOIN device_seq s ON s.device = d.rowid`;
const SELECT = DEVICE_SELECT;

/** A row as a DeviceRecord; `list` decodes the engine's JSON list columns (tags, caps). */
export function deviceFromRow<L>(r: DeviceRow<L>, list: (column: L) => string[]): DeviceRecord {
  return {
    rowid: r.rowid,
    id: r.id,
    name: r.name,
    model: r.model,
    firmware: r.firmware,
    tags: list(r.tags),
    secretHash: new Uint8Array(r.secret_hash),
    createdAt: r.created_at,
    revokedAt: r.revoked_at,
    boot: r.boot,
    lastSeen: r.last_seen,
    rtt: r.rtt,
    lastSeq: r.seq ?? 0,
    caps: list(r.caps),
  };
}

const toRecord = (r: Row): DeviceRecord => deviceFromRow(r, (text) => JSON.parse(text) as string[]);

export function listDevices(db: Db): DeviceRecord[] {
  return (sql(db, `${SELECT} ORDER BY d.id`).all() as Row[]).map(toRecord);
}

export function getDevice(db: Db, id: string): DeviceRecord | undefined {
  const r = sql(db, `${SELECT} WHERE d.id = ?`).get(id) as Row | undefined;
  return r && toRecord(r);
}

export interface NewDevice {
  id: string;
  name: string | null;
  model: string | null;
  tags: string[];
  secretHash: Uint8Array;
  createdAt: number;
}

export function createDevice(db: Db, d: NewDevice): DeviceRecord {
  try {
    sql(db, 'INSERT INTO devices (id, name, model, tags, secret_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)').run(
      d.id,
      d.name,
      d.model,
      JSON.stringify(d.tags),
      d.secretHash,
      d.createdAt,
    );
  } catch (err) {
    if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE')
      throw new HubError(HubErrorCode.DeviceExists, `device "${d.id}" already exists`);
    throw err;
  }
  return getDevice(db, d.id) as DeviceRecord;
}

export interface DevicePatch {
  name?: string | null;
  model?: string | null;
  tags?: string[];
}

/** The editable fields of `d` after `patch` (an absent field keeps its value). */
export function patchedDevice(d: DeviceRecord, patch: DevicePatch): { name: string | null; model: string | null; tags: string[] } {
  return {
    name: patch.name === undefined ? d.name : patch.name,
    model: patch.model === undefined ? d.model : patch.model,
    tags: patch.tags ?? d.tags,
  };
}

export function updateDevice(db: Db, id: string, patch: DevicePatch): DeviceRecord {
  const d = getDevice(db, id);
  if (d === undefined) throw new HubError(HubErrorCode.DeviceUnknown, `no device "${id}"`);
  const next = patchedDevice(d, patch);
  sql(db, 'UPDATE devices SET name = ?, model = ?, tags = ? WHERE rowid = ?').run(
    next.name,
    next.model,
    JSON.stringify(next.tags),
    d.rowid,
  );
  return getDevice(db, id) as DeviceRecord;
}

/** Deletes the device with its telemetry, events and history. */
export function deleteDevice(db: Db, id: string): DeviceRecord {
  const d = getDevice(db, id);
  if (d === undefined) throw new HubError(HubErrorCode.DeviceUnknown, `no device "${id}"`);
  const series = 'SELECT id FROM series WHERE device = ?';
  sql(db, `DELETE FROM telemetry_blocks WHERE series IN (${series})`).run(d.rowid);
  sql(db, `DELETE FROM telemetry_rollups WHERE series IN (${series})`).run(d.rowid);
  sql(db, 'DELETE FROM telemetry_log0 WHERE device = ?').run(d.rowid);
  sql(db, 'DELETE FROM telemetry_log1 WHERE device = ?').run(d.rowid);
  sql(db, 'DELETE FROM series WHERE device = ?').run(d.rowid);
  sql(db, 'DELETE FROM events WHERE device = ?').run(d.rowid);
  sql(db, 'DELETE FROM presence WHERE device = ?').run(d.rowid);
  sql(db, 'DELETE FROM device_seq WHERE device = ?').run(d.rowid);
  sql(db, 'DELETE FROM devices WHERE rowid = ?').run(d.rowid);
  return d;
}

export function setSecret(db: Db, id: string, secretHash: Uint8Array, unrevoke: boolean): DeviceRecord {
  const changes = sql(db, `UPDATE devices SET secret_hash = ?${unrevoke ? ', revoked_at = NULL' : ''} WHERE id = ?`).run(
    secretHash,
    id,
  ).changes;
  if (changes === 0) throw new HubError(HubErrorCode.DeviceUnknown, `no device "${id}"`);
  return getDevice(db, id) as DeviceRecord;
}

export function revokeDevice(db: Db, id: string, at: number): DeviceRecord {
  const changes = sql(db, 'UPDATE devices SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?').run(at, id).changes;
  if (changes === 0) throw new HubError(HubErrorCode.DeviceUnknown, `no device "${id}"`);
  return getDevice(db, id) as DeviceRecord;
}

export function recordHello(db: Db, rowid: number, firmware: string, model: string, boot: number | null, caps: readonly string[]): void {
  sql(db, 'UPDATE devices SET firmware = ?, model = ?, boot = ?, caps = ? WHERE rowid = ?').run(
    firmware,
    model,
    boot,
    JSON.stringify(caps),
    rowid,
  );
}

export interface Touch {
  rowid: number;
  lastSeen: number;
  rtt: number | null;
}

export function touchDevices(db: Db, touches: readonly Touch[]): void {
  const s = sql(db, 'UPDATE devices SET last_seen = max(coalesce(last_seen, 0), ?), rtt = coalesce(?, rtt) WHERE rowid = ?');
  for (const t of touches) s.run(t.lastSeen, t.rtt, t.rowid);
}

export function setSeq(db: Db, rowid: number, seq: number): void {
  sql(db, 'INSERT INTO device_seq (device, seq) VALUES (?, ?) ON CONFLICT (device) DO UPDATE SET seq = max(seq, excluded.seq)').run(
    rowid,
    seq,
  );
}
