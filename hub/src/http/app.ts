// The HTTP side of the hub (hono): /api/v1 (JSON), /metrics, /healthz, /readyz, and the web
// console's static files at /. Errors leave as {error: {code, message, field?}}
// with the status errors.ts gives their code.

import { existsSync } from 'node:fs';
import type { HubStats } from '@halyard/firmware-protocol';
import { getConnInfo } from '@hono/node-server/conninfo';
import { serveStatic } from '@hono/node-server/serve-static';
import { type Context, Hono, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { compress } from 'hono/compress';
import { secureHeaders } from 'hono/secure-headers';
import { z } from 'zod';
import type { ClusterInfo } from '../cluster/cluster.js';
import type { HubContext } from '../context.js';
import { HubError, HubErrorCode } from '../errors.js';
import { trustedProxies } from '../net/client-address.js';
import { HUB_VERSION } from '../version.js';
import { authenticate, csrfGuard } from './auth.js';
import { clientGone } from './client-gone.js';
import type { AppEnv } from './env.js';
import { Routes, validationError } from './route.js';
import { alarmRoutes } from './routes/alarms.js';
import { commandRoutes } from './routes/commands.js';
import { dashboardRoutes } from './routes/dashboard.js';
import { deviceRoutes } from './routes/devices.js';
import { eventRoutes } from './routes/events.js';
import { exportRoutes } from './routes/export.js';
import { firmwareRoutes } from './routes/firmware.js';
import { jobRoutes } from './routes/jobs.js';
import { modelRoutes } from './routes/models.js';
import { operatorRoutes } from './routes/operators.js';
import { sessionRoutes } from './routes/session.js';
import { telemetryRoutes } from './routes/telemetry.js';
import { updateRoutes } from './routes/updates.js';
import { webhookRoutes } from './routes/webhooks.js';

export const API_PREFIX = '/api/v1';
/** Largest request body, bytes. */
export const MAX_BODY = 256 * 1024;
const FIRMWARE_UPLOAD_PATH = `${API_PREFIX}/firmware`;

function isLoopback(ip: string): boolean {
  return ip === '127.0.0.1' || ip === '::1' || ip === '::ffff:127.0.0.1';
}

export interface AppExtras {
  /** Extra route groups (MQTT integrators arrive this way). */
  routes?: ((routes: Routes, ctx: HubContext) => void)[];
  stats: () => HubStats;
}

export function createApp(ctx: HubContext, extras: AppExtras): { app: Hono<AppEnv>; routes: Routes } {
  const app = new Hono<AppEnv>();
  const tls = ctx.config.tlsCert !== undefined;

  app.onError((err, c) => {
    if (err instanceof HubError) {
      if (err.options.retryAfter !== undefined) c.header('Retry-After', String(err.options.retryAfter));
      return c.json(err.toJSON(), err.status as 400);
    }
    // Input a handler validated itself with .parse(): the caller's mistake, not the hub's.
    if (err instanceof z.ZodError) {
      const e = validationError(err, 'request');
      ctx.log.warn({ path: c.req.path, method: c.req.method, field: e.field }, 'request refused: validation outside the route schemas');
      return c.json(e.toJSON(), 400);
    }
    if (clientGone(err)) {
      // Nobody reads this answer: the client left before its body ended.
      ctx.log.info(
        { path: c.req.path, method: c.req.method, ip: c.get('ip') },
        'request cut off: the client went away before the end of its body',
      );
      return c.json(new HubError(HubErrorCode.BadRequest, 'the request ended before the end of its body').toJSON(), 400);
    }
    ctx.log.error({ err, path: c.req.path, method: c.req.method }, 'request failed');
    return c.json(new HubError(HubErrorCode.Internal, 'internal error; see the hub log').toJSON(), 500);
  });
  app.notFound((c) => c.json(new HubError(HubErrorCode.NotFound, `no route ${c.req.method} ${c.req.path}`).toJSON(), 404));

  const proxies = trustedProxies(ctx.config);
  app.use('*', async (c, next) => {
    // Behind --trusted-proxies, the client the proxy forwarded (net/client-address.ts).
    c.set('ip', proxies.clientAddress(getConnInfo(c).remote.address, c.req.header('x-forwarded-for')));
    await next();
  });
  app.use(
    '*',
    secureHeaders({
      strictTransportSecurity: tls ? 'max-age=31536000; includeSubDomains' : false,
      contentSecurityPolicy: {
        defaultSrc: ["'self'"],
        connectSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        styleSrc: ["'self'", "'unsafe-inline'"],
        frameAncestors: ["'none'"],
      },
      crossOriginEmbedderPolicy: false,
    }),
  );
  // Connection: close: the rest of an oversized body is not worth reading.
  const tooLarge = (c: Context<AppEnv>) =>
    c.json(new HubError(HubErrorCode.TooLarge, `request body over ${MAX_BODY} bytes`).toJSON(), 413, { Connection: 'close' });
  const chunkedLimit = bodyLimit({ maxSize: MAX_BODY, onError: tooLarge });
  app.use(`${API_PREFIX}/*`, async (c, next) => {
    // A firmware upload streams to the store under its own limit, --firmware-max-size (firmware/library.ts).
    // A refusal (no session, not an operator, a bad query) reads none of it: close the
    // connection rather than let Node read what may be gigabytes from anyone to its end.
    if (c.req.method === 'POST' && c.req.path === FIRMWARE_UPLOAD_PATH) {
      await next();
      if (c.res.status >= 400) c.res.headers.set('Connection', 'close');
      return;
    }
    // A declared length is checked from the header alone. hono's bodyLimit would
    // first build a full fetch Request to look for a body (a tenth of the hub's
    // time at 1000 commands/s); it is kept for chunked bodies, which it counts.
    const length = c.req.header('content-length');
    if (c.req.header('transfer-encoding') === undefined) {
      if (length === undefined) return next();
      return Number(length) > MAX_BODY ? tooLarge(c) : next();
    }
    return chunkedLimit(c, next);
  });
  // No id, name or filter may hold U+0000: refused here, naming it, rather than by each
  // store in its own way (PostgreSQL's text cannot hold it: a lookup failed as "storage
  // unavailable", 503, and a telemetry read as an internal error).
  app.use(`${API_PREFIX}/*`, async (c, next) => {
    if (/%00/i.test(c.req.url) || c.req.url.includes('\u0000')) {
      // The query parameter that holds it, when one does; else the path.
      let field = 'url';
      for (const [k, v] of new URL(c.req.url).searchParams)
        if (`${k}${v}`.includes('\u0000')) {
          field = k.replaceAll('\u0000', '\ufffd');
          break;
        }
      ctx.log.info({ method: c.req.method, ip: c.get('ip'), field }, 'request refused: the URL holds U+0000');
      throw new HubError(HubErrorCode.Validation, `${field}: holds U+0000 (%00), which no id, name or filter may hold`, { field });
    }
    await next();
  });
  app.use('*', authenticate(ctx.sessions));
  // Cluster mode: a device made on another node a moment ago is known here before the route looks it up.
  if (ctx.cluster !== undefined) {
    const catchUp: MiddlewareHandler<AppEnv> = async (c, next) => {
      const id = c.req.param('id');
      if (c.get('caller') !== undefined && id !== undefined && id.length <= 256) await ctx.deviceService.catchUp(id);
      await next();
    };
    app.use(`${API_PREFIX}/devices/:id`, catchUp);
    app.use(`${API_PREFIX}/devices/:id/*`, catchUp);
  }
  app.use(`${API_PREFIX}/*`, csrfGuard(tls));

  const routes = new Routes();
  sessionRoutes(routes, ctx);
  operatorRoutes(routes, ctx);
  modelRoutes(routes, ctx);
  dashboardRoutes(routes, ctx);
  deviceRoutes(routes, ctx);
  telemetryRoutes(routes, ctx);
  eventRoutes(routes, ctx);
  exportRoutes(routes, ctx);
  webhookRoutes(routes, ctx);
  commandRoutes(routes, ctx);
  firmwareRoutes(routes, ctx);
  updateRoutes(routes, ctx);
  alarmRoutes(routes, ctx);
  jobRoutes(routes, ctx);
  for (const add of extras.routes ?? []) add(routes, ctx);
  routes.add({
    method: 'get',
    path: '/hub/stats',
    summary: 'Hub statistics: connections, rates, latencies, storage, MQTT',
    tag: 'hub',
    role: 'viewer',
    handler: ({ c }) => c.json(extras.stats()),
  });
  routes.mount(app, API_PREFIX);

  const openapi = routes.openapi(API_PREFIX, { title: 'Halyard hub API', version: HUB_VERSION });
  app.get(`${API_PREFIX}/openapi.json`, (c) => c.json(openapi as object));
  app.all(`${API_PREFIX}/*`, (c) => {
    // A path some route has, asked with another method: 405 with the methods it takes.
    const allow = routes.methodsAt(c.req.path.slice(API_PREFIX.length));
    if (allow.length > 0) {
      ctx.log.info({ method: c.req.method, path: c.req.path, ip: c.get('ip') }, 'request refused: method not allowed');
      const e = new HubError(
        HubErrorCode.MethodNotAllowed,
        `${c.req.method} is not allowed on ${c.req.path}; allowed: ${allow.join(', ')}`,
      );
      return c.json(e.toJSON(), 405, { Allow: allow.join(', ') });
    }
    return c.json(new HubError(HubErrorCode.NotFound, `no route ${c.req.method} ${c.req.path}`).toJSON(), 404);
  });

  app.get('/healthz', (c) => {
    const problems = ctx.problems();
    const body = {
      status: problems.length ? 'degraded' : 'ok',
      problems,
      uptimeSeconds: Math.round((Date.now() - ctx.startedAt) / 1000),
      devices: { known: ctx.fleet.size, connected: ctx.devices.connections },
      // Telemetry compaction set aside (telemetry_quarantine): not a failure of the hub, but operators should look.
      storage: ctx.storageHealth(),
      ...(ctx.cluster === undefined ? {} : { cluster: clusterHealth(ctx.cluster, ctx) }),
    };
    return c.json(body, problems.length ? 503 : 200);
  });

  // The load balancer's check (deploy/haproxy.cfg): 503 only when this node cannot serve
  // clients (its storage unreachable or failing). A Redis outage keeps it 200: every node
  // still serves devices and acknowledges after the commit (docs/architecture.md § Cluster).
  app.get('/readyz', (c) => {
    const problems = ctx.unready();
    return c.json({ status: problems.length ? 'unready' : 'ready', problems }, problems.length ? 503 : 200);
  });

  // Prometheus: open to scrapers on this machine; anyone else must be a logged-in operator.
  app.get('/metrics', async (c) => {
    if (!isLoopback(c.get('ip')) && c.get('caller') === undefined) {
      throw new HubError(HubErrorCode.Unauthenticated, 'metrics need a login from outside this machine');
    }
    return c.text(await ctx.metrics.registry.metrics(), 200, { 'Content-Type': ctx.metrics.registry.contentType });
  });

  const consoleDir = ctx.config.consoleDir;
  if (consoleDir !== undefined && existsSync(consoleDir)) {
    // The console's bundles shrink to about a third gzipped: first paint comes sooner.
    app.use('/assets/*', compress());
    app.use('/*', serveStatic({ root: consoleDir }));
    // Client-side routes of the single-page app fall back to its index.
    app.get('/*', serveStatic({ root: consoleDir, path: 'index.html' }));
  } else {
    app.get('/', (c) =>
      c.html(
        '<!doctype html><title>Halyard</title><p>The Halyard hub is running. The web console is not built: run <code>npm run build</code>, then restart.</p>',
      ),
    );
  }
  return { app, routes };
}

/** /healthz's cluster part: which node answered, whether it leads (runs the singleton work), and whether it reaches Redis and PostgreSQL. */
function clusterHealth(
  cluster: ClusterInfo,
  ctx: Pick<HubContext, 'leadership' | 'storageHealth'>,
): { node: string; role: 'leader' | 'follower'; redis: { up: boolean; since: number }; postgres: { up: boolean } } {
  const redis = cluster.redis();
  return {
    node: cluster.nodeId,
    role: ctx.leadership.isLeader ? 'leader' : 'follower',
    redis: { up: redis.up, since: redis.since },
    postgres: { up: ctx.storageHealth().reachable !== false },
  };
}
