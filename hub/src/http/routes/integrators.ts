// Integrators (admin only): the MQTT accounts of README.md § MQTT. The
// password is stored as an scrypt hash; the ACL is optional (the default reads
// everything under the prefix and publishes commands and desired-set patches).
// Deleting an account ends its live MQTT connections at once. Each account is
// listed with its connected clients and persistent sessions (queue depth, drops);
// an admin can end a session.

import { z } from 'zod';
import type { HubContext } from '../../context.js';
import { IntegratorService, type LiveIntegrators, type LiveSession } from '../../integrators/service.js';
import { defaultAcl, MAX_ACL_FILTERS } from '../../mqtt/acl.js';
import type { IntegratorRecord } from '../../store/store.js';
import { httpRequester } from '../requester.js';
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

const sessionShape = z.object({
  clientId: z.string(),
  connected: z.boolean(),
  queued: z.number(),
  queuedBytes: z.number(),
  dropped: z.number(),
  expiresAt: z.number().optional(),
  /** The node that holds it: --node-id. */
  node: z.string(),
});

const clientShape = z.object({ clientId: z.string(), node: z.string() });

const listedShape = integratorShape.extend({
  /** MQTT clients of the account connected now, on every node. */
  clients: z.number(),
  /** Those clients, with the node each is connected to (in a cluster, as each node last said: at most a second old). */
  connections: z.array(clientShape),
  /** Its persistent (clean=false) sessions, connected or waiting for their client. */
  sessions: z.array(sessionShape),
});

function publicIntegrator(ctx: HubContext, i: IntegratorRecord): z.infer<typeof integratorShape> {
  return {
    username: i.username,
    acl: i.acl ?? defaultAcl(ctx.config.mqttPrefix, ctx.config.haDiscovery),
    defaultAcl: i.acl === null,
    createdAt: i.createdAt,
  };
}

const clientId = z.string().min(1).max(128);

function publicSession(s: LiveSession): z.infer<typeof sessionShape> {
  return { ...s };
}

export function integratorRoutes(routes: Routes, ctx: HubContext, live: LiveIntegrators): void {
  const integrators = new IntegratorService(ctx.store, live, ctx.audit);
  routes.add({
    method: 'get',
    path: '/integrators',
    summary: 'List integrators (MQTT accounts)',
    tag: 'integrators',
    role: 'admin',
    response: z.object({
      integrators: z.array(listedShape),
      /** Live nodes of a cluster whose clients are not known now (no list from them lately): their clients are missing above. */
      missingNodes: z.array(z.string()),
      mqtt: z.object({ port: z.number(), tlsPort: z.number().optional(), wsPath: z.string(), prefix: z.string() }).optional(),
    }),
    handler: async ({ c }) => {
      const at = live.endpoint();
      const accounts = await integrators.list();
      const view = await integrators.liveOf(accounts.map((i) => i.username));
      return c.json({
        integrators: accounts.map((i) => {
          const mine = view.accounts.get(i.username) ?? { clients: [], sessions: [] };
          return {
            ...publicIntegrator(ctx, i),
            clients: mine.clients.length,
            connections: mine.clients,
            sessions: mine.sessions.map(publicSession),
          };
        }),
        missingNodes: view.missingNodes,
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
    handler: async ({ c, body, caller }) => c.json(publicIntegrator(ctx, await integrators.create(httpRequester(caller), body)), 201),
  });

  routes.add({
    method: 'delete',
    path: '/integrators/:username/sessions/:clientId',
    summary:
      "End an integrator's persistent MQTT session, on whichever node holds it: its connection closes, its subscriptions and queued messages are freed",
    tag: 'integrators',
    role: 'admin',
    status: 204,
    params: z.object({ username, clientId }),
    handler: async ({ c, params, caller }) => {
      await integrators.dropSession(httpRequester(caller), params.username, params.clientId);
      return c.body(null, 204);
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
      await integrators.delete(httpRequester(caller), params.username);
      return c.body(null, 204);
    },
  });
}
