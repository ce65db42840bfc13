// Model profiles: what operators know of a hardware model (its commands and their
// parameters, its metrics' units and formats, its desired keys). Viewers read,
// operators and admins replace.

import { NAME_PATTERN } from '@halyard/firmware-protocol';
import { z } from 'zod';
import type { HubContext } from '../../context.js';
import { httpRequester } from '../requester.js';
import type { Routes } from '../route.js';

/** A model as devices name it in HELLO; U+0000 is refused (PostgreSQL's text cannot hold it). */
const model = z
  .string()
  .min(1)
  .max(128)
  .refine((m) => !m.includes('\u0000'), 'a model without U+0000');
const unit = z.string().min(1).max(32);

const field = z
  .object({
    name: z.string().min(1).max(64),
    type: z.enum(['number', 'string', 'boolean', 'enum']),
    min: z.number().optional(),
    max: z.number().optional(),
    values: z.array(z.string().min(1).max(64)).min(1).max(64).optional(),
    unit: unit.optional(),
    required: z.boolean().optional(),
  })
  .strict()
  .superRefine((f, ctx) => {
    if (f.type === 'enum' && f.values === undefined)
      ctx.addIssue({ code: 'custom', path: ['values'], message: 'an enum lists its values' });
    if (f.min !== undefined && f.max !== undefined && f.min > f.max)
      ctx.addIssue({ code: 'custom', path: ['min'], message: 'min is above max' });
  });

const command = z
  .object({
    name: z.string().regex(NAME_PATTERN, 'a command name: 1-64 of A-Z a-z 0-9 _ . : - starting with a letter or digit'),
    description: z.string().max(200).optional(),
    params: z.array(field).max(32),
  })
  .strict();

const metric = z
  .object({
    name: z.string().min(1).max(128),
    unit: unit.optional(),
    decimals: z.number().int().min(0).max(6).optional(),
    label: z.string().min(1).max(64).optional(),
  })
  .strict();

/** Names are unique within each list (and within a command's params). */
function unique(items: readonly { name: string }[], path: (string | number)[], ctx: z.RefinementCtx): void {
  const seen = new Set<string>();
  items.forEach((x, i) => {
    if (seen.has(x.name)) ctx.addIssue({ code: 'custom', path: [...path, i, 'name'], message: `"${x.name}" is listed twice` });
    seen.add(x.name);
  });
}

export const profileDoc = z
  .object({
    commands: z.array(command).max(64),
    metrics: z.array(metric).max(128),
    desired: z.array(field).max(64),
  })
  .strict()
  .superRefine((d, ctx) => {
    unique(d.commands, ['commands'], ctx);
    d.commands.forEach((c, i) => {
      unique(c.params, ['commands', i, 'params'], ctx);
    });
    unique(d.metrics, ['metrics'], ctx);
    unique(d.desired, ['desired'], ctx);
  });

export const profileShape = z.object({
  model: z.string(),
  commands: z.array(command),
  metrics: z.array(metric),
  desired: z.array(field),
  updatedAt: z.number().nullable(),
  updatedBy: z.string().nullable(),
});

export function modelRoutes(routes: Routes, ctx: HubContext): void {
  routes.add({
    method: 'get',
    path: '/models',
    summary: 'Every model profile operators have written',
    tag: 'models',
    role: 'viewer',
    response: z.object({ profiles: z.array(profileShape) }),
    handler: async ({ c }) => c.json({ profiles: await ctx.models.list() }),
  });

  routes.add({
    method: 'get',
    path: '/models/:model/profile',
    summary: "A model's profile (empty lists and updatedAt null when nobody has written one)",
    tag: 'models',
    role: 'viewer',
    params: z.object({ model }),
    response: profileShape,
    handler: async ({ c, params }) => c.json(await ctx.models.get(params.model)),
  });

  routes.add({
    method: 'put',
    path: '/models/:model/profile',
    summary: "Replace a model's profile: its commands with their parameters, its metrics' units and formats, its desired keys",
    tag: 'models',
    role: 'operator',
    params: z.object({ model }),
    body: profileDoc,
    response: profileShape,
    handler: async ({ c, params, body, caller }) => c.json(await ctx.models.put(httpRequester(caller), params.model, body)),
  });

  routes.add({
    method: 'delete',
    path: '/models/:model/profile',
    summary: "Remove a model's profile: it reads as empty again, and no longer counts toward the 100 kept",
    tag: 'models',
    role: 'operator',
    params: z.object({ model }),
    status: 204,
    handler: async ({ c, params, caller }) => {
      await ctx.models.remove(httpRequester(caller), params.model);
      return c.body(null, 204);
    },
  });
}
