// Device events and the audit log.

import { z } from 'zod';
import type { HubContext } from '../../context.js';
import { shownAuditDetail } from '../../webhooks/shown-url.js';
import type { Routes } from '../route.js';
import { deviceId, idParams, limit, time } from '../schemas.js';
import { deviceEntry } from './devices.js';

const eventShape = z.object({
  id: z.number(),
  device: z.string(),
  name: z.string(),
  level: z.number(),
  data: z.unknown(),
  time: z.number(),
  receivedAt: z.number(),
});

export function eventRoutes(routes: Routes, ctx: HubContext): void {
  routes.add({
    method: 'get',
    path: '/events',
    summary: 'Events, newest first; `after` returns only newer ones (for polling)',
    tag: 'events',
    role: 'viewer',
    query: z.object({
      device: deviceId.optional(),
      since: time.optional(),
      after: z.coerce.number().int().min(0).optional(),
      limit: limit(1_000, 100),
    }),
    response: z.object({ events: z.array(eventShape) }),
    handler: async ({ c, query }) => {
      const device = query.device === undefined ? undefined : deviceEntry(ctx, query.device).record.rowid;
      return c.json({
        events: await ctx.store.listEvents({
          ...(device === undefined ? {} : { device }),
          ...(query.since === undefined ? {} : { since: query.since }),
          ...(query.after === undefined ? {} : { afterId: query.after }),
          limit: query.limit,
        }),
      });
    },
  });

  routes.add({
    method: 'get',
    path: '/devices/:id/events',
    summary: "A device's events, newest first",
    tag: 'events',
    role: 'viewer',
    params: idParams,
    query: z.object({ since: time.optional(), limit: limit(1_000, 100) }),
    response: z.object({ events: z.array(eventShape) }),
    handler: async ({ c, params, query }) => {
      const e = deviceEntry(ctx, params.id);
      return c.json({
        events: await ctx.store.listEvents({
          device: e.record.rowid,
          ...(query.since === undefined ? {} : { since: query.since }),
          limit: query.limit,
        }),
      });
    },
  });

  routes.add({
    method: 'get',
    path: '/audit',
    summary: 'The audit log, newest first: every state-changing call with who made it',
    tag: 'audit',
    role: 'admin',
    query: z.object({
      before: z.coerce.number().int().min(1).optional(),
      // Operators, integrators and the hub's own actors (`job:<id>`, docs/jobs.md).
      actor: z
        .string()
        .min(1)
        .max(200)
        .refine((a) => ![...a].some((ch) => ch < ' ' || ch === '\u007f'), 'an operator, integrator or job:<id>, without control characters')
        .optional(),
      action: z
        .string()
        .max(64)
        .regex(/^[a-z][a-z0-9_.-]*$/, 'an action such as job.create, or the start of some ending in a dot, such as job.')
        .optional()
        .describe('an action (job.create), or every action starting so when it ends in a dot (job.)'),
      target: z.string().min(1).max(256).optional().describe('what the call acted on: a device id, a username, a job id…'),
      limit: limit(1_000, 100),
    }),
    response: z.object({
      entries: z.array(
        z.object({
          id: z.number(),
          at: z.number(),
          actor: z.string(),
          action: z.string(),
          target: z.string().nullable(),
          detail: z.unknown(),
        }),
      ),
    }),
    handler: async ({ c, query }) =>
      c.json({
        entries: (
          await ctx.store.listAudit({
            ...(query.before === undefined ? {} : { beforeId: query.before }),
            ...(query.actor === undefined ? {} : { actor: query.actor }),
            ...(query.action === undefined ? {} : { action: query.action }),
            ...(query.target === undefined ? {} : { target: query.target }),
            limit: query.limit,
          })
        ).map((e) => ({ ...e, detail: shownAuditDetail(e.action, e.detail) })),
      }),
  });
}
