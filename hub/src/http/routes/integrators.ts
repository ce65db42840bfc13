// Integrators (admin only): the MQTT accounts of README.md § MQTT. The
// password is stored as an scrypt hash; the ACL is optional (the default reads
// everything under the prefix and publishes commands and desired-set patches).
// Deleting an account ends its live MQTT connections at once.

import { z } from 'zod';
import { hashPassword } from '../../auth/secrets.js';
import type { HubContext } from '../../context.js';
import { HubError, HubErrorCode } from '../../errors.js';
import { aclError, defaultAcl, MAX_ACL_FILTERS } from '../../mqtt/acl.js';
import { type IntegratorAcl, type IntegratorRecord, listIntegrators } from '../../store/integrators.js';
import type { Routes } from '../route.js';
import { password, username } from '../schemas.js';

const filters = z.array(z.string().min(1).max(1024)).max(MAX_ACL_FILTERS);

const aclShape = z.object({ subscribe: z.array(z.string()), publish: z.array(z.string()) });

const integratorShape = z.object({
  username: z.string(),
  /** The ACL in force: the account's own, or the default. */
  acl: aclShape,
  defaultAcl: z.boolean(),
  createdAt: z.number(),
});

/** What the routes need from the running broker. */
export interface LiveIntegrators {
  /** Ends the account's connections; returns how many there were. */
  disconnect(username: string): number;
  /** Where integrators connect (bound ports: the configured one may be 0), for the console. */
  endpoint(): { port: number; tlsPort: number | undefined } | undefined;
}

function publicIntegrator(ctx: HubContext, i: IntegratorRecord): z.infer<typeof integratorShape> {
  return {
    username: i.username,
    acl: i.acl ?? defaultAcl(ctx.config.mqttPrefix, ctx.config.haDiscovery),
    defaultAcl: i.acl === null,
    createdAt: i.createdAt,
  };
}

export function integratorRoutes(routes: Routes, ctx: HubContext, live: LiveIntegrators): void {
  routes.add({
    method: 'get',
    path: '/integrators',
    summary: 'List integrators (MQTT accounts)',
    tag: 'integrators',
    role: 'admin',
    response: z.object({
      integrators: z.array(integratorShape),
      mqtt: z.object({ port: z.number(), tlsPort: z.number().optional(), wsPath: z.string(), prefix: z.string() }).optional(),
    }),
    handler: ({ c }) => {
      const at = live.endpoint();
      return c.json({
        integrators: listIntegrators(ctx.reader.db).map((i) => publicIntegrator(ctx, i)),
        ...(at === undefined
          ? {}
          : {
              mqtt: {
                port: at.port,
                ...(at.tlsPort === undefined ? {} : { tlsPort: at.tlsPort }),
                wsPath: '/mqtt',
                prefix: ctx.config.mqttPrefix,
              },
            }),
      });
    },
  });

  routes.add({
    method: 'post',
    path: '/integrators',
    summary: 'Create an integrator: an MQTT account. acl: topic filters to subscribe and publish to (a list left out grants nothing)',
    tag: 'integrators',
    role: 'admin',
    status: 201,
    body: z
      .object({
        username,
        password,
        acl: z.object({ subscribe: filters.optional(), publish: filters.optional() }).strict().optional(),
      })
      .strict(),
    response: integratorShape,
    handler: async ({ c, body, caller }) => {
      let acl: IntegratorAcl | null = null;
      if (body.acl !== undefined) {
        acl = { subscribe: body.acl.subscribe ?? [], publish: body.acl.publish ?? [] };
        const bad = aclError(acl);
        if (bad !== undefined) throw new HubError(HubErrorCode.Validation, `${bad.field}: ${bad.message}`, { field: bad.field });
      }
      const created = await ctx.writer.op('createIntegrator', {
        username: body.username,
        passwordHash: await hashPassword(body.password),
        acl,
        createdAt: Date.now(),
      });
      ctx.audit(caller?.username ?? '?', 'integrator.create', body.username, { acl: acl ?? 'default' });
      return c.json(publicIntegrator(ctx, created), 201);
    },
  });

  routes.add({
    method: 'delete',
    path: '/integrators/:username',
    summary: 'Delete an integrator; its MQTT connections end at once',
    tag: 'integrators',
    role: 'admin',
    status: 204,
    params: z.object({ username }),
    handler: async ({ c, params, caller }) => {
      await ctx.writer.op('deleteIntegrator', { username: params.username });
      const connections = live.disconnect(params.username);
      ctx.audit(caller?.username ?? '?', 'integrator.delete', params.username, { connections });
      return c.body(null, 204);
    },
  });
}
