// Fleet jobs in SQLite (docs/jobs.md): one row per job with its spec as JSON, one row
// per device the job took in (job_devices) with its stage and state. The scheduler
// (jobs/scheduler.ts) is the only writer of device rows; everything a restarted or
// newly elected scheduler needs is here, so a job survives a restart or a failover.

import { JOB_DEVICE_STATE_NAMES, JOB_STATE_NAMES, type JobDeviceStateName, type JobStateName } from '@halyard/firmware-protocol';
import { HubError, HubErrorCode } from '../errors.js';
import type { Db } from './db.js';
import { refuseAtCap, sql } from './prepared.js';

export const JOB_STATES = JOB_STATE_NAMES;
export type JobState = JobStateName;
export const FINAL_JOB_STATES: ReadonlySet<JobState> = new Set(['completed', 'cancelled', 'aborted', 'timed_out']);

/** `timed_out`: the job's deadline passed before the device finished (docs/jobs.md, Deadline). */
export const JOB_DEVICE_STATES = JOB_DEVICE_STATE_NAMES;
export type JobDeviceState = JobDeviceStateName;
export const FINAL_JOB_DEVICE_STATES: ReadonlySet<JobDeviceState> = new Set(['succeeded', 'failed', 'skipped', 'cancelled', 'timed_out']);

export interface JobRecord {
  rowid: number;
  id: string;
  /** The job's spec as created (jobs/spec.ts), JSON. */
  spec: unknown;
  /** firmware.rowid of an update job's image (deleting it is refused while the job runs). */
  firmware: number | null;
  state: JobState;
  /** Index of the stage devices are being started in. */
  stage: number;
  /** Why the job is paused or waiting, or why it ended when it did not complete. */
  reason: string | null;
  /** Failures and finished devices an operator accepted when resuming past the failure threshold. */
  acceptedFailed: number;
  acceptedFinished: number;
  createdAt: number;
  createdBy: string;
  updatedAt: number;
  finishedAt: number | null;
}

export interface NewJob {
  id: string;
  spec: unknown;
  firmware: number | null;
  createdAt: number;
  createdBy: string;
  /** Open jobs (running, paused, waiting) kept at most: one more is refused (QueueFull). */
  maxOpen: number;
}

/** The open jobs (running, paused, waiting) as refuseAtCap counts them on either store, and its words past the cap. */
export const OPEN_JOBS = {
  rows: "jobs WHERE state IN ('running', 'paused', 'waiting')",
  what: 'open jobs (running, paused or waiting): cancel one, or wait for one to end',
} as const;

/** A change of a job's own state; null when it is over, or not in a `from` state. */
export interface JobChange {
  id: string;
  from?: readonly JobState[];
  state?: JobState;
  stage?: number;
  reason?: string | null;
  acceptedFailed?: number;
  acceptedFinished?: number;
  now: number;
}

export interface JobDeviceRecord {
  device: number;
  deviceId: string;
  stage: number;
  state: JobDeviceState;
  /** The update id or command id that carries the job on this device, or null. */
  ref: string | null;
  reason: string | null;
  startedAt: number | null;
  finishedAt: number | null;
  updatedAt: number;
}

export interface JobDeviceChange {
  device: number;
  /** Applied only when the row is in one of these states (any when absent). */
  from?: readonly JobDeviceState[];
  state: JobDeviceState;
  ref?: string | null;
  reason?: string | null;
}

export interface JobCount {
  stage: number;
  state: JobDeviceState;
  n: number;
}

interface JobRow {
  rowid: number;
  id: string;
  spec: string;
  firmware: number | null;
  state: string;
  stage: number;
  reason: string | null;
  accepted_failed: number;
  accepted_finished: number;
  created_at: number;
  created_by: string;
  updated_at: number;
  finished_at: number | null;
}

interface DeviceRow {
  device: number;
  device_id: string;
  stage: number;
  state: string;
  ref: string | null;
  reason: string | null;
  started_at: number | null;
  finished_at: number | null;
  updated_at: number;
}

/** The spec is JSON text in SQLite, already parsed from PostgreSQL's json. */
export const jobRecord = (r: Omit<JobRow, 'spec'> & { spec: unknown }): JobRecord => ({
  rowid: r.rowid,
  id: r.id,
  spec: typeof r.spec === 'string' ? (JSON.parse(r.spec) as unknown) : r.spec,
  firmware: r.firmware,
  state: r.state as JobState,
  stage: r.stage,
  reason: r.reason,
  acceptedFailed: r.accepted_failed,
  acceptedFinished: r.accepted_finished,
  createdAt: r.created_at,
  createdBy: r.created_by,
  updatedAt: r.updated_at,
  finishedAt: r.finished_at,
});

export const jobDeviceRecord = (r: DeviceRow): JobDeviceRecord => ({
  device: r.device,
  deviceId: r.device_id,
  stage: r.stage,
  state: r.state as JobDeviceState,
  ref: r.ref,
  reason: r.reason,
  startedAt: r.started_at,
  finishedAt: r.finished_at,
  updatedAt: r.updated_at,
});

/** The new values of a job change, from the current record (shared by both engines). */
export function jobAfter(cur: JobRecord, c: JobChange): JobRecord | undefined {
  if (FINAL_JOB_STATES.has(cur.state)) return undefined;
  if (c.from !== undefined && !c.from.includes(cur.state)) return undefined;
  const state = c.state ?? cur.state;
  return {
    ...cur,
    state,
    stage: c.stage ?? cur.stage,
    reason: c.reason !== undefined ? c.reason : cur.reason,
    acceptedFailed: c.acceptedFailed ?? cur.acceptedFailed,
    acceptedFinished: c.acceptedFinished ?? cur.acceptedFinished,
    updatedAt: c.now,
    finishedAt: FINAL_JOB_STATES.has(state) ? c.now : null,
  };
}

export function createJob(db: Db, j: NewJob): JobRecord {
  return db.transaction(() => {
    refuseAtCap(db, OPEN_JOBS.rows, j.maxOpen, OPEN_JOBS.what);
    sql(
      db,
      `INSERT INTO jobs (id, spec, firmware, state, stage, reason, accepted_failed, accepted_finished, created_at, created_by, updated_at)
       VALUES (?, ?, ?, 'running', 0, NULL, 0, 0, ?, ?, ?)`,
    ).run(j.id, JSON.stringify(j.spec), j.firmware, j.createdAt, j.createdBy, j.createdAt);
    return getJob(db, j.id) as JobRecord;
  })();
}

export function changeJob(db: Db, c: JobChange): JobRecord | null {
  return db.transaction(() => {
    const cur = getJob(db, c.id);
    if (cur === undefined) throw new HubError(HubErrorCode.JobUnknown, `no job "${c.id}"`);
    const next = jobAfter(cur, c);
    if (next === undefined) return null;
    sql(
      db,
      `UPDATE jobs SET state = ?, stage = ?, reason = ?, accepted_failed = ?, accepted_finished = ?, updated_at = ?, finished_at = ?
       WHERE rowid = ?`,
    ).run(next.state, next.stage, next.reason, next.acceptedFailed, next.acceptedFinished, next.updatedAt, next.finishedAt, cur.rowid);
    return next;
  })();
}

/** Takes devices into a job (pending, in their stage); devices it holds already are left as they are. Returns how many were new. */
export function enrollJobDevices(
  db: Db,
  a: { job: number; devices: { device: number; deviceId: string; stage: number }[]; now: number },
): number {
  return db.transaction(() => {
    const insert = sql(
      db,
      // Devices deleted meanwhile are left out.
      `INSERT INTO job_devices (job, device, device_id, stage, state, updated_at)
       SELECT ?, rowid, ?, ?, 'pending', ? FROM devices WHERE rowid = ?
       ON CONFLICT (job, device) DO NOTHING`,
    );
    let n = 0;
    for (const d of a.devices) n += insert.run(a.job, d.deviceId, d.stage, a.now, d.device).changes;
    return n;
  })();
}

/** Moves devices of a job; returns the rows that moved, as they are now. */
export function changeJobDevices(db: Db, a: { job: number; changes: JobDeviceChange[]; now: number }): JobDeviceRecord[] {
  return db.transaction(() => {
    const get = sql(db, 'SELECT * FROM job_devices WHERE job = ? AND device = ?');
    const update = sql(
      db,
      `UPDATE job_devices SET state = ?, ref = ?, reason = ?, started_at = ?, finished_at = ?, updated_at = ? WHERE job = ? AND device = ?`,
    );
    const moved: JobDeviceRecord[] = [];
    for (const c of a.changes) {
      const r = get.get(a.job, c.device) as DeviceRow | undefined;
      if (r === undefined) continue;
      const cur = jobDeviceRecord(r);
      const next = jobDeviceAfter(cur, c, a.now);
      if (next === undefined) continue;
      update.run(next.state, next.ref, next.reason, next.startedAt, next.finishedAt, next.updatedAt, a.job, c.device);
      moved.push(next);
    }
    return moved;
  })();
}

export function jobDeviceAfter(cur: JobDeviceRecord, c: JobDeviceChange, now: number): JobDeviceRecord | undefined {
  if (c.from !== undefined && !c.from.includes(cur.state)) return undefined;
  if (c.from === undefined && FINAL_JOB_DEVICE_STATES.has(cur.state)) return undefined;
  return {
    ...cur,
    state: c.state,
    ref: c.ref !== undefined ? c.ref : cur.ref,
    reason: c.reason !== undefined ? c.reason : cur.reason,
    startedAt: c.state === 'in_progress' && cur.startedAt === null ? now : cur.startedAt,
    finishedAt: FINAL_JOB_DEVICE_STATES.has(c.state) ? now : null,
    updatedAt: now,
  };
}

export function getJob(db: Db, id: string): JobRecord | undefined {
  const r = sql(db, 'SELECT * FROM jobs WHERE id = ?').get(id) as JobRow | undefined;
  return r && jobRecord(r);
}

/** Newest first; `before` a rowid for paging. */
export function listJobs(db: Db, q: { before?: number; limit: number }): JobRecord[] {
  return (
    sql(db, 'SELECT * FROM jobs WHERE rowid < ? ORDER BY rowid DESC LIMIT ?').all(q.before ?? Number.MAX_SAFE_INTEGER, q.limit) as JobRow[]
  ).map(jobRecord);
}

/** Jobs not over, oldest first. */
export function openJobs(db: Db): JobRecord[] {
  return (sql(db, 'SELECT * FROM jobs WHERE finished_at IS NULL ORDER BY rowid').all() as JobRow[]).map(jobRecord);
}

export function jobCounts(db: Db, job: number): JobCount[] {
  return sql(db, 'SELECT stage, state, count(*) AS n FROM job_devices WHERE job = ? GROUP BY stage, state ORDER BY stage, state').all(
    job,
  ) as JobCount[];
}

export function jobReasons(db: Db, job: number): { reason: string; n: number }[] {
  return sql(
    db,
    `SELECT reason, count(*) AS n FROM job_devices WHERE job = ? AND state IN ('failed', 'cancelled', 'skipped', 'timed_out') AND reason IS NOT NULL
     GROUP BY reason ORDER BY n DESC, reason LIMIT 50`,
  ).all(job) as { reason: string; n: number }[];
}

/** A job's devices in device-id order after `after`; one state only when `state` is given. */
export function jobDevices(db: Db, q: { job: number; state?: JobDeviceState; after?: string; limit: number }): JobDeviceRecord[] {
  const rows =
    q.state === undefined
      ? sql(db, 'SELECT * FROM job_devices WHERE job = ? AND device_id > ? ORDER BY device_id LIMIT ?').all(q.job, q.after ?? '', q.limit)
      : sql(db, 'SELECT * FROM job_devices WHERE job = ? AND state = ? AND device_id > ? ORDER BY device_id LIMIT ?').all(
          q.job,
          q.state,
          q.after ?? '',
          q.limit,
        );
  return (rows as DeviceRow[]).map(jobDeviceRecord);
}
