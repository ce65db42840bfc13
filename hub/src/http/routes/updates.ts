// Firmware updates of single devices (docs/firmware.md, SPEC.md §12): start one,
// follow it, cancel it. Fleet jobs will create the same per-device updates.

import { UPDATE_STATE_NAMES } from '@halyard/firmware-protocol';
import { z } from 'zod';
import type { HubContext } from '../../context.js';
import { httpRequester } from '../requester.js';
import type { Routes } from '../route.js';
import { deviceId } from '../schemas.js';

const updateId = z.string().regex(/^u-[0-9a-f]{12}$/, 'an update id, u-<12 hex digits>');

export const updateShape = z.object({
  id: z.string().describe('the job id devices see in UPDATE_OFFER (SPEC.md §12.2)'),
  device: z.string(),
  firmware: z.string().nullable().describe('null once a finished update’s image was deleted'),
  job: z.string().nullable().describe('the fleet job it belongs to; null for a single-device update'),
  state: z.enum(UPDATE_STATE_NAMES),
  progress: z.number().describe('bytes the device holds'),
  size: z.number().nullable().describe('the image’s size in bytes'),
  reason: z.string().nullable().describe('SPEC.md §12.6 reason name'),
  reasonCode: z.number().nullable(),
  detail: z.string().nullable(),
  fromFw: z.string().nullable(),
  toFw: z.string(),
  attempts: z.number(),
  createdAt: z.number(),
  createdBy: z.string(),
  updatedAt: z.number(),
  finishedAt: z.number().nullable(),
});

export function updateRoutes(routes: Routes, ctx: HubContext): void {
  routes.add({
    method: 'post',
    path: '/devices/:id/update',
    summary: 'Update one device to a firmware image: offered now if the device is connected (and lists ota), else when it connects',
    tag: 'firmware',
    role: 'operator',
    status: 201,
    params: z.object({ id: deviceId }),
    body: z.object({ firmware: z.string().min(1).max(64) }).strict(),
    response: updateShape,
    handler: async ({ c, params, body, caller }) => c.json(await ctx.updates.create(httpRequester(caller), params.id, body.firmware), 201),
  });

  routes.add({
    method: 'get',
    path: '/devices/:id/updates',
    summary: "A device's firmware updates, newest first",
    tag: 'firmware',
    role: 'viewer',
    params: z.object({ id: deviceId }),
    response: z.object({ updates: z.array(updateShape) }),
    handler: async ({ c, params }) => c.json({ updates: await ctx.updates.list(params.id) }),
  });

  routes.add({
    method: 'get',
    path: '/updates/:id',
    summary: 'One firmware update',
    tag: 'firmware',
    role: 'viewer',
    params: z.object({ id: updateId }),
    response: updateShape,
    handler: async ({ c, params }) => c.json(await ctx.updates.get(params.id)),
  });

  routes.add({
    method: 'post',
    path: '/updates/:id/cancel',
    summary: 'Cancel an update before it installs (409 once installing or over); the device is sent UPDATE_CANCEL',
    tag: 'firmware',
    role: 'operator',
    params: z.object({ id: updateId }),
    response: updateShape,
    handler: async ({ c, params, caller }) => c.json(await ctx.updates.cancel(httpRequester(caller), params.id)),
  });
}
