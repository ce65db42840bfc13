// The signed-in operator's own dashboard (README.md § Web console): any role reads
// and saves it; nobody reads or saves another's. A dashboard is a bounded list of
// panels of the kinds the console draws, so a save is at most a few tens of KB.

import { z } from 'zod';
import type { HubContext } from '../../context.js';
import { HubError, HubErrorCode } from '../../errors.js';
import { httpRequester } from '../requester.js';
import type { Routes } from '../route.js';

export const MAX_PANELS = 24;

const title = z.string().max(128);
const metric = z.string().min(1).max(128);
const device = z.string().min(1).max(64);

const panel = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('chart'),
      title,
      metric,
      devices: z.array(device).min(1).max(20),
      minutes: z
        .number()
        .int()
        .min(1)
        .max(7 * 24 * 60),
    })
    .strict(),
  z.object({ kind: z.literal('count'), title, by: z.enum(['status', 'tag']) }).strict(),
  z.object({ kind: z.literal('events'), title, limit: z.number().int().min(1).max(100) }).strict(),
  z
    .object({
      kind: z.literal('value'),
      title,
      device,
      metric,
      warn: z.number().optional(),
      alarm: z.number().optional(),
      below: z.boolean().optional(),
    })
    .strict(),
]);

export const dashboardDoc = z.object({ panels: z.array(panel).max(MAX_PANELS) }).strict();

const savedShape = z.object({ panels: z.array(panel), updatedAt: z.number().nullable() });

export function dashboardRoutes(routes: Routes, ctx: HubContext): void {
  const me = (caller: { username: string } | undefined): string => {
    if (caller === undefined) throw new HubError(HubErrorCode.Unauthenticated, 'session ended');
    return caller.username;
  };

  routes.add({
    method: 'get',
    path: '/me/dashboard',
    summary: "One's own dashboard (any role): its panels, none and updatedAt null before the first save",
    tag: 'session',
    role: 'viewer',
    response: savedShape,
    handler: async ({ c, caller }) => c.json(await ctx.dashboards.get(me(caller))),
  });

  routes.add({
    method: 'put',
    path: '/me/dashboard',
    summary: "Save one's own dashboard (any role): the whole list of panels (at most 24, of kinds chart, count, events, value)",
    tag: 'session',
    role: 'viewer',
    body: dashboardDoc,
    response: savedShape,
    handler: async ({ c, body, caller }) => c.json(await ctx.dashboards.put(httpRequester(caller), me(caller), body)),
  });
}
