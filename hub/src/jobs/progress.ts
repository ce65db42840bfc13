// A job's progress as the API, MQTT (`halyard/jobs/{id}/status`, retained) and the
// console show it: its state, the stage it is in, and its devices by state, in all
// and per stage.

import type { JobDeviceState, JobRecord, JobState } from '../store/jobs.js';

export type Tally = Record<JobDeviceState, number>;

export interface JobProgress {
  id: string;
  state: JobState;
  /** 1-based stage number the job is in, and how many stages it has. */
  stage: number;
  stages: number;
  reason: string | null;
  total: number;
  counts: Tally;
  byStage: (Tally & { stage: number; percent: number })[];
  updatedAt: number;
  finishedAt: number | null;
  /** When the job ends `timed_out` if it has not ended before (ms since the epoch). */
  deadlineAt: number;
}

export const emptyTally = (): Tally => ({ pending: 0, in_progress: 0, succeeded: 0, failed: 0, skipped: 0, cancelled: 0, timed_out: 0 });

export function jobProgress(job: JobRecord, counts: Tally, byStage: Tally[], deadlineAt: number): JobProgress {
  const stages = (job.spec as { rollout: { stages: { percent: number }[] } }).rollout.stages;
  return {
    id: job.id,
    state: job.state,
    stage: job.stage + 1,
    stages: stages.length,
    reason: job.reason,
    total: Object.values(counts).reduce((a, b) => a + b, 0),
    counts,
    byStage: stages.map((s, i) => ({ stage: i + 1, percent: s.percent, ...(byStage[i] ?? emptyTally()) })),
    updatedAt: job.updatedAt,
    finishedAt: job.finishedAt,
    deadlineAt,
  };
}
