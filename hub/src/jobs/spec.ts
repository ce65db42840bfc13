// What a fleet job is (docs/jobs.md): which devices (a selection, re-evaluated while
// the job runs), what to do on each (a firmware update, a command, a desired-state
// patch) and how fast (the rollout: devices in progress at once, a rate, stages with
// a success threshold or an operator's approval, a failure threshold, a time window).

import { type DeviceInfo, MAX_JOB_SELECTED_IDS } from '@halyard/firmware-protocol';
import { z } from 'zod';

// A desired patch passes through exactly as JSON.parse made it: z.record would rebuild
// it without a "__proto__" key, silently, and a job would "succeed" changing nothing.
// It is checked against the device's limits where the job is made (JobService).
const jsonObject = z
  .custom<Record<string, unknown>>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), 'a JSON object')
  .meta({ description: 'a JSON object', type: 'object' });

export const selectionSchema = z
  .object({
    // The list is kept in the job (and shown with it), and a request body holds 256 KiB.
    devices: z.array(z.string().min(1).max(128)).max(MAX_JOB_SELECTED_IDS).optional().describe('these device ids only'),
    tags: z.array(z.string().min(1).max(64)).max(16).optional().describe('devices carrying every one of these tags'),
    model: z.string().min(1).max(128).optional(),
    firmware: z.string().min(1).max(128).optional().describe('devices running this version'),
    status: z.enum(['online', 'offline', 'any']).default('any').describe('online now, offline now, or either'),
    q: z.string().max(100).optional().describe('free text, as the fleet table’s search'),
  })
  .strict();
export type Selection = z.output<typeof selectionSchema>;

export const actionSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('update'), firmware: z.string().min(1).max(64) }).strict(),
  z
    .object({
      type: z.literal('command'),
      name: z.string().min(1).max(64),
      params: z.unknown().optional(),
      ttl: z.union([z.number().int().positive(), z.string().max(16)]).optional(),
      timeout: z.union([z.number().int().positive(), z.string().max(16)]).optional(),
    })
    .strict(),
  z.object({ type: z.literal('desired'), patch: jsonObject }).strict(),
]);
export type JobAction = z.output<typeof actionSchema>;

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'HH:MM (UTC)');

export const rolloutSchema = z
  .object({
    maxInProgress: z.number().int().min(1).max(10_000).default(100).describe('devices in progress at once'),
    ratePerMinute: z.number().int().min(1).max(1_000_000).nullable().default(null).describe('devices started per minute; null: no limit'),
    stages: z
      .array(
        z
          .object({
            percent: z.number().gt(0).max(100).describe('cumulative share of the job’s devices this stage reaches'),
            approval: z.boolean().default(false).describe('wait for an operator’s approval before this stage starts'),
          })
          .strict(),
      )
      .min(1)
      .max(10)
      .default([{ percent: 100, approval: false }])
      .refine((s) => s.every((x, i) => i === 0 || x.percent > (s[i - 1]?.percent ?? 0)), 'stage percents must increase')
      .refine((s) => s[s.length - 1]?.percent === 100, 'the last stage must reach 100 percent'),
    successThreshold: z
      .number()
      .min(0)
      .max(1)
      .default(1)
      .describe('share of the devices so far that must have succeeded before the next stage starts'),
    failureThreshold: z
      .object({
        ratio: z.number().min(0).max(1).describe('failed devices over finished devices above which the action is taken'),
        minFinished: z.number().int().min(1).default(1).describe('finished devices needed before the ratio counts'),
        action: z.enum(['pause', 'abort']).default('pause'),
      })
      .strict()
      .nullable()
      .default(null),
    window: z
      .object({ from: hhmm, to: hhmm })
      .strict()
      .refine((w) => w.from !== w.to, 'from and to must differ: an empty window would start no device')
      .nullable()
      .default(null)
      .describe('devices start only between these UTC times'),
  })
  .strict();
export type Rollout = z.output<typeof rolloutSchema>;

export const jobSpecSchema = z
  .object({
    name: z.string().max(128).default(''),
    action: actionSchema,
    selection: selectionSchema,
    rollout: rolloutSchema.prefault({}),
    deadline: z
      .union([z.number().int().positive(), z.string().max(16)])
      .optional()
      .describe('how long the job may run, from its creation ("12h", "7d", or ms); absent: --job-deadline; at most --job-deadline-max'),
  })
  .strict();
export type JobSpecInput = z.input<typeof jobSpecSchema>;
export type JobSpec = z.output<typeof jobSpecSchema>;
/**
 * As stored: an update job also keeps the version it installs (devices already on
 * it are not taken in), and every job its deadline, resolved at creation (ms, and the
 * time it passes). Jobs made before deadlines existed have neither: jobDeadlineAt.
 */
export type StoredJobSpec = Omit<JobSpec, 'deadline'> & { target: string | null; deadline?: number; deadlineAt?: number };

/** A job's deadline when it gives none, and the longest it may give (ms; --job-deadline, --job-deadline-max). */
export interface JobDeadlines {
  defaultMs: number;
  maxMs: number;
}

/** Shortest deadline a job may be given (ms): a job ends no sooner than its first devices could have started. */
export const MIN_JOB_DEADLINE_MS = 1_000;

/** When a job's deadline passes: as stored, or for a job made before deadlines, `defaultMs` after its creation. */
export function jobDeadlineAt(spec: StoredJobSpec, createdAt: number, defaultMs: number): number {
  return spec.deadlineAt ?? createdAt + defaultMs;
}

/** Whether a device falls in a selection now (the fleet table's filters, docs/jobs.md). */
export function selects(s: Selection, d: DeviceInfo, ids: ReadonlySet<string> | undefined): boolean {
  if (d.revoked) return false;
  if (ids !== undefined && !ids.has(d.id)) return false;
  if (s.status === 'online' && !d.online) return false;
  if (s.status === 'offline' && d.online) return false;
  if (s.model !== undefined && d.model !== s.model) return false;
  if (s.firmware !== undefined && d.firmware !== s.firmware) return false;
  if (s.tags !== undefined && !s.tags.every((t) => d.tags.includes(t))) return false;
  if (s.q !== undefined) {
    const needle = s.q.toLowerCase();
    const hay = [d.id, d.name ?? '', d.model ?? '', d.firmware ?? '', ...d.tags].join('\u0000').toLowerCase();
    if (!hay.includes(needle)) return false;
  }
  return true;
}

/** Whether `now` falls in the window (UTC; a window past midnight wraps). */
export function inWindow(w: Rollout['window'], now: number): boolean {
  if (w === null) return true;
  const d = new Date(now);
  const m = d.getUTCHours() * 60 + d.getUTCMinutes();
  const at = (s: string) => Number(s.slice(0, 2)) * 60 + Number(s.slice(3));
  const from = at(w.from);
  const to = at(w.to);
  return from <= to ? m >= from && m < to : m >= from || m < to;
}

/**
 * The stage each newly enrolled device goes in: stage i holds devices up to
 * ceil(percent_i × total) in all, filled in order; never a stage before `current`
 * (a device that joins late starts with the stage running).
 */
export function assignStages(stages: Rollout['stages'], perStage: number[], fresh: number, current: number): number[] {
  const total = perStage.reduce((a, b) => a + b, 0) + fresh;
  const counts = [...perStage];
  const out: number[] = [];
  for (let k = 0; k < fresh; k++) {
    let cum = 0;
    let chosen = stages.length - 1;
    for (let i = 0; i < stages.length; i++) {
      cum += counts[i] ?? 0;
      const cap = Math.ceil(((stages[i]?.percent ?? 100) / 100) * total);
      if (cum < cap) {
        chosen = i;
        break;
      }
    }
    chosen = Math.max(chosen, current);
    counts[chosen] = (counts[chosen] ?? 0) + 1;
    out.push(chosen);
  }
  return out;
}
