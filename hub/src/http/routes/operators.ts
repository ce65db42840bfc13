// Operators (admin only): create, change role or password, disable, delete.

import { z } from 'zod';
import type { HubContext } from '../../context.js';
import { httpRequester } from '../requester.js';
import type { Routes } from '../route.js';
import { password, role, username } from '../schemas.js';
import { operatorShape } from './session.js';

export function operatorRoutes(routes: Routes, ctx: HubContext): void {
  routes.add({
    method: 'get',
    path: '/operators',
    summary: 'List operators',
    tag: 'operators',
    role: 'admin',
    response: z.object({ operators: z.array(operatorShape) }),
    handler: async ({ c }) => c.json({ operators: await ctx.operators.list() }),
  });

  routes.add({
    method: 'post',
    path: '/operators',
    summary: 'Create an operator',
    tag: 'operators',
    role: 'admin',
    status: 201,
    body: z.object({ username, password, role }),
    response: operatorShape,
    handler: async ({ c, body, caller }) => c.json(await ctx.operators.create(httpRequester(caller), body), 201),
  });

  routes.add({
    method: 'patch',
    path: '/operators/:username',
    summary: 'Change an operator: role, disabled, password',
    tag: 'operators',
    role: 'admin',
    params: z.object({ username }),
    body: z.object({ role: role.optional(), disabled: z.boolean().optional(), password: password.optional() }).strict(),
    response: operatorShape,
    handler: async ({ c, params, body, caller }) => c.json(await ctx.operators.update(httpRequester(caller), params.username, body)),
  });

  routes.add({
    method: 'delete',
    path: '/operators/:username',
    summary: 'Delete an operator',
    tag: 'operators',
    role: 'admin',
    status: 204,
    params: z.object({ username }),
    handler: async ({ c, params, caller }) => {
      await ctx.operators.delete(httpRequester(caller), params.username);
      return c.body(null, 204);
    },
  });
}
