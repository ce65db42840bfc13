// Alarm rules (viewers read; operators and admins write) and alarms (viewers list;
// operators and admins acknowledge and clear): README.md § Alarms and notifications.

import { ALARM_COMMAND_STATES, ALARM_SEVERITIES, ALARM_STATES, type AlarmRuleDoc } from '@halyard/firmware-protocol';
import { z } from 'zod';
import type { HubContext } from '../../context.js';
import { httpRequester } from '../requester.js';
import type { Routes } from '../route.js';
import { deviceId, duration, limit, tags, time } from '../schemas.js';

const metricName = z.string().min(1).max(128);
const ruleId = z.string().min(1).max(64);
const alarmId = z.string().min(1).max(64);
/** A day: a condition longer than that is a report, not an alarm. */
const window = duration.refine((ms) => ms >= 0 && ms <= 30 * 86_400_000, 'a duration from 0 to 30d');

const condition = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('metric'),
      metric: metricName,
      above: z.number().finite().optional(),
      below: z.number().finite().optional(),
      for: window.default(0),
      hysteresis: z.number().finite().min(0).default(0),
    })
    .strict()
    .superRefine((c, ctx) => {
      if (c.above === undefined && c.below === undefined)
        ctx.addIssue({ code: 'custom', path: ['above'], message: 'above, below, or both (outside the range)' });
      if (c.above !== undefined && c.below !== undefined && c.below >= c.above)
        ctx.addIssue({ code: 'custom', path: ['below'], message: 'below must be under above (outside [below, above])' });
    }),
  z.object({ kind: z.literal('no_data'), metric: metricName, for: window.refine((ms) => ms >= 1_000, 'at least 1s') }).strict(),
  z.object({ kind: z.literal('offline'), for: window }).strict(),
  z
    .object({
      kind: z.literal('event'),
      name: z.string().min(1).max(64).optional(),
      minLevel: z.number().int().min(0).max(3).default(0),
      clearName: z.string().min(1).max(64).optional(),
    })
    .strict(),
  z
    .object({
      kind: z.literal('command'),
      name: z.string().min(1).max(64).optional(),
      states: z.array(z.enum(ALARM_COMMAND_STATES)).min(1).max(4).default(['failed', 'timed_out']),
    })
    .strict(),
  z.object({ kind: z.literal('twin'), key: z.string().min(1).max(128), within: window }).strict(),
]);

export const ruleDoc = z
  .object({
    name: z.string().min(1).max(128),
    description: z.string().max(1000).optional(),
    enabled: z.boolean().default(true),
    severity: z.enum(ALARM_SEVERITIES),
    selector: z
      .object({ devices: z.array(deviceId).max(1000).optional(), tags: tags.optional(), model: z.string().min(1).max(128).optional() })
      .strict()
      .default({}),
    condition,
    minDuration: window.default(0),
  })
  .strict();

const ruleShape = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string().optional(),
  enabled: z.boolean(),
  severity: z.enum(ALARM_SEVERITIES),
  selector: z.object({ devices: z.array(z.string()).optional(), tags: z.array(z.string()).optional(), model: z.string().optional() }),
  condition: z.object({ kind: z.string() }).passthrough(),
  minDuration: z.number(),
  createdAt: z.number(),
  createdBy: z.string(),
  updatedAt: z.number(),
  updatedBy: z.string(),
});

const alarmShape = z.object({
  id: z.string(),
  rule: z.string(),
  ruleName: z.string(),
  device: z.string(),
  severity: z.enum(ALARM_SEVERITIES),
  state: z.enum(ALARM_STATES),
  kind: z.string(),
  message: z.string(),
  raisedAt: z.number(),
  raisedValue: z.unknown(),
  acknowledgedAt: z.number().nullable(),
  acknowledgedBy: z.string().nullable(),
  note: z.string().nullable(),
  clearedAt: z.number().nullable(),
  clearedBy: z.string().nullable(),
  clearedValue: z.unknown(),
  flaps: z.number(),
  updatedAt: z.number(),
  history: z.array(
    z.object({ action: z.string(), at: z.number(), by: z.string().nullable(), note: z.string().nullable(), value: z.unknown() }),
  ),
});

/** `a,b`: values of `list`, comma-separated; an unknown one is a 400 naming the field. */
const csv = <T extends string>(list: readonly T[], what: string) =>
  z
    .string()
    .max(200)
    .transform((v, ctx) => {
      const items = v.split(',').map((s) => s.trim());
      const bad = items.find((s) => !(list as readonly string[]).includes(s));
      if (bad !== undefined) {
        ctx.addIssue({ code: 'custom', message: `"${bad}" is not ${what} (${list.join(', ')})` });
        return z.NEVER;
      }
      return items as T[];
    });

const noteBody = z
  .object({ note: z.string().max(1000).optional() })
  .strict()
  .default({});

export function alarmRoutes(routes: Routes, ctx: HubContext): void {
  const asDoc = (b: z.output<typeof ruleDoc>) => b as AlarmRuleDoc;

  routes.add({
    method: 'get',
    path: '/alarm-rules',
    summary: 'Every alarm rule, by id',
    tag: 'alarms',
    role: 'viewer',
    response: z.object({ rules: z.array(ruleShape) }),
    handler: async ({ c }) => c.json({ rules: await ctx.alarms.listRules() }),
  });
  routes.add({
    method: 'post',
    path: '/alarm-rules',
    summary: 'Create an alarm rule: a selection of devices, a condition, a severity (durations as "10s" or ms)',
    tag: 'alarms',
    role: 'operator',
    body: ruleDoc,
    status: 201,
    response: ruleShape,
    handler: async ({ c, body, caller }) => c.json(await ctx.alarms.createRule(httpRequester(caller), asDoc(body)), 201),
  });
  routes.add({
    method: 'get',
    path: '/alarm-rules/:id',
    summary: 'One alarm rule',
    tag: 'alarms',
    role: 'viewer',
    params: z.object({ id: ruleId }),
    response: ruleShape,
    handler: async ({ c, params }) => c.json(await ctx.alarms.getRule(params.id)),
  });
  routes.add({
    method: 'put',
    path: '/alarm-rules/:id',
    summary: 'Replace an alarm rule; alarms of devices it no longer selects (or of a disabled rule) are cleared',
    tag: 'alarms',
    role: 'operator',
    params: z.object({ id: ruleId }),
    body: ruleDoc,
    response: ruleShape,
    handler: async ({ c, params, body, caller }) => c.json(await ctx.alarms.updateRule(httpRequester(caller), params.id, asDoc(body))),
  });
  routes.add({
    method: 'delete',
    path: '/alarm-rules/:id',
    summary: 'Delete an alarm rule; its alarms not cleared are cleared (history kept)',
    tag: 'alarms',
    role: 'operator',
    params: z.object({ id: ruleId }),
    response: ruleShape,
    handler: async ({ c, params, caller }) => c.json(await ctx.alarms.deleteRule(httpRequester(caller), params.id)),
  });

  routes.add({
    method: 'get',
    path: '/alarms',
    summary: 'Alarms, newest first, filtered; `before` (an alarm id) pages on',
    tag: 'alarms',
    role: 'viewer',
    query: z.object({
      device: deviceId.optional(),
      rule: ruleId.optional(),
      state: csv(ALARM_STATES, 'an alarm state').optional(),
      severity: csv(ALARM_SEVERITIES, 'a severity').optional(),
      since: time.optional(),
      before: alarmId.optional(),
      limit: limit(1_000, 100),
    }),
    response: z.object({ alarms: z.array(alarmShape) }),
    handler: async ({ c, query }) =>
      c.json({
        alarms: await ctx.alarms.list({
          device: query.device,
          rule: query.rule,
          states: query.state,
          severities: query.severity,
          since: query.since,
          before: query.before,
          limit: query.limit,
        }),
      }),
  });
  routes.add({
    method: 'get',
    path: '/alarms/counts',
    summary: 'Alarms not cleared (active or acknowledged), by severity',
    tag: 'alarms',
    role: 'viewer',
    response: z.object({ critical: z.number(), major: z.number(), minor: z.number(), warning: z.number() }),
    handler: async ({ c }) => c.json(await ctx.alarms.counts()),
  });
  routes.add({
    method: 'get',
    path: '/alarms/:id',
    summary: 'One alarm with its history',
    tag: 'alarms',
    role: 'viewer',
    params: z.object({ id: alarmId }),
    response: alarmShape,
    handler: async ({ c, params }) => c.json(await ctx.alarms.get(params.id)),
  });
  routes.add({
    method: 'post',
    path: '/alarms/:id/acknowledge',
    summary: 'Acknowledge an active alarm, with an optional note (409 if acknowledged or cleared already)',
    tag: 'alarms',
    role: 'operator',
    params: z.object({ id: alarmId }),
    body: noteBody,
    response: alarmShape,
    handler: async ({ c, params, body, caller }) =>
      c.json(await ctx.alarms.acknowledge(httpRequester(caller), params.id, body.note ?? null)),
  });
  routes.add({
    method: 'post',
    path: '/alarms/:id/clear',
    summary: 'Clear an alarm by hand, with an optional note (409 if cleared already)',
    tag: 'alarms',
    role: 'operator',
    params: z.object({ id: alarmId }),
    body: noteBody,
    response: alarmShape,
    handler: async ({ c, params, body, caller }) => c.json(await ctx.alarms.clear(httpRequester(caller), params.id, body.note ?? null)),
  });
}
