// A job's progress as the API, MQTT (`halyard/jobs/{id}/status`, retained) and the
// console (the `jobs` stream, SPEC.md §10) show it: its state, the stage it is in,
// and its devices by state, in all and per stage. The shape is the protocol
// package's (JobProgressInfo).

import type { JobProgressInfo, JobTally } from '@halyard/firmware-protocol';
import type { JobRecord } from '../store/jobs.js';

export type Tally = JobTally;
export type JobProgress = JobProgressInfo;

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
