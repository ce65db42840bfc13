// Fleet jobs (docs/jobs.md): a preview of the devices a selection takes in, create,
// list, inspect (progress by stage and state, failure reasons grouped, devices paged),
// and pause, resume, approve, cancel. Viewers read; operators and admins act.

import { z } from 'zod';
import type { HubContext } from '../../context.js';
import { jobSpecSchema } from '../../jobs/spec.js';
import { JOB_DEVICE_STATES, JOB_STATES } from '../../store/jobs.js';
import { httpRequester } from '../requester.js';
import type { Routes } from '../route.js';
import { limit } from '../schemas.js';

const jobId = z.string().regex(/^j-[0-9a-f]{12}$/, 'a job id, j-<12 hex digits>');

const tally = z.object(
  Object.fromEntries(JOB_DEVICE_STATES.map((s) => [s, z.number()])) as Record<(typeof JOB_DEVICE_STATES)[number], z.ZodNumber>,
);

const jobShape = z.object({
  id: z.string(),
  name: z.string(),
  state: z.enum(JOB_STATES),
  stage: z.number().describe('1-based stage the job is in'),
  stages: z.number(),
  reason: z.string().nullable().describe('why it is paused or waiting, or why it ended early'),
  total: z.number().describe('devices the job has taken in so far'),
  counts: tally,
  byStage: z.array(tally.extend({ stage: z.number(), percent: z.number() })),
  reasons: z.array(z.object({ reason: z.string(), n: z.number() })).describe('failed, cancelled and skipped devices by reason'),
  spec: z.unknown().describe('the job as created, with `target` the version an update job installs'),
  createdAt: z.number(),
  createdBy: z.string(),
  updatedAt: z.number(),
  finishedAt: z.number().nullable(),
  deadlineAt: z.number().describe('when the job ends timed_out if it has not ended before (ms since the epoch)'),
});

const jobDeviceShape = z.object({
  device: z.string(),
  stage: z.number(),
  state: z.enum(JOB_DEVICE_STATES),
  ref: z.string().nullable().describe('the update (u-...) or command id carrying the job on the device'),
  reason: z.string().nullable(),
  startedAt: z.number().nullable(),
  finishedAt: z.number().nullable(),
});

export function jobRoutes(routes: Routes, ctx: HubContext): void {
  routes.add({
    method: 'post',
    path: '/jobs/preview',
    summary: 'How many devices a job would take in now (online among them), and the first few ids',
    tag: 'jobs',
    role: 'viewer',
    body: z.unknown(),
    response: z.object({ count: z.number(), online: z.number(), sample: z.array(z.string()) }),
    handler: async ({ c, body }) => c.json(await ctx.jobs.previewSpec(body as never)),
  });

  routes.add({
    method: 'post',
    path: '/jobs',
    summary: 'Create a fleet job: a firmware update, a command or a desired-state patch for a selection of devices, rolled out in stages',
    tag: 'jobs',
    role: 'operator',
    status: 201,
    body: jobSpecSchema,
    response: jobShape,
    handler: async ({ c, body, caller }) => c.json(await ctx.jobs.create(httpRequester(caller), body), 201),
  });

  routes.add({
    method: 'get',
    path: '/jobs',
    summary: 'Fleet jobs, newest first',
    tag: 'jobs',
    role: 'viewer',
    query: z.object({ before: jobId.optional(), limit: limit(200, 50) }),
    response: z.object({ jobs: z.array(jobShape) }),
    handler: async ({ c, query }) => c.json({ jobs: await ctx.jobs.list(query) }),
  });

  routes.add({
    method: 'get',
    path: '/jobs/:id',
    summary: 'One job: progress by stage and state, failure reasons grouped',
    tag: 'jobs',
    role: 'viewer',
    params: z.object({ id: jobId }),
    response: jobShape,
    handler: async ({ c, params }) => c.json(await ctx.jobs.get(params.id)),
  });

  routes.add({
    method: 'get',
    path: '/jobs/:id/devices',
    summary: "A job's devices in id order, a page at a time (`after`: the last id of the previous page)",
    tag: 'jobs',
    role: 'viewer',
    params: z.object({ id: jobId }),
    query: z.object({ state: z.enum(JOB_DEVICE_STATES).optional(), after: z.string().max(128).optional(), limit: limit(1_000, 100) }),
    response: z.object({ devices: z.array(jobDeviceShape) }),
    handler: async ({ c, params, query }) => c.json({ devices: await ctx.jobs.devices(params.id, query) }),
  });

  const act = (verb: 'pause' | 'resume' | 'approve' | 'cancel', summary: string) =>
    routes.add({
      method: 'post',
      path: `/jobs/:id/${verb}`,
      summary,
      tag: 'jobs',
      role: 'operator',
      params: z.object({ id: jobId }),
      response: jobShape,
      handler: async ({ c, params, caller }) => c.json(await ctx.jobs[verb](httpRequester(caller), params.id)),
    });
  act('pause', 'Pause: no device starts; those in progress go on (409 once the job is over)');
  act('resume', 'Resume a paused job; failures so far are accepted and the failure threshold counts anew');
  act('approve', 'Let a stage that waits for approval start (or a job paused at a threshold go on)');
  act('cancel', 'Cancel: devices not started are skipped; those in progress are told to cancel where their state allows');
}
