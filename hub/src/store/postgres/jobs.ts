// Fleet jobs in PostgreSQL (as ../jobs.ts does in SQLite; docs/jobs.md).

import { HubError, HubErrorCode } from '../../errors.js';
import {
  type JobChange,
  type JobCount,
  type JobDeviceChange,
  type JobDeviceRecord,
  type JobDeviceState,
  type JobRecord,
  jobAfter,
  jobDeviceAfter,
  jobDeviceRecord,
  jobRecord,
  type NewJob,
  OPEN_JOBS,
} from '../jobs.js';
import { type Queryable, refuseAtCap } from './pool.js';

type JobRow = Parameters<typeof jobRecord>[0];
type DeviceRow = Parameters<typeof jobDeviceRecord>[0];

/** Transaction advisory lock that makes new jobs count the open ones one after another, on every hub ('hlyd' 'jobs'). */
const JOBS_LOCK = [0x686c7964, 0x6a6f6273] as const;

export async function createJob(db: Queryable, j: NewJob): Promise<JobRecord> {
  await refuseAtCap(db, JOBS_LOCK, OPEN_JOBS.rows, j.maxOpen, OPEN_JOBS.what);
  await db.query(
    `INSERT INTO jobs (id, spec, firmware, state, stage, reason, accepted_failed, accepted_finished, created_at, created_by, updated_at)
     VALUES ($1, $2, $3, 'running', 0, NULL, 0, 0, $4, $5, $4)`,
    [j.id, JSON.stringify(j.spec), j.firmware, j.createdAt, j.createdBy],
  );
  return (await getJob(db, j.id)) as JobRecord;
}

export async function changeJob(db: Queryable, c: JobChange): Promise<JobRecord | null> {
  const r = (await db.query<JobRow>('SELECT * FROM jobs WHERE id = $1 FOR UPDATE', [c.id])).rows[0];
  if (r === undefined) throw new HubError(HubErrorCode.JobUnknown, `no job "${c.id}"`);
  const next = jobAfter(jobRecord(r), c);
  if (next === undefined) return null;
  await db.query(
    `UPDATE jobs SET state = $1, stage = $2, reason = $3, accepted_failed = $4, accepted_finished = $5, updated_at = $6, finished_at = $7
     WHERE rowid = $8`,
    [next.state, next.stage, next.reason, next.acceptedFailed, next.acceptedFinished, next.updatedAt, next.finishedAt, next.rowid],
  );
  return next;
}

export async function enrollJobDevices(
  db: Queryable,
  a: { job: number; devices: { device: number; deviceId: string; stage: number }[]; now: number },
): Promise<number> {
  if (a.devices.length === 0) return 0;
  // Devices deleted meanwhile are left out (the foreign key would refuse the whole batch).
  const r = await db.query(
    `INSERT INTO job_devices (job, device, device_id, stage, state, updated_at)
     SELECT $1, d.device, d.device_id, d.stage, 'pending', $2
     FROM unnest($3::bigint[], $4::text[], $5::int[]) AS d (device, device_id, stage)
     WHERE EXISTS (SELECT 1 FROM devices WHERE rowid = d.device)
     ON CONFLICT (job, device) DO NOTHING`,
    [a.job, a.now, a.devices.map((d) => d.device), a.devices.map((d) => d.deviceId), a.devices.map((d) => d.stage)],
  );
  return r.rowCount ?? 0;
}

export async function changeJobDevices(
  db: Queryable,
  a: { job: number; changes: JobDeviceChange[]; now: number },
): Promise<JobDeviceRecord[]> {
  if (a.changes.length === 0) return [];
  const rows = (
    await db.query<DeviceRow>('SELECT * FROM job_devices WHERE job = $1 AND device = ANY($2::bigint[]) FOR UPDATE', [
      a.job,
      a.changes.map((c) => c.device),
    ])
  ).rows;
  const byDevice = new Map(rows.map((r) => [Number(r.device), jobDeviceRecord(r)]));
  const moved: JobDeviceRecord[] = [];
  for (const c of a.changes) {
    const cur = byDevice.get(c.device);
    if (cur === undefined) continue;
    const next = jobDeviceAfter(cur, c, a.now);
    if (next === undefined) continue;
    byDevice.set(c.device, next);
    moved.push(next);
  }
  if (moved.length > 0)
    await db.query(
      `UPDATE job_devices j SET state = m.state, ref = m.ref, reason = m.reason, started_at = m.started_at, finished_at = m.finished_at,
         updated_at = $2
       FROM unnest($3::bigint[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::bigint[])
         AS m (device, state, ref, reason, started_at, finished_at)
       WHERE j.job = $1 AND j.device = m.device`,
      [
        a.job,
        a.now,
        moved.map((m) => m.device),
        moved.map((m) => m.state),
        moved.map((m) => m.ref),
        moved.map((m) => m.reason),
        moved.map((m) => m.startedAt),
        moved.map((m) => m.finishedAt),
      ],
    );
  return moved;
}

export async function getJob(db: Queryable, id: string): Promise<JobRecord | undefined> {
  const r = (await db.query<JobRow>('SELECT * FROM jobs WHERE id = $1', [id])).rows[0];
  return r && jobRecord(r);
}

export async function listJobs(db: Queryable, q: { before?: number; limit: number }): Promise<JobRecord[]> {
  return (
    await db.query<JobRow>('SELECT * FROM jobs WHERE rowid < $1 ORDER BY rowid DESC LIMIT $2', [
      q.before ?? Number.MAX_SAFE_INTEGER,
      q.limit,
    ])
  ).rows.map(jobRecord);
}

export async function openJobs(db: Queryable): Promise<JobRecord[]> {
  return (await db.query<JobRow>('SELECT * FROM jobs WHERE finished_at IS NULL ORDER BY rowid')).rows.map(jobRecord);
}

export async function jobCounts(db: Queryable, job: number): Promise<JobCount[]> {
  return (
    await db.query<JobCount>(
      'SELECT stage, state, count(*)::int AS n FROM job_devices WHERE job = $1 GROUP BY stage, state ORDER BY stage, state',
      [job],
    )
  ).rows;
}

export async function jobReasons(db: Queryable, job: number): Promise<{ reason: string; n: number }[]> {
  return (
    await db.query<{ reason: string; n: number }>(
      `SELECT reason, count(*)::int AS n FROM job_devices WHERE job = $1 AND state IN ('failed', 'cancelled', 'skipped', 'timed_out') AND reason IS NOT NULL
       GROUP BY reason ORDER BY n DESC, reason LIMIT 50`,
      [job],
    )
  ).rows;
}

export async function jobDevices(
  db: Queryable,
  q: { job: number; state?: JobDeviceState; after?: string; limit: number },
): Promise<JobDeviceRecord[]> {
  // COLLATE "C": the same byte order as SQLite's.
  const r =
    q.state === undefined
      ? await db.query<DeviceRow>(
          'SELECT * FROM job_devices WHERE job = $1 AND device_id COLLATE "C" > $2 ORDER BY device_id COLLATE "C" LIMIT $3',
          [q.job, q.after ?? '', q.limit],
        )
      : await db.query<DeviceRow>(
          'SELECT * FROM job_devices WHERE job = $1 AND state = $2 AND device_id COLLATE "C" > $3 ORDER BY device_id COLLATE "C" LIMIT $4',
          [q.job, q.state, q.after ?? '', q.limit],
        );
  return r.rows.map(jobDeviceRecord);
}
