// The device registry in PostgreSQL (as ../devices.ts does in SQLite).

import { HubError, HubErrorCode } from '../../errors.js';
import {
  DEVICE_SELECT,
  type DevicePatch,
  type DeviceRecord,
  type DeviceRow,
  deviceFromRow,
  type NewDevice,
  patchedDevice,
  type Touch,
} from '../devices.js';
import { pgCode, type Queryable, UNIQUE_VIOLATION } from './pool.js';

type Row = DeviceRow<string[]>;

const SELECT = DEVICE_SELECT;
const toRecord = (r: Row): DeviceRecord => deviceFromRow(r, (list) => list);

const bytes = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength);
/** name, model and firmware are json strings (schema.ts). */
const str = (s: string | null) => (s === null ? null : JSON.stringify(s));

export async function listDevices(db: Queryable): Promise<DeviceRecord[]> {
  // COLLATE "C": byte order, as SQLite's ORDER BY sorts text.
  return (await db.query<Row>(`${SELECT} ORDER BY d.id COLLATE "C"`)).rows.map(toRecord);
}

export async function getDevice(db: Queryable, id: string): Promise<DeviceRecord | undefined> {
  const r = (await db.query<Row>(`${SELECT} WHERE d.id = $1`, [id])).rows[0];
  return r && toRecord(r);
}

async function mustGet(db: Queryable, id: string): Promise<DeviceRecord> {
  const d = await getDevice(db, id);
  if (d === undefined) throw new HubError(HubErrorCode.DeviceUnknown, `no device "${id}"`);
  return d;
}

export async function requireDevice(db: Queryable, rowid: number): Promise<void> {
  // FOR KEY SHARE: the device cannot be deleted until this transaction ends.
  if ((await db.query('SELECT 1 FROM devices WHERE rowid = $1 FOR KEY SHARE', [rowid])).rowCount === 0)
    throw new HubError(HubErrorCode.DeviceUnknown, 'the device was deleted');
}

export async function createDevice(db: Queryable, d: NewDevice): Promise<DeviceRecord> {
  try {
    await db.query('INSERT INTO devices (id, name, model, tags, secret_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)', [
      d.id,
      str(d.name),
      str(d.model),
      JSON.stringify(d.tags),
      bytes(d.secretHash),
      d.createdAt,
    ]);
  } catch (err) {
    if (pgCode(err) === UNIQUE_VIOLATION) throw new HubError(HubErrorCode.DeviceExists, `device "${d.id}" already exists`);
    throw err;
  }
  return mustGet(db, d.id);
}

export async function updateDevice(db: Queryable, id: string, patch: DevicePatch): Promise<DeviceRecord> {
  const d = await mustGet(db, id);
  const next = patchedDevice(d, patch);
  await db.query('UPDATE devices SET name = $1, model = $2, tags = $3 WHERE rowid = $4', [
    str(next.name),
    str(next.model),
    JSON.stringify(next.tags),
    d.rowid,
  ]);
  return mustGet(db, id);
}

/**
 * Deletes the device with everything of it: foreign keys cascade to its sequence
 * mark, series, events, presence, commands and twin; its points and blocks (no foreign key on
 * the partitioned table) go by series, its recent rows by device.
 */
export async function deleteDevice(db: Queryable, id: string): Promise<DeviceRecord> {
  const d = await mustGet(db, id);
  await db.query('DELETE FROM telemetry_recent WHERE device = $1', [d.rowid]);
  await db.query('DELETE FROM telemetry WHERE series IN (SELECT id FROM series WHERE device = $1)', [d.rowid]);
  await db.query('DELETE FROM telemetry_blocks WHERE series IN (SELECT id FROM series WHERE device = $1)', [d.rowid]);
  await db.query('DELETE FROM telemetry_rollups WHERE series IN (SELECT id FROM series WHERE device = $1)', [d.rowid]);
  await db.query('DELETE FROM idempotency_keys WHERE command IN (SELECT rowid FROM commands WHERE device = $1)', [d.rowid]);
  await db.query('DELETE FROM devices WHERE rowid = $1', [d.rowid]);
  // A batch that held the device's mark committed before the line above could go on: its recent rows go too.
  await db.query('DELETE FROM telemetry_recent WHERE device = $1', [d.rowid]);
  return d;
}

export async function setSecret(db: Queryable, id: string, secretHash: Uint8Array, unrevoke: boolean): Promise<DeviceRecord> {
  const r = await db.query(`UPDATE devices SET secret_hash = $1${unrevoke ? ', revoked_at = NULL' : ''} WHERE id = $2`, [
    bytes(secretHash),
    id,
  ]);
  if (r.rowCount === 0) throw new HubError(HubErrorCode.DeviceUnknown, `no device "${id}"`);
  return mustGet(db, id);
}

export async function revokeDevice(db: Queryable, id: string, at: number): Promise<DeviceRecord> {
  const r = await db.query('UPDATE devices SET revoked_at = coalesce(revoked_at, $1) WHERE id = $2', [at, id]);
  if (r.rowCount === 0) throw new HubError(HubErrorCode.DeviceUnknown, `no device "${id}"`);
  return mustGet(db, id);
}

export async function recordHello(
  db: Queryable,
  rowid: number,
  firmware: string,
  model: string,
  boot: number | null,
  caps: readonly string[],
): Promise<void> {
  await db.query('UPDATE devices SET firmware = $1, model = $2, boot = $3, caps = $4 WHERE rowid = $5', [
    str(firmware),
    str(model),
    boot,
    JSON.stringify(caps),
    rowid,
  ]);
}

export async function touchDevices(db: Queryable, touches: readonly Touch[]): Promise<void> {
  // One row per device as SQLite's one-by-one updates would leave it (latest time, last
  // known rtt), then one statement for the lot, in rowid order.
  const merged = new Map<number, { lastSeen: number; rtt: number | null }>();
  for (const t of touches) {
    const m = merged.get(t.rowid);
    merged.set(t.rowid, { lastSeen: Math.max(m?.lastSeen ?? 0, t.lastSeen), rtt: t.rtt ?? m?.rtt ?? null });
  }
  if (merged.size === 0) return;
  const rows = [...merged].sort((a, b) => a[0] - b[0]);
  await db.query(
    `UPDATE devices d SET last_seen = greatest(coalesce(d.last_seen, 0), t.last_seen), rtt = coalesce(t.rtt, d.rtt)
     FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS t(rowid, last_seen, rtt) WHERE d.rowid = t.rowid`,
    [rows.map(([r]) => r), rows.map(([, t]) => t.lastSeen), rows.map(([, t]) => t.rtt)],
  );
}
