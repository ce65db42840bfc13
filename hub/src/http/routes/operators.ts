// Operators (admin only): create, change role or password, disable, delete.

import { z } from 'zod';
import { hashPassword } from '../../auth/secrets.js';
import type { HubContext } from '../../context.js';
import type { Routes } from '../route.js';
import { password, role, username } from '../schemas.js';
import { operatorShape, publicOperator } from './session.js';

export function operatorRoutes(routes: Routes, ctx: HubContext): void {
  routes.add({
    method: 'get',
    path: '/operators',
    summary: 'List operators',
    tag: 'operators',
    role: 'admin',
    response: z.object({ operators: z.array(operatorShape) }),
    handler: async ({ c }) => c.json({ operators: (await ctx.store.listOperators()).map(publicOperator) }),
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
    handler: async ({ c, body, caller }) => {
      const o = await ctx.store.op('createOperator', {
        username: body.username,
        passwordHash: await hashPassword(body.password),
        role: body.role,
        createdAt: Date.now(),
      });
      await ctx.audit(caller?.username ?? '?', 'operator.create', body.username, { role: body.role });
      return c.json(publicOperator(o), 201);
    },
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
    handler: async ({ c, params, body, caller }) => {
      const o = await ctx.store.op('updateOperator', {
        username: params.username,
        patch: {
          ...(body.role === undefined ? {} : { role: body.role }),
          ...(body.disabled === undefined ? {} : { disabled: body.disabled }),
          ...(body.password === undefined ? {} : { passwordHash: await hashPassword(body.password) }),
        },
      });
      if (body.role !== undefined || body.disabled || body.password !== undefined)
        ctx.bus.publish('session.ended', { username: params.username });
      await ctx.audit(caller?.username ?? '?', 'operator.update', params.username, {
        role: body.role,
        disabled: body.disabled,
        password: body.password === undefined ? undefined : 'changed',
      });
      return c.json(publicOperator(o));
    },
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
      await ctx.store.op('deleteOperator', { username: params.username });
      ctx.bus.publish('session.ended', { username: params.username });
      await ctx.audit(caller?.username ?? '?', 'operator.delete', params.username);
      return c.body(null, 204);
    },
  });
}
