// Commands and twins over HTTP.

import { type JsonValue, NAME_PATTERN } from '@halyard/firmware-protocol';
import { z } from 'zod';
import type { HubContext } from '../../context.js';
import { HubError, HubErrorCode } from '../../errors.js';
import { httpRequester } from '../requester.js';
import type { Routes } from '../route.js';
import { commandState, commandStates, durationInput, idParams, jsonObject, jsonValue, limit } from '../schemas.js';

const commandShape = z.object({
  id: z.string(),
  device: z.string(),
  name: z.string(),
  params: z.unknown(),
  state: commandState,
  key: z.string().nullable(),
  createdAt: z.number(),
  createdBy: z.string(),
  ttl: z.number(),
  timeout: z.number(),
  result: z.unknown(),
  error: z.string().nullable(),
  history: z.array(z.object({ state: commandState, at: z.number() })),
});

const twinShape = z.object({
  device: z.string(),
  desired: z.record(z.string(), z.unknown()),
  desiredVersion: z.number(),
  reported: z.record(z.string(), z.unknown()),
  reportedVersion: z.number(),
  delta: z.record(z.string(), z.unknown()),
  desiredUpdated: z.record(z.string(), z.number()),
  reportedUpdated: z.record(z.string(), z.number()),
});

/** Longest ?wait, seconds. */
const MAX_WAIT_S = 120;

export function commandRoutes(routes: Routes, ctx: HubContext): void {
  routes.add({
    method: 'post',
    path: '/devices/:id/commands',
    summary:
      "Send a command. Idempotency-Key (the caller's own, kept 24 h) returns the same command on a repeat of the same request, 422 for a different one; ?wait=<s> blocks for the result (202 if still open)",
    tag: 'commands',
    role: 'operator',
    status: 201,
    params: idParams,
    query: z.object({ wait: z.coerce.number().min(0).max(MAX_WAIT_S).optional() }),
    body: z
      .object({
        name: z.string().regex(NAME_PATTERN, 'a command name: 1-64 of A-Z a-z 0-9 _ . : -'),
        params: jsonValue.optional(),
        ttl: durationInput.optional(),
        timeout: durationInput.optional(),
      })
      .strict(),
    response: commandShape,
    handler: async ({ c, params, query, body, caller }) => {
      const key = c.req.header('idempotency-key');
      if (key !== undefined && (key.length === 0 || key.length > 128)) {
        throw new HubError(HubErrorCode.Validation, 'Idempotency-Key must be 1-128 characters', { field: 'Idempotency-Key' });
      }
      const { command, created } = await ctx.commands.create(httpRequester(caller), params.id, {
        ...body,
        params: body.params as JsonValue | undefined,
        key: key ?? null,
      });
      const now = query.wait === undefined ? command : ((await ctx.commands.wait(command.id, query.wait * 1000)) ?? command);
      const final = ['succeeded', 'failed', 'rejected', 'expired', 'timed_out', 'cancelled'].includes(now.state);
      c.header('Location', `/api/v1/commands/${now.id}`);
      return c.json(now, query.wait !== undefined && !final ? 202 : created ? 201 : 200);
    },
  });

  routes.add({
    method: 'get',
    path: '/commands/:id',
    summary: 'One command with its state history',
    tag: 'commands',
    role: 'viewer',
    params: z.object({ id: z.string().min(1).max(128) }),
    response: commandShape,
    handler: async ({ c, params }) => {
      const cmd = await ctx.commands.get(params.id);
      if (cmd === undefined) throw new HubError(HubErrorCode.CommandUnknown, `no command "${params.id}"`);
      return c.json(cmd);
    },
  });

  routes.add({
    method: 'post',
    path: '/commands/:id/cancel',
    summary: 'Cancel a command that has not finished',
    tag: 'commands',
    role: 'operator',
    params: z.object({ id: z.string().min(1).max(128) }),
    response: commandShape,
    handler: async ({ c, params, caller }) => {
      return c.json(await ctx.commands.cancel(httpRequester(caller), params.id));
    },
  });

  routes.add({
    method: 'get',
    path: '/devices/:id/commands',
    summary: "A device's commands, newest first, optionally by state",
    tag: 'commands',
    role: 'viewer',
    params: idParams,
    query: z.object({ state: commandStates.optional(), before: z.coerce.number().int().min(1).optional(), limit: limit(1_000, 100) }),
    response: z.object({ commands: z.array(commandShape) }),
    handler: async ({ c, params, query }) => {
      return c.json({
        commands: await ctx.commands.list(params.id, {
          ...(query.state ? { states: query.state } : {}),
          ...(query.before ? { before: query.before } : {}),
          limit: query.limit,
        }),
      });
    },
  });

  routes.add({
    method: 'get',
    path: '/devices/:id/twin',
    summary: 'Desired and reported documents, versions, and the delta',
    tag: 'twins',
    role: 'viewer',
    params: idParams,
    response: twinShape,
    handler: async ({ c, params }) => {
      const twin = await ctx.twins.get(params.id);
      c.header('ETag', `"${twin.desiredVersion}"`);
      return c.json(twin);
    },
  });

  routes.add({
    method: 'patch',
    path: '/devices/:id/twin/desired',
    summary: 'Merge-patch the desired document (RFC 7396); If-Match: <version> guards against lost updates (412)',
    tag: 'twins',
    role: 'operator',
    params: idParams,
    body: jsonObject,
    response: twinShape,
    handler: async ({ c, params, body, caller }) => {
      const header = c.req.header('if-match');
      let ifMatch: number | undefined;
      if (header !== undefined) {
        const m = /^\s*(?:W\/)?"?(\d+)"?\s*$/.exec(header);
        if (!m) throw new HubError(HubErrorCode.Validation, 'If-Match must be a desired version number', { field: 'If-Match' });
        ifMatch = Number(m[1]);
      }
      const { twin } = await ctx.twins.patchDesired(httpRequester(caller), params.id, body as never, ifMatch);
      c.header('ETag', `"${twin.desiredVersion}"`);
      return c.json(twin);
    },
  });
}
