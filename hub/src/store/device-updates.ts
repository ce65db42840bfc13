// Device updates in SQLite (docs/firmware.md, SPEC.md §12): one row per firmware
// update of one device, the unit a fleet job will be made of. The hub's decisions
// (offered, succeeded from HELLO, rolled_back, timed_out, cancelled) are operations;
// the device's UPDATE_STATUS is applied by the ingest batch that raises its sequence
// number (ingest.ts), so a status is stored exactly once.

import {
  FINAL_UPDATE_STATES,
  RETRYABLE_REASONS,
  UPDATE_STATE_NAMES,
  UpdateLimits,
  UpdateReason,
  UpdateState,
  type UpdateStatus,
} from '@halyard/firmware-protocol';
import { HubError, HubErrorCode } from '../errors.js';
import type { Db } from './db.js';
import { sql } from './prepared.js';

export type UpdateStateName = (typeof UPDATE_STATE_NAMES)[number];

export interface DeviceUpdateRecord {
  rowid: number;
  /** The job id on the wire (SPEC.md §12.2), `u-...`. */
  id: string;
  /** devices.rowid, and its id. */
  deviceRowid: number;
  deviceId: string;
  /** firmware.rowid and id; null once a finished update's image was deleted. */
  firmwareRowid: number | null;
  firmwareId: string | null;
  /** The image's size in bytes; null once it was deleted. */
  imageSize: number | null;
  /** The fleet job it belongs to; null for a single-device update. */
  job: string | null;
  state: UpdateStateName;
  /** Bytes the device holds. */
  progress: number;
  /** SPEC.md §12.6 reason code, or null. */
  reason: number | null;
  detail: string | null;
  /** The version the device ran when the update was created (null if never seen). */
  fromFw: string | null;
  toFw: string;
  attempts: number;
  createdAt: number;
  createdBy: string;
  updatedAt: number;
  finishedAt: number | null;
}

export interface NewDeviceUpdate {
  id: string;
  device: number;
  firmware: number;
  job: string | null;
  fromFw: string | null;
  toFw: string;
  createdAt: number;
  createdBy: string;
}

/** A hub decision: move `id` to `to` if it is in one of `from` (any open state when absent). */
export interface UpdateTransition {
  id: string;
  from?: readonly UpdateStateName[];
  to: UpdateStateName;
  reason?: number | null;
  detail?: string | null;
  /** Add one to attempts (a new attempt starts). */
  attempt?: boolean;
  progress?: number;
  now: number;
}

/** What an UPDATE_STATUS did, for the hub to act on after the commit. */
export interface UpdateStatusOutcome {
  device: number;
  seq: number;
  /** The state before the status. */
  before: UpdateStateName;
  update: DeviceUpdateRecord;
}

/** A device_updates row joined to its device and image, as both engines read it (UPDATE_SELECT). */
export interface DeviceUpdateRow {
  rowid: number;
  id: string;
  device: number;
  device_id: string;
  firmware: number | null;
  firmware_id: string | null;
  image_size: number | null;
  job: string | null;
  state: string;
  progress: number;
  reason: number | null;
  detail: string | null;
  from_fw: string | null;
  to_fw: string;
  attempts: number;
  created_at: number;
  created_by: string;
  updated_at: number;
  finished_at: number | null;
}

type Row = DeviceUpdateRow;

/** The columns of a DeviceUpdateRow, in both engines' SQL. */
export const UPDATE_SELECT = `SELECT u.rowid, u.id, u.device, d.id AS device_id, u.firmware, f.id AS firmware_id, f.size AS image_size, u.job, u.state, u.progress,
  u.reason, u.detail, u.from_fw, u.to_fw, u.attempts, u.created_at, u.created_by, u.updated_at, u.finished_at
  FROM device_updates u JOIN devices d ON d.rowid = u.device LEFT JOIN firmware f ON f.rowid = u.firmware`;

export const updateFromRow = (r: DeviceUpdateRow): DeviceUpdateRecord => ({
  rowid: r.rowid,
  id: r.id,
  deviceRowid: r.device,
  deviceId: r.device_id,
  firmwareRowid: r.firmware,
  firmwareId: r.firmware_id,
  imageSize: r.image_size,
  job: r.job,
  state: r.state as UpdateStateName,
  progress: r.progress,
  reason: r.reason,
  detail: r.detail,
  fromFw: r.from_fw,
  toFw: r.to_fw,
  attempts: r.attempts,
  createdAt: r.created_at,
  createdBy: r.created_by,
  updatedAt: r.updated_at,
  finishedAt: r.finished_at,
});

/** The states the install deadline covers (SPEC.md §12.7). */
const INSTALL_STATES: ReadonlySet<UpdateStateName> = new Set(['installing', 'rebooting']);
const DOWNLOAD_STATES: ReadonlySet<UpdateStateName> = new Set(['downloading', 'downloaded', 'verifying']);

export const isFinal = (state: string) => FINAL_UPDATE_STATES.has(state as UpdateStateName);

function byId(db: Db, id: string): DeviceUpdateRecord | undefined {
  const r = sql(db, `${UPDATE_SELECT} WHERE u.id = ?`).get(id) as Row | undefined;
  return r && updateFromRow(r);
}

/** UpdateInProgress when the device has an open update; FirmwareUnknown when the image is gone or not finished. */
export function createDeviceUpdate(db: Db, u: NewDeviceUpdate): DeviceUpdateRecord {
  return db.transaction(() => {
    if (sql(db, 'SELECT 1 FROM devices WHERE rowid = ?').get(u.device) === undefined)
      throw new HubError(HubErrorCode.DeviceUnknown, 'the device was deleted');
    if (sql(db, 'SELECT 1 FROM firmware WHERE rowid = ? AND complete = 1').get(u.firmware) === undefined)
      throw new HubError(HubErrorCode.FirmwareUnknown, 'the image was deleted or is not uploaded yet');
    const open = sql(db, 'SELECT id FROM device_updates WHERE device = ? AND finished_at IS NULL').pluck().get(u.device) as
      | string
      | undefined;
    if (open !== undefined) throw new HubError(HubErrorCode.UpdateInProgress, `the device has an update in progress (${open})`);
    sql(
      db,
      `INSERT INTO device_updates (id, device, firmware, job, state, progress, from_fw, to_fw, attempts, created_at, created_by, updated_at)
       VALUES (?, ?, ?, ?, 'offered', 0, ?, ?, 1, ?, ?, ?)`,
    ).run(u.id, u.device, u.firmware, u.job, u.fromFw, u.toFw, u.createdAt, u.createdBy, u.createdAt);
    return byId(db, u.id) as DeviceUpdateRecord;
  })();
}

/** Applies a hub decision; undefined when the update is not in a `from` state (or over). */
export function transitionUpdate(db: Db, t: UpdateTransition): DeviceUpdateRecord | undefined {
  return db.transaction(() => {
    const cur = byId(db, t.id);
    if (cur === undefined || isFinal(cur.state)) return undefined;
    if (t.from !== undefined && !t.from.includes(cur.state)) return undefined;
    write(db, cur, t.to, t.now, transitionValues(cur, t));
    return byId(db, t.id);
  })();
}

/** The columns a state change writes besides state, updated_at and finished_at. */
export interface UpdateValues {
  reason: number | null;
  detail: string | null;
  progress: number;
  attempts: number;
}

/** What a hub decision writes to `cur` (both engines; the caller has checked `t.from`). */
export function transitionValues(cur: DeviceUpdateRecord, t: UpdateTransition): UpdateValues {
  return {
    // A final state the hub decides says nothing of an earlier attempt's reason.
    reason: t.reason !== undefined ? t.reason : isFinal(t.to) ? null : cur.reason,
    detail: t.detail !== undefined ? t.detail : isFinal(t.to) ? null : cur.detail,
    progress: t.progress ?? cur.progress,
    attempts: cur.attempts + (t.attempt ? 1 : 0),
  };
}

function write(db: Db, cur: DeviceUpdateRecord, to: UpdateStateName, now: number, v: UpdateValues): void {
  sql(
    db,
    `UPDATE device_updates SET state = ?, reason = ?, detail = ?, progress = ?, attempts = ?, updated_at = ?, finished_at = ?
     WHERE rowid = ?`,
  ).run(to, v.reason, v.detail, v.progress, v.attempts, now, isFinal(to) ? now : null, cur.rowid);
}

/**
 * What the device's UPDATE_STATUS does to its update (SPEC.md §12.5-§12.7), inside
 * the ingest transaction. A status for an unknown job, or for an update that is over,
 * changes nothing (undefined), except that a rolled_back the hub decided from HELLO
 * takes the device's own reason. `at`, when set, is the updated_at to keep: the install
 * deadline (SPEC.md §12.7) runs from the first `installing` or `rebooting`, so a device
 * repeating either does not push it back; nor can a step back from either to the
 * download (changes nothing, as SPEC.md §12.5 says).
 */
export function nextFromStatus(
  cur: DeviceUpdateRecord,
  m: UpdateStatus,
): (UpdateValues & { to: UpdateStateName; at?: number }) | undefined {
  // Bytes held cannot exceed the image: a larger count is read as the whole image.
  const progress = Math.min(m.progress ?? cur.progress, cur.imageSize ?? Number.POSITIVE_INFINITY);
  // Free text from the device; PostgreSQL's text cannot hold U+0000, so neither engine keeps it.
  const detail = m.detail === undefined ? null : m.detail.replaceAll('\u0000', '\ufffd');
  // A code this version does not know reads as `other` anyway (SPEC.md §12.6); one past 2^31-1 would not fit PostgreSQL's integer.
  const reason = m.reason === undefined ? null : m.reason <= 0x7fff_ffff ? m.reason : UpdateReason.Other;
  if (isFinal(cur.state)) {
    if (cur.state === 'rolled_back' && m.state === UpdateState.RolledBack && cur.reason === null)
      return { to: 'rolled_back', reason, detail, progress: cur.progress, attempts: cur.attempts };
    return undefined;
  }
  switch (m.state) {
    case UpdateState.Succeeded:
      // The device's word alone does not make it so: the HELLO that carries the new version does (SPEC.md §12.5).
      return undefined;
    case UpdateState.Failed:
      if (reason !== null && RETRYABLE_REASONS.has(reason) && cur.attempts < UpdateLimits.maxAttempts)
        return { to: 'offered', reason, detail, progress: 0, attempts: cur.attempts + 1 };
      return { to: 'failed', reason, detail, progress, attempts: cur.attempts };
    default: {
      const to = UPDATE_STATE_NAMES[m.state];
      // Past the point of no return, a device cannot step back to the download: that would
      // make a rebooting update cancellable again and restart its install deadline.
      if (INSTALL_STATES.has(cur.state) && DOWNLOAD_STATES.has(to)) return undefined;
      return {
        to,
        reason: m.state === UpdateState.Downloading ? null : reason,
        detail,
        progress,
        attempts: cur.attempts,
        ...(INSTALL_STATES.has(cur.state) && INSTALL_STATES.has(to) ? { at: cur.updatedAt } : {}),
      };
    }
  }
}

export function applyUpdateStatus(db: Db, device: number, seq: number, m: UpdateStatus, now: number): UpdateStatusOutcome | undefined {
  const r = sql(db, `${UPDATE_SELECT} WHERE u.id = ? AND u.device = ?`).get(m.job, device) as Row | undefined;
  if (r === undefined) return undefined;
  const cur = updateFromRow(r);
  const next = nextFromStatus(cur, m);
  if (next === undefined) return undefined;
  if (cur.finishedAt !== null) {
    sql(db, 'UPDATE device_updates SET reason = ?, detail = ? WHERE rowid = ?').run(next.reason, next.detail, cur.rowid);
  } else {
    write(db, cur, next.to, next.at ?? now, next);
  }
  return { device, seq, before: cur.state, update: byId(db, cur.id) as DeviceUpdateRecord };
}

export function getDeviceUpdate(db: Db, id: string): DeviceUpdateRecord | undefined {
  return byId(db, id);
}

/** A device's updates, newest first. */
export function listDeviceUpdates(db: Db, device: number, limit: number): DeviceUpdateRecord[] {
  return (sql(db, `${UPDATE_SELECT} WHERE u.device = ? ORDER BY u.rowid DESC LIMIT ?`).all(device, limit) as Row[]).map(updateFromRow);
}

/** Every update not over, oldest first (what a restarted hub resumes). */
export function openDeviceUpdates(db: Db): DeviceUpdateRecord[] {
  return (sql(db, `${UPDATE_SELECT} WHERE u.finished_at IS NULL ORDER BY u.rowid`).all() as Row[]).map(updateFromRow);
}
