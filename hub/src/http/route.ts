// Declaring a route once: method, path, who may call it, the zod schemas that
// validate its input, and the handler. The same declarations build the OpenAPI
// document, so documentation cannot drift from validation.

import type { Role } from '@halyard/firmware-protocol';
import type { Context, Hono } from 'hono';
import { z } from 'zod';
import type { Caller } from '../auth/sessions.js';
import { HubError, HubErrorCode } from '../errors.js';
import { jsonTextDepth, MAX_JSON_DEPTH } from '../json-depth.js';
import { requireCaller } from './auth.js';
import type { AppEnv } from './env.js';

export type Method = 'get' | 'post' | 'patch' | 'put' | 'delete';

export interface RouteSpec<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType> {
  method: Method;
  path: string;
  summary: string;
  tag: string;
  /** Least role allowed; 'public' needs no login. */
  role: Role | 'public';
  params?: P;
  query?: Q;
  body?: B;
  /** A raw, streamed request body the handler reads itself (no JSON `body` then): its media type, for the OpenAPI document. */
  rawBody?: { contentType: string; description: string };
  /** Status of a successful answer (documentation). */
  status?: number;
  /** Describes the success body (documentation only). */
  response?: z.ZodType;
  /** A streamed, non-JSON success body (exports): its media types, for the OpenAPI document. */
  rawResponse?: { contentTypes: readonly string[]; description: string };
  handler: (input: {
    c: Context<AppEnv>;
    params: z.output<P>;
    query: z.output<Q>;
    body: z.output<B>;
    caller: Caller | undefined;
  }) => Promise<Response> | Response;
}

// biome-ignore lint/suspicious/noExplicitAny: a registry of routes with differing schema types
type AnyRoute = RouteSpec<any, any, any>;

/** A zod failure as our 400, naming the first offending field. */
export function validationError(err: z.ZodError, where: string): HubError {
  const issue = err.issues[0];
  const path = issue?.path.map(String).join('.') ?? '';
  const field = path === '' ? where : path;
  return new HubError(HubErrorCode.Validation, `${field}: ${issue === undefined ? 'invalid' : issueText(issue)}`, { field });
}

const KINDS: Record<string, string> = { int: 'a whole number', boolean: 'true or false', object: 'an object', array: 'an array' };

/**
 * zod's own wording ("Invalid input: expected number, received null", "Too small:
 * expected string to have >=1 characters") as an operator reads it; a message a
 * schema sets itself is kept.
 */
export function issueText(issue: z.core.$ZodIssue): string {
  const m = issue.message;
  switch (issue.code) {
    case 'invalid_type':
      if (!m.startsWith('Invalid input')) return m;
      return m.endsWith('received undefined') ? 'is required' : `must be ${KINDS[issue.expected] ?? `a ${issue.expected}`}`;
    case 'too_small':
    case 'too_big': {
      if (!/^Too (small|big)/.test(m)) return m;
      const small = issue.code === 'too_small';
      const limit = Number(small ? issue.minimum : issue.maximum);
      const inclusive = issue.inclusive !== false;
      if (issue.origin === 'number' || issue.origin === 'int' || issue.origin === 'bigint') {
        if (inclusive) return `must be at ${small ? 'least' : 'most'} ${limit}`;
        return `must be ${small ? 'greater' : 'less'} than ${limit}`;
      }
      // Lengths are whole: an exclusive bound is the next one in.
      const n = inclusive ? limit : small ? limit + 1 : limit - 1;
      if (issue.origin === 'string') {
        if (small && n === 1) return 'must not be empty';
        return `must be at ${small ? 'least' : 'most'} ${n} character${n === 1 ? '' : 's'}`;
      }
      if (issue.origin === 'array' || issue.origin === 'set') {
        if (small && n === 1) return 'must not be empty';
        return `must have at ${small ? 'least' : 'most'} ${n} item${n === 1 ? '' : 's'}`;
      }
      return m;
    }
    case 'invalid_value': {
      if (!m.startsWith('Invalid')) return m;
      const values = issue.values.map((v) => JSON.stringify(v));
      return values.length === 1 ? `must be ${values[0]}` : `must be one of ${values.join(', ')}`;
    }
    case 'unrecognized_keys':
      return `unknown field${issue.keys.length === 1 ? '' : 's'} ${issue.keys.join(', ')}`;
    default:
      return m;
  }
}

function parse<T extends z.ZodType>(schema: T | undefined, value: unknown, where: string): z.output<T> {
  if (schema === undefined) return undefined as z.output<T>;
  const r = schema.safeParse(value);
  if (!r.success) throw validationError(r.error, where);
  return r.data;
}

async function readJson(c: Context<AppEnv>): Promise<unknown> {
  // No body at all: let the schema decide whether one was needed.
  if (
    c.req.header('content-length') === '0' ||
    (c.req.header('content-type') === undefined && c.req.header('transfer-encoding') === undefined)
  ) {
    return undefined;
  }
  const type = c.req.header('content-type') ?? '';
  if (!/^application\/(.+\+)?json\b/i.test(type)) throw new HubError(HubErrorCode.BadRequest, 'send the body as application/json');
  const text = await c.req.text();
  if (text.trim() === '') return undefined;
  const depth = jsonTextDepth(text);
  if (depth > MAX_JSON_DEPTH) {
    throw new HubError(HubErrorCode.Validation, `body: the JSON nests deeper than ${MAX_JSON_DEPTH} levels`, { field: 'body' });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new HubError(HubErrorCode.BadRequest, `malformed JSON: ${(err as Error).message}`);
  }
}

export class Routes {
  readonly all: AnyRoute[] = [];
  /** Each route's method and path as a pattern, made at the first 405. */
  private patterns: { method: string; re: RegExp }[] | undefined;

  add<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType>(spec: RouteSpec<P, Q, B>): void {
    this.all.push(spec);
  }

  mount(app: Hono<AppEnv>, prefix: string): void {
    for (const r of this.all) {
      app.on(r.method.toUpperCase(), `${prefix}${r.path}`, async (c) => {
        const caller = r.role === 'public' ? c.get('caller') : requireCaller(c, r.role);
        const params = parse(r.params, c.req.param(), 'path');
        const query = parse(r.query, c.req.query(), 'query');
        const body = r.body === undefined ? undefined : parse(r.body, await readJson(c), 'body');
        return r.handler({ c, params, query, body, caller });
      });
    }
  }

  /** The methods some route takes at `path` (below the prefix), for a 405's Allow header; none for a path no route has. */
  methodsAt(path: string): string[] {
    this.patterns ??= this.all.map((r) => ({
      method: r.method.toUpperCase(),
      re: new RegExp(`^${r.path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:[A-Za-z]+/g, '[^/]+')}$`),
    }));
    const methods = new Set(this.patterns.filter((p) => p.re.test(path)).map((p) => p.method));
    if (methods.has('GET')) methods.add('HEAD');
    return [...methods].sort();
  }

  /** The OpenAPI 3.0 document for every route, built from the same schemas. */
  openapi(prefix: string, info: { title: string; version: string }): unknown {
    const paths: Record<string, Record<string, unknown>> = {};
    const schema = (s: z.ZodType, io: 'input' | 'output') => z.toJSONSchema(s, { target: 'openapi-3.0', io, unrepresentable: 'any' });
    for (const r of this.all) {
      const path = `${prefix}${r.path}`.replace(/:([A-Za-z]+)/g, '{$1}');
      const parameters: unknown[] = [];
      for (const [where, s] of [
        ['path', r.params],
        ['query', r.query],
      ] as const) {
        if (s === undefined) continue;
        const js = schema(s, 'input') as { properties?: Record<string, unknown>; required?: string[] };
        for (const [name, p] of Object.entries(js.properties ?? {})) {
          parameters.push({ name, in: where, required: where === 'path' || (js.required ?? []).includes(name), schema: p });
        }
      }
      const op: Record<string, unknown> = {
        summary: r.summary,
        tags: [r.tag],
        parameters,
        responses: {
          [String(r.status ?? 200)]: {
            description: r.rawResponse?.description ?? 'success',
            ...(r.response ? { content: { 'application/json': { schema: schema(r.response, 'output') } } } : {}),
            ...(r.rawResponse
              ? {
                  content: Object.fromEntries(r.rawResponse.contentTypes.map((t) => [t, { schema: { type: 'string', format: 'binary' } }])),
                }
              : {}),
          },
          default: { description: 'error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
        },
        ...(r.role === 'public' ? { security: [] } : { 'x-halyard-role': r.role }),
      };
      if (r.body) op.requestBody = { required: true, content: { 'application/json': { schema: schema(r.body, 'input') } } };
      if (r.rawBody)
        op.requestBody = {
          required: true,
          description: r.rawBody.description,
          content: { [r.rawBody.contentType]: { schema: { type: 'string', format: 'binary' } } },
        };
      paths[path] ??= {};
      (paths[path] as Record<string, unknown>)[r.method] = op;
    }
    return {
      openapi: '3.0.3',
      info,
      paths,
      security: [{ bearer: [] }, { cookie: [] }],
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer' },
          cookie: { type: 'apiKey', in: 'cookie', name: 'halyard_session' },
        },
        schemas: {
          Error: {
            type: 'object',
            required: ['error'],
            properties: {
              error: {
                type: 'object',
                required: ['code', 'message'],
                properties: { code: { type: 'string' }, message: { type: 'string' }, field: { type: 'string' } },
              },
            },
          },
        },
      },
    };
  }
}
