// Fleet jobs as operators use them (docs/jobs.md): create (with a preview of the
// devices a selection takes in), list, inspect, and pause, resume, approve or cancel.
// These write the job's state in the store, on whichever node was asked; the
// scheduler (scheduler.ts, on the leader) reads it at its next tick and acts.

import { randomBytes } from 'node:crypto';
import { formatDuration, type JsonValue, NAME_PATTERN, parseDuration } from '@halyard/firmware-protocol';
import { type Audit, type Requester, viaDetail } from '../audit.js';
import { commandTimes } from '../commands/service.js';
import { assertDownlinkData } from '../downlink-data.js';
import { HubError, HubErrorCode } from '../errors.js';
import type { FirmwareLibrary } from '../firmware/library.js';
import type { Fleet } from '../fleet.js';
import type { Logger } from '../log.js';
import { FINAL_JOB_STATES, type JobDeviceRecord, type JobDeviceState, type JobRecord, type JobState } from '../store/jobs.js';
import type { Store } from '../store/store.js';
import { emptyTally, type JobProgress, jobProgress, type Tally } from './progress.js';
import {
  type JobDeadlines,
  type JobSpec,
  type JobSpecInput,
  jobDeadlineAt,
  jobSpecSchema,
  MIN_JOB_DEADLINE_MS,
  type Selection,
  type StoredJobSpec,
  selects,
} from './spec.js';

export interface JobInfo extends JobProgress {
  name: string;
  spec: StoredJobSpec;
  createdAt: number;
  createdBy: string;
  /** Reasons of failed, cancelled and skipped devices, most frequent first. */
  reasons: { reason: string; n: number }[];
}

export interface JobDeviceInfo {
  device: string;
  stage: number;
  state: JobDeviceState;
  /** The update or command carrying the job on the device. */
  ref: string | null;
  reason: string | null;
  startedAt: number | null;
  finishedAt: number | null;
}

/** Devices a preview lists at most (the count is exact). */
const PREVIEW_SAMPLE = 20;
/**
 * Jobs open at once (running, paused or waiting), on the whole hub or cluster: each
 * costs the scheduler a look at every tick, and each device that comes online a
 * command per job (red team: 2,500 open jobs took half a core of an idle hub).
 */
export const MAX_OPEN_JOBS = 100;

export class JobService {
  constructor(
    private readonly store: Store,
    private readonly fleet: Fleet,
    private readonly firmware: FirmwareLibrary,
    private readonly audit: Audit,
    private readonly log: Logger,
    private readonly deadlines: JobDeadlines,
    /** Called after a change, so a local scheduler acts at once (a cluster's leader reads it at its next tick). */
    private readonly wake: () => void,
  ) {}

  /** How many devices a selection takes in now, and the first few of them. */
  preview(selection: Selection, target?: string): { count: number; online: number; sample: string[] } {
    const ids = selection.devices === undefined ? undefined : new Set(selection.devices);
    let count = 0;
    let online = 0;
    const sample: string[] = [];
    for (const e of this.fleet.entries()) {
      const d = this.fleet.info(e);
      if (!selects(selection, d, ids) || (target !== undefined && d.firmware === target)) continue;
      count++;
      if (d.online) online++;
      if (sample.length < PREVIEW_SAMPLE) sample.push(d.id);
    }
    sample.sort();
    return { count, online, sample };
  }

  /** The preview of a whole job spec: an update job leaves out devices of other models and those on its version. */
  async previewSpec(input: JobSpecInput): Promise<{ count: number; online: number; sample: string[] }> {
    const { spec } = await this.resolve(input);
    return this.preview(spec.selection, spec.target ?? undefined);
  }

  private async resolve(input: JobSpecInput, now = Date.now()): Promise<{ spec: StoredJobSpec; firmware: number | null }> {
    const parsed = jobSpecSchema.safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = issue?.path.map(String).join('.') || 'body';
      throw new HubError(HubErrorCode.Validation, `${field}: ${issue?.message ?? 'invalid'}`, { field });
    }
    const { deadline: given, ...rest }: JobSpec = parsed.data;
    const deadline = this.deadline(given);
    const spec = { ...rest, deadline, deadlineAt: now + deadline };
    // The same for every device: refused here, naming the field, as the twin and command routes do.
    if (spec.action.type === 'desired') assertDownlinkData(spec.action.patch as JsonValue, 'action.patch', { mergePatch: true });
    if (spec.action.type === 'command') {
      if (spec.action.params !== undefined) assertDownlinkData(spec.action.params as JsonValue, 'action.params');
      // Its name, ttl and timeout as POST /devices/{id}/commands checks them: a job refused here, not skipped on every device.
      if (!NAME_PATTERN.test(spec.action.name))
        throw new HubError(HubErrorCode.Validation, 'action.name: a command name: 1-64 of A-Z a-z 0-9 _ . : -', { field: 'action.name' });
      commandTimes(spec.action, 'action.');
    }
    if (spec.action.type !== 'update') return { spec: { ...spec, target: null }, firmware: null };
    const image = await this.firmware.record(spec.action.firmware);
    if (!image.complete) throw new HubError(HubErrorCode.FirmwareUnknown, `firmware "${image.id}" is still being uploaded`);
    if (spec.selection.model !== undefined && spec.selection.model !== image.model)
      throw new HubError(HubErrorCode.Validation, `selection.model: the image is for model "${image.model}"`, { field: 'selection.model' });
    // An image fits one model: the job takes in devices of that model only.
    return { spec: { ...spec, selection: { ...spec.selection, model: image.model }, target: image.version }, firmware: image.rowid };
  }

  /** The job's deadline (ms from its creation): as given, within [MIN_JOB_DEADLINE_MS, --job-deadline-max], or --job-deadline. */
  private deadline(given: number | string | undefined): number {
    if (given === undefined) return Math.min(this.deadlines.defaultMs, this.deadlines.maxMs);
    const ms = parseDuration(given, true);
    const bad = (why: string) => new HubError(HubErrorCode.Validation, `deadline: ${why}`, { field: 'deadline' });
    if (ms === undefined) throw bad('a duration like 12h or 7d (or ms)');
    if (ms < MIN_JOB_DEADLINE_MS) throw bad(`at least ${MIN_JOB_DEADLINE_MS} ms`);
    if (ms > this.deadlines.maxMs) throw bad(`at most ${formatDuration(this.deadlines.maxMs)} (--job-deadline-max)`);
    return ms;
  }

  async create(requester: Requester, input: JobSpecInput): Promise<JobInfo> {
    const createdAt = Date.now();
    const { spec, firmware } = await this.resolve(input, createdAt);
    const job = await this.store.op('createJob', {
      id: `j-${randomBytes(6).toString('hex')}`,
      spec,
      firmware,
      createdAt,
      createdBy: requester.actor,
      maxOpen: MAX_OPEN_JOBS,
    });
    await this.audit(
      requester.actor,
      'job.create',
      job.id,
      viaDetail(requester, { action: spec.action.type, name: spec.name, deadlineAt: spec.deadlineAt }),
    );
    this.log.info({ job: job.id, action: spec.action.type, by: requester.actor }, 'fleet job created');
    this.wake();
    return this.info(job);
  }

  async list(q: { before?: string; limit: number }): Promise<JobInfo[]> {
    let before: number | undefined;
    if (q.before !== undefined) before = (await this.record(q.before)).rowid;
    const jobs = await this.store.listJobs({ limit: q.limit, ...(before === undefined ? {} : { before }) });
    return Promise.all(jobs.map((j) => this.info(j)));
  }

  async get(id: string): Promise<JobInfo> {
    return this.info(await this.record(id));
  }

  async devices(id: string, q: { state?: JobDeviceState; after?: string; limit: number }): Promise<JobDeviceInfo[]> {
    const job = await this.record(id);
    const rows = await this.store.jobDevices({
      job: job.rowid,
      limit: q.limit,
      ...(q.state === undefined ? {} : { state: q.state }),
      ...(q.after === undefined ? {} : { after: q.after }),
    });
    return rows.map(deviceInfo);
  }

  /**
   * Pauses a running job. A job waiting for approval runs nothing to pause, and a
   * pause would let `resume` start its stage unapproved: approve or cancel it instead.
   */
  pause(requester: Requester, id: string): Promise<JobInfo> {
    return this.change(requester, id, 'job.pause', ['running'], { state: 'paused', reason: `paused by ${requester.actor}` });
  }

  /** Resumes a paused job; failures so far are accepted (the failure threshold counts from here). */
  async resume(requester: Requester, id: string): Promise<JobInfo> {
    return this.change(requester, id, 'job.resume', ['paused'], { state: 'running', reason: null, ...(await this.baseline(id)) });
  }

  /** Lets a stage that waits for approval start; also resumes a job paused at a threshold. */
  async approve(requester: Requester, id: string): Promise<JobInfo> {
    return this.change(requester, id, 'job.approve', ['waiting', 'paused'], {
      state: 'running',
      reason: null,
      ...(await this.baseline(id)),
    });
  }

  cancel(requester: Requester, id: string): Promise<JobInfo> {
    return this.change(requester, id, 'job.cancel', ['running', 'paused', 'waiting'], {
      state: 'cancelled',
      reason: `cancelled by ${requester.actor}`,
    });
  }

  private async baseline(id: string): Promise<{ acceptedFailed: number; acceptedFinished: number }> {
    const t = totals(await this.store.jobCounts((await this.record(id)).rowid));
    return { acceptedFailed: t.failed, acceptedFinished: t.failed + t.succeeded };
  }

  private async change(
    requester: Requester,
    id: string,
    action: string,
    from: readonly JobState[],
    c: { state: JobState; reason: string | null; acceptedFailed?: number; acceptedFinished?: number },
  ): Promise<JobInfo> {
    const next = await this.store.op('changeJob', { id, from, ...c, now: Date.now() });
    if (next === null) {
      const cur = await this.record(id);
      if (cur.state === c.state) return this.info(cur);
      if (FINAL_JOB_STATES.has(cur.state))
        throw new HubError(HubErrorCode.JobFinal, `job ${id} is ${cur.state}: it cannot be ${action.slice(4)}d`);
      const hint = cur.state === 'waiting' ? ": it waits for an operator's approval (approve or cancel it)" : '';
      throw new HubError(HubErrorCode.JobState, `job ${id} is ${cur.state}${hint}: it cannot be ${action.slice(4)}d`);
    }
    await this.audit(requester.actor, action, id, viaDetail(requester, {}));
    this.log.info({ job: id, state: next.state, by: requester.actor }, `fleet job ${next.state}`);
    this.wake();
    return this.info(next);
  }

  private async record(id: string): Promise<JobRecord> {
    const j = await this.store.getJob(id);
    if (j === undefined) throw new HubError(HubErrorCode.JobUnknown, `no job "${id}"`);
    return j;
  }

  private async info(job: JobRecord): Promise<JobInfo> {
    const counts = await this.store.jobCounts(job.rowid);
    const spec = job.spec as StoredJobSpec;
    const byStage = spec.rollout.stages.map(() => emptyTally());
    for (const c of counts) {
      const t = byStage[c.stage];
      if (t !== undefined) t[c.state] += c.n;
    }
    return {
      ...jobProgress(job, totals(counts), byStage, jobDeadlineAt(spec, job.createdAt, this.deadlines.defaultMs)),
      name: spec.name,
      spec,
      createdAt: job.createdAt,
      createdBy: job.createdBy,
      reasons: await this.store.jobReasons(job.rowid),
    };
  }
}

function totals(counts: readonly { state: JobDeviceState; n: number }[]): Tally {
  const t = emptyTally();
  for (const c of counts) t[c.state] += c.n;
  return t;
}

export function deviceInfo(d: JobDeviceRecord): JobDeviceInfo {
  return {
    device: d.deviceId,
    stage: d.stage + 1,
    state: d.state,
    ref: d.ref,
    reason: d.reason,
    startedAt: d.startedAt,
    finishedAt: d.finishedAt,
  };
}
