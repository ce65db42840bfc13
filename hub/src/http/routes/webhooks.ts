// Webhooks (README.md § Alarms and notifications), admins only: the URL and what it
// is told, a secret shown once (at creation and rotation), a test delivery, and the
// delivery log.

import { ALARM_SEVERITIES, WEBHOOK_DELIVERY_STATES, WEBHOOK_EVENTS } from '@halyard/firmware-protocol';
import { z } from 'zod';
import type { HubContext } from '../../context.js';
import { MAX_URL_LENGTH } from '../../webhooks/address-guard.js';
import { httpRequester } from '../requester.js';
import type { Routes } from '../route.js';
import { limit } from '../schemas.js';

const webhookId = z.string().regex(/^wh-[A-Za-z0-9_-]{1,32}$/, 'a webhook id (wh-...)');
const params = z.object({ id: webhookId });

const fields = {
  name: z.string().min(1).max(128),
  url: z
    .string()
    .max(MAX_URL_LENGTH)
    .describe('http:// or https://; loopback, link-local and metadata addresses are refused unless --webhook-allow lists them'),
  events: z.array(z.enum(WEBHOOK_EVENTS)).min(1).max(WEBHOOK_EVENTS.length),
  alarmSeverities: z
    .array(z.enum(ALARM_SEVERITIES))
    .min(1)
    .max(ALARM_SEVERITIES.length)
    .nullable()
    .describe('null: alarms of every severity'),
  alarmRules: z.array(z.string().min(1).max(64)).min(1).max(1_000).nullable().describe('alarm rule ids; null: every rule'),
  enabled: z.boolean(),
};

const webhookShape = z.object({
  id: z.string(),
  name: z.string(),
  url: z.string(),
  events: z.array(z.string()),
  alarmSeverities: z.array(z.string()).nullable(),
  alarmRules: z.array(z.string()).nullable(),
  enabled: z.boolean(),
  createdAt: z.number(),
  createdBy: z.string(),
  updatedAt: z.number(),
});

const deliveryShape = z.object({
  id: z.string(),
  webhook: z.string(),
  event: z.string(),
  state: z.enum(WEBHOOK_DELIVERY_STATES),
  attempts: z.number(),
  createdAt: z.number(),
  nextAt: z.number().nullable(),
  lastStatus: z.number().nullable(),
  lastError: z.string().nullable(),
  finishedAt: z.number().nullable(),
});

export function webhookRoutes(routes: Routes, ctx: HubContext): void {
  routes.add({
    method: 'get',
    path: '/webhooks',
    summary: 'Webhooks (secrets are never shown again)',
    tag: 'webhooks',
    role: 'admin',
    response: z.object({ webhooks: z.array(webhookShape) }),
    handler: async ({ c }) => c.json({ webhooks: await ctx.webhooks.list() }),
  });

  routes.add({
    method: 'post',
    path: '/webhooks',
    summary: 'Creates a webhook; the answer holds its signing secret, shown only this once',
    tag: 'webhooks',
    role: 'admin',
    status: 201,
    body: z
      .object({
        ...fields,
        alarmSeverities: fields.alarmSeverities.default(null),
        alarmRules: fields.alarmRules.default(null),
        enabled: fields.enabled.default(true),
      })
      .strict(),
    response: webhookShape.extend({ secret: z.string() }),
    handler: async ({ c, body, caller }) => {
      const { webhook, secret } = await ctx.webhooks.create(httpRequester(caller), body);
      return c.json({ ...webhook, secret }, 201);
    },
  });

  routes.add({
    method: 'get',
    path: '/webhooks/:id',
    summary: 'One webhook',
    tag: 'webhooks',
    role: 'admin',
    params,
    response: webhookShape,
    handler: async ({ c, params }) => {
      const { secret: _secret, ...info } = await ctx.webhooks.get(params.id);
      return c.json(info);
    },
  });

  routes.add({
    method: 'patch',
    path: '/webhooks/:id',
    summary: 'Changes a webhook (any of its fields but the secret)',
    tag: 'webhooks',
    role: 'admin',
    params,
    body: z.object(fields).partial().strict(),
    response: webhookShape,
    handler: async ({ c, params, body, caller }) => {
      const patch = Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined));
      return c.json(await ctx.webhooks.update(httpRequester(caller), params.id, patch));
    },
  });

  routes.add({
    method: 'delete',
    path: '/webhooks/:id',
    summary: 'Deletes a webhook with its queue and delivery log',
    tag: 'webhooks',
    role: 'admin',
    status: 204,
    params,
    handler: async ({ c, params, caller }) => {
      await ctx.webhooks.remove(httpRequester(caller), params.id);
      return c.body(null, 204);
    },
  });

  routes.add({
    method: 'post',
    path: '/webhooks/:id/secret',
    summary: 'Replaces the signing secret; the answer holds the new one, shown only this once',
    tag: 'webhooks',
    role: 'admin',
    params,
    response: webhookShape.extend({ secret: z.string() }),
    handler: async ({ c, params, caller }) => {
      const { webhook, secret } = await ctx.webhooks.rotateSecret(httpRequester(caller), params.id);
      return c.json({ ...webhook, secret });
    },
  });

  routes.add({
    method: 'post',
    path: '/webhooks/:id/test',
    summary: 'Queues a `test` delivery (sent like any other, with retries); its id',
    tag: 'webhooks',
    role: 'admin',
    status: 202,
    params,
    response: z.object({ delivery: z.string() }),
    handler: async ({ c, params, caller }) => c.json({ delivery: await ctx.webhooks.test(httpRequester(caller), params.id) }, 202),
  });

  routes.add({
    method: 'get',
    path: '/webhooks/:id/deliveries',
    summary: "The webhook's delivery log, newest first: pending, delivered and failed deliveries (finished ones are kept a week)",
    tag: 'webhooks',
    role: 'admin',
    params,
    query: z.object({
      state: z.enum(WEBHOOK_DELIVERY_STATES).optional(),
      before: z.coerce.number().int().min(1).optional().describe('the `next` of the previous page'),
      limit: limit(1_000, 100),
    }),
    response: z.object({ deliveries: z.array(deliveryShape), next: z.number().nullable() }),
    handler: async ({ c, params, query }) => {
      await ctx.webhooks.get(params.id);
      const rows = await ctx.webhooks.deliveries({
        webhook: params.id,
        ...(query.state === undefined ? {} : { state: query.state }),
        ...(query.before === undefined ? {} : { beforeRowid: query.before }),
        limit: query.limit + 1,
      });
      const page = rows.slice(0, query.limit);
      const next = rows.length > query.limit ? (page[page.length - 1]?.rowid ?? null) : null;
      return c.json({ deliveries: page.map(({ rowid: _r, ...d }) => d), next });
    },
  });
}
