// Devices: provisioning (the token is shown once), listing, changes, token
// rotation, revocation (ends a live session at once), deletion, presence history.

import type { DeviceInfo } from '@halyard/firmware-protocol';
import { z } from 'zod';
import type { HubContext } from '../../context.js';
import type { DeviceEntry } from '../../fleet.js';
import { httpRequester } from '../requester.js';
import type { Routes } from '../route.js';
import { deviceId, idParams, limit, tags } from '../schemas.js';

export const deviceShape = z.object({
  id: z.string(),
  name: z.string().nullable(),
  model: z.string().nullable(),
  firmware: z.string().nullable(),
  tags: z.array(z.string()),
  createdAt: z.number(),
  revoked: z.boolean(),
  online: z.boolean(),
  lastSeen: z.number().nullable(),
  rtt: z.number().nullable(),
  connectedAt: z.number().nullable(),
  lastSeq: z.number(),
  pendingCommands: z.number(),
  caps: z
    .array(z.string())
    .describe('what the device declared in its last HELLO caps (SPEC.md §5.1); `cmd:<name>` entries name commands it carries out'),
});

export function deviceEntry(ctx: HubContext, id: string): DeviceEntry {
  return ctx.deviceService.entry(id);
}

/** Whether a device passes the list's filters (also the device-list export's). */
export function deviceMatches(
  d: DeviceInfo,
  q: { q?: string | undefined; status?: string | undefined; tag?: string | undefined; model?: string | undefined },
): boolean {
  if (q.status === 'online' && !d.online) return false;
  if (q.status === 'offline' && (d.online || d.revoked)) return false;
  if (q.status === 'revoked' && !d.revoked) return false;
  if (q.tag !== undefined && !d.tags.includes(q.tag)) return false;
  if (q.model !== undefined && d.model !== q.model) return false;
  if (q.q !== undefined) {
    const needle = q.q.toLowerCase();
    const hay = [d.id, d.name ?? '', d.model ?? '', d.firmware ?? '', ...d.tags].join('\u0000').toLowerCase();
    if (!hay.includes(needle)) return false;
  }
  return true;
}

export function deviceRoutes(routes: Routes, ctx: HubContext): void {
  routes.add({
    method: 'get',
    path: '/devices',
    summary: 'List devices, with filters',
    tag: 'devices',
    role: 'viewer',
    query: z.object({
      q: z.string().max(100).optional(),
      status: z.enum(['online', 'offline', 'revoked']).optional(),
      tag: z.string().max(64).optional(),
      model: z.string().max(128).optional(),
      limit: limit(10_000, 1_000),
      offset: z.coerce.number().int().min(0).default(0),
    }),
    response: z.object({ devices: z.array(deviceShape), total: z.number() }),
    handler: ({ c, query }) => {
      const all: DeviceInfo[] = [];
      for (const e of ctx.fleet.entries()) {
        const d = ctx.fleet.info(e);
        if (deviceMatches(d, query)) all.push(d);
      }
      all.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      return c.json({ devices: all.slice(query.offset, query.offset + query.limit), total: all.length });
    },
  });

  routes.add({
    method: 'post',
    path: '/devices',
    summary: 'Provision a device; the response holds its token, shown only this once',
    tag: 'devices',
    role: 'operator',
    status: 201,
    body: z
      .object({
        id: deviceId,
        name: z.string().max(128).nullable().optional(),
        model: z.string().max(128).nullable().optional(),
        tags: tags.optional(),
      })
      .strict(),
    response: deviceShape.extend({ token: z.string() }),
    handler: async ({ c, body, caller }) => {
      const { device, token } = await ctx.deviceService.provision(httpRequester(caller), body);
      return c.json({ ...device, token }, 201);
    },
  });

  routes.add({
    method: 'get',
    path: '/devices/:id',
    summary: 'One device',
    tag: 'devices',
    role: 'viewer',
    params: idParams,
    response: deviceShape,
    handler: ({ c, params }) => c.json(ctx.fleet.info(deviceEntry(ctx, params.id))),
  });

  routes.add({
    method: 'patch',
    path: '/devices/:id',
    summary: 'Change name, model or tags',
    tag: 'devices',
    role: 'operator',
    params: idParams,
    body: z
      .object({ name: z.string().max(128).nullable().optional(), model: z.string().max(128).nullable().optional(), tags: tags.optional() })
      .strict(),
    response: deviceShape,
    handler: async ({ c, params, body, caller }) => {
      const patch = {
        ...(body.name === undefined ? {} : { name: body.name }),
        ...(body.model === undefined ? {} : { model: body.model }),
        ...(body.tags === undefined ? {} : { tags: body.tags }),
      };
      return c.json(await ctx.deviceService.update(httpRequester(caller), params.id, patch));
    },
  });

  routes.add({
    method: 'delete',
    path: '/devices/:id',
    summary: 'Delete a device with its telemetry, events, commands and twin',
    tag: 'devices',
    role: 'admin',
    status: 204,
    params: idParams,
    handler: async ({ c, params, caller }) => {
      await ctx.deviceService.delete(httpRequester(caller), params.id);
      return c.body(null, 204);
    },
  });

  routes.add({
    method: 'post',
    path: '/devices/:id/token',
    summary: 'Rotate the device token: the old one stops working at once; the new one is shown only this once',
    tag: 'devices',
    role: 'operator',
    params: idParams,
    body: z.object({ reinstate: z.boolean().optional() }).strict().optional(),
    response: z.object({ id: z.string(), token: z.string(), revoked: z.boolean() }),
    handler: async ({ c, params, body, caller }) =>
      c.json(await ctx.deviceService.rotateToken(httpRequester(caller), params.id, body?.reinstate === true)),
  });

  routes.add({
    method: 'post',
    path: '/devices/:id/revoke',
    summary: 'Revoke a device: its live session ends at once and it cannot connect again',
    tag: 'devices',
    role: 'operator',
    params: idParams,
    response: deviceShape,
    handler: async ({ c, params, caller }) => c.json(await ctx.deviceService.revoke(httpRequester(caller), params.id)),
  });

  routes.add({
    method: 'get',
    path: '/devices/:id/presence',
    summary: 'Presence history, newest first',
    tag: 'devices',
    role: 'viewer',
    params: idParams,
    query: z.object({ limit: limit(1_000, 100) }),
    response: z.object({
      presence: z.array(
        z.object({ device: z.string(), online: z.boolean(), reason: z.string(), code: z.number().nullable(), at: z.number() }),
      ),
    }),
    handler: async ({ c, params, query }) => c.json({ presence: await ctx.deviceService.presence(params.id, query.limit) }),
  });
}
