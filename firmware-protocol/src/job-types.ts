// A fleet job's progress as the hub hands it out (JSON over HTTP and MQTT, CBOR on the
// console channel's `jobs` stream, SPEC.md §10): its state, stage, and devices by
// state, in all and per stage. docs/jobs.md says what each state means.

/** `timed_out`: its deadline passed first. */
export const JOB_STATE_NAMES = ['running', 'paused', 'waiting', 'completed', 'cancelled', 'aborted', 'timed_out'] as const;
export type JobStateName = (typeof JOB_STATE_NAMES)[number];

/** `timed_out`: not finished when the job's deadline passed. */
export const JOB_DEVICE_STATE_NAMES = ['pending', 'in_progress', 'succeeded', 'failed', 'skipped', 'cancelled', 'timed_out'] as const;
export type JobDeviceStateName = (typeof JOB_DEVICE_STATE_NAMES)[number];

/** Device ids a job's selection may list (docs/jobs.md); more devices are chosen by filter (tags, model, firmware, status, q). */
export const MAX_JOB_SELECTED_IDS = 5_000;

export type JobTally = Record<JobDeviceStateName, number>;

export interface JobProgressInfo {
  id: string;
  state: JobStateName;
  /** 1-based stage number the job is in, and how many stages it has. */
  stage: number;
  stages: number;
  reason: string | null;
  total: number;
  counts: JobTally;
  byStage: (JobTally & { stage: number; percent: number })[];
  updatedAt: number;
  finishedAt: number | null;
  /** When the job ends `timed_out` if it has not ended before (ms since the epoch). */
  deadlineAt: number;
}
