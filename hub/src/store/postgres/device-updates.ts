// Device updates in PostgreSQL (as ../device-updates.ts does in SQLite; SPEC.md §12).
// from_fw is a JSON string: it comes from a device's HELLO and may hold U+0000.

import type { UpdateStatus } from '@halyard/firmware-protocol';
import { HubError, HubErrorCode } from '../../errors.js';
import {
  type DeviceUpdateRecord,
  isFinal,
  type NewDeviceUpdate,
  nextFromStatus,
  type DeviceUpdateRow as Row,
  UPDATE_SELECT as SELECT,
  updateFromRow as toRecord,
  transitionValues,
  type UpdateStateName,
  type UpdateStatusOutcome,
  type UpdateTransition,
  type UpdateValues,
} from '../device-updates.js';
import { pgCode, type Queryable, UNIQUE_VIOLATION } from './pool.js';

async function byId(db: Queryable, id: string, lock = false): Promise<DeviceUpdateRecord | undefined> {
  const r = (await db.query<Row>(`${SELECT} WHERE u.id = $1${lock ? ' FOR UPDATE OF u' : ''}`, [id])).rows[0];
  return r && toRecord(r);
}

export async function createDeviceUpdate(db: Queryable, u: NewDeviceUpdate): Promise<DeviceUpdateRecord> {
  if ((await db.query('SELECT 1 FROM devices WHERE rowid = $1 FOR SHARE', [u.device])).rowCount === 0)
    throw new HubError(HubErrorCode.DeviceUnknown, 'the device was deleted');
  if ((await db.query('SELECT 1 FROM firmware WHERE rowid = $1 AND complete FOR SHARE', [u.firmware])).rowCount === 0)
    throw new HubError(HubErrorCode.FirmwareUnknown, 'the image was deleted or is not uploaded yet');
  const open = (await db.query<{ id: string }>('SELECT id FROM device_updates WHERE device = $1 AND finished_at IS NULL', [u.device]))
    .rows[0];
  if (open !== undefined) throw new HubError(HubErrorCode.UpdateInProgress, `the device has an update in progress (${open.id})`);
  try {
    await db.query(
      `INSERT INTO device_updates (id, device, firmware, job, state, progress, from_fw, to_fw, attempts, created_at, created_by, updated_at)
       VALUES ($1, $2, $3, $4, 'offered', 0, $5, $6, 1, $7, $8, $7)`,
      [u.id, u.device, u.firmware, u.job, u.fromFw === null ? null : JSON.stringify(u.fromFw), u.toFw, u.createdAt, u.createdBy],
    );
  } catch (err) {
    // Another hub (or connection) created the device's update since the check above: device_updates_open refuses the second.
    if (pgCode(err) === UNIQUE_VIOLATION) throw new HubError(HubErrorCode.UpdateInProgress, 'the device has an update in progress');
    throw err;
  }
  return (await byId(db, u.id)) as DeviceUpdateRecord;
}

async function write(db: Queryable, cur: DeviceUpdateRecord, to: UpdateStateName, now: number, v: UpdateValues): Promise<void> {
  await db.query(
    `UPDATE device_updates SET state = $1, reason = $2, detail = $3, progress = $4, attempts = $5, updated_at = $6, finished_at = $7
     WHERE rowid = $8`,
    [to, v.reason, v.detail, v.progress, v.attempts, now, isFinal(to) ? now : null, cur.rowid],
  );
}

export async function transitionUpdate(db: Queryable, t: UpdateTransition): Promise<DeviceUpdateRecord | undefined> {
  const cur = await byId(db, t.id, true);
  if (cur === undefined || isFinal(cur.state)) return undefined;
  if (t.from !== undefined && !t.from.includes(cur.state)) return undefined;
  await write(db, cur, t.to, t.now, transitionValues(cur, t));
  return byId(db, t.id);
}

export async function applyUpdateStatus(
  db: Queryable,
  device: number,
  seq: number,
  m: UpdateStatus,
  now: number,
): Promise<UpdateStatusOutcome | undefined> {
  const r = (await db.query<Row>(`${SELECT} WHERE u.id = $1 AND u.device = $2 FOR UPDATE OF u`, [m.job, device])).rows[0];
  if (r === undefined) return undefined;
  const cur = toRecord(r);
  const next = nextFromStatus(cur, m);
  if (next === undefined) return undefined;
  if (cur.finishedAt !== null)
    await db.query('UPDATE device_updates SET reason = $1, detail = $2 WHERE rowid = $3', [next.reason, next.detail, cur.rowid]);
  else await write(db, cur, next.to, next.at ?? now, next);
  return { device, seq, before: cur.state, update: (await byId(db, cur.id)) as DeviceUpdateRecord };
}

export async function getDeviceUpdate(db: Queryable, id: string): Promise<DeviceUpdateRecord | undefined> {
  return byId(db, id);
}

export async function listDeviceUpdates(db: Queryable, device: number, limit: number): Promise<DeviceUpdateRecord[]> {
  return (await db.query<Row>(`${SELECT} WHERE u.device = $1 ORDER BY u.rowid DESC LIMIT $2`, [device, limit])).rows.map(toRecord);
}

export async function openDeviceUpdates(db: Queryable): Promise<DeviceUpdateRecord[]> {
  return (await db.query<Row>(`${SELECT} WHERE u.finished_at IS NULL ORDER BY u.rowid`)).rows.map(toRecord);
}
