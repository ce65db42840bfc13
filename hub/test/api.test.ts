// The HTTP API's edges: authentication, role boundaries on every route (driven by
// the OpenAPI document, so a new route cannot skip the check), validation errors,
// body limits, login throttling, CSRF, operators and the audit log.

import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { Api, startTestHub, type TestHub } from './helpers/hub.js';

interface Operation {
  method: string;
  path: string;
  role: string | undefined;
  public: boolean;
}

describe('HTTP API', () => {
  let t: TestHub;
  const as: Record<string, Api> = {};

  before(async () => {
    t = await startTestHub();
    for (const role of ['viewer', 'operator'] as const) {
      const r = await t.api.post('/operators', { username: `${role}-1`, password: 'password-123', role });
      assert.equal(r.status, 201);
      const api = new Api(t.http);
      await api.login(`${role}-1`, 'password-123');
      as[role] = api;
    }
    as.admin = t.api;
    await t.api.provision('api-dev');
  });
  after(() => t.close());
  /** A 500 logs "request failed" at error level; a refused request never should. */
  const errorLogs = () => t.logs.filter((l) => l.level >= 50).map((l) => `${l.msg} ${JSON.stringify(l.err ?? '')}`.slice(0, 300));

  it('serves an OpenAPI document that lists every route with its role', async () => {
    const r = await fetch(`${t.http}/api/v1/openapi.json`);
    assert.equal(r.status, 200);
    const doc = (await r.json()) as {
      openapi: string;
      paths: Record<string, Record<string, { 'x-halyard-role'?: string; security?: unknown[] }>>;
    };
    assert.equal(doc.openapi, '3.0.3');
    assert.ok(doc.paths['/api/v1/devices/{id}/telemetry']?.get);
    assert.equal(doc.paths['/api/v1/operators']?.post?.['x-halyard-role'], 'admin');
    assert.deepStrictEqual(doc.paths['/api/v1/login']?.post?.security, []);
  });

  it('enforces the role of every route for viewers, operators and admins', async () => {
    const doc = (await (await fetch(`${t.http}/api/v1/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { 'x-halyard-role'?: string; security?: unknown[] }>>;
    };
    const ops: Operation[] = [];
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods))
        ops.push({ method, path, role: op['x-halyard-role'], public: Array.isArray(op.security) });
    }
    assert.ok(ops.length >= 25, `${ops.length} operations`);
    const rank: Record<string, number> = { viewer: 1, operator: 2, admin: 3 };
    for (const op of ops) {
      if (op.public) continue;
      // Harmless arguments: a device that exists, an operator that does not.
      const path = op.path.replace('/api/v1', '').replace('{id}', 'api-dev').replace('{username}', 'nobody-here');
      const unauth = await new Api(t.http).call(op.method.toUpperCase(), path, op.method === 'get' ? undefined : {});
      assert.equal(unauth.status, 401, `${op.method} ${op.path} without login`);
      for (const who of ['viewer', 'operator', 'admin']) {
        // Destructive calls are only checked for refusals; the admin's own call would really delete.
        if ((rank[who] as number) >= (rank[op.role as string] as number) && op.method !== 'get') continue;
        const r = await (as[who] as Api).call(op.method.toUpperCase(), path, op.method === 'get' ? undefined : {});
        const allowed = (rank[who] as number) >= (rank[op.role as string] as number);
        if (allowed) assert.notEqual(r.status, 403, `${who} may ${op.method} ${op.path}`);
        else assert.equal(r.status, 403, `${who} must not ${op.method} ${op.path} (got ${r.status})`);
      }
    }
  });

  it('answers validation errors with 400 and the field', async () => {
    let r = await t.api.post('/devices', { id: 'bad id with spaces' });
    assert.equal(r.status, 400);
    assert.equal(r.body.error.code, 'HUB_ERR_VALIDATION');
    assert.equal(r.body.error.field, 'id');
    r = await t.api.post('/devices', { id: 'ok-id', tags: 'not-a-list' });
    assert.equal(r.body.error.field, 'tags');
    r = await t.api.post('/devices', { id: 'ok-id', surprise: 1 });
    assert.equal(r.status, 400);
    r = await t.api.post('/operators', { username: 'x', password: 'short', role: 'admin' });
    assert.equal(r.body.error.field, 'password');
    r = await t.api.post('/operators', { username: 'x', password: 'long-enough', role: 'root' });
    assert.equal(r.body.error.field, 'role');
    // An empty required text says so in words (the console shows the message as it is).
    r = await t.api.post('/alarm-rules', { name: '', severity: 'major', selector: {}, condition: { kind: 'offline' } });
    assert.equal(r.status, 400);
    assert.equal(r.body.error.message, 'name: must not be empty');
  });

  it('400 for malformed JSON and for a body that is not JSON', async () => {
    let r = await t.api.call('POST', '/devices', '{"id": "x",', { 'content-type': 'application/json' });
    assert.equal(r.status, 400);
    assert.match(r.body.error.message, /malformed JSON/);
    r = await t.api.call('POST', '/devices', 'id=x', { 'content-type': 'application/x-www-form-urlencoded' });
    assert.equal(r.status, 400);
  });

  it('400 naming the field for an unknown command state in ?state=, not a 500', async () => {
    let r = await t.api.get('/devices/api-dev/commands?state=bogus');
    assert.equal(r.status, 400);
    assert.equal(r.body.error.code, 'HUB_ERR_VALIDATION');
    assert.equal(r.body.error.field, 'state');
    assert.match(r.body.error.message, /bogus/);
    r = await t.api.get('/devices/api-dev/commands?state=queued,%20nope');
    assert.equal(r.status, 400);
    assert.equal(r.body.error.field, 'state');
    r = await t.api.get('/devices/api-dev/commands?state=queued,%20sent');
    assert.equal(r.status, 200);
    assert.deepEqual(errorLogs(), []);
  });

  it('400 for JSON nested 5,000 deep on every JSON route, and for command params deeper than a device decodes', async () => {
    const arrays = `${'['.repeat(5_000)}${']'.repeat(5_000)}`;
    const objects = `${'{"a":'.repeat(5_000)}1${'}'.repeat(5_000)}`;
    for (const [method, path, body] of [
      ['POST', '/login', arrays],
      ['POST', '/devices', objects],
      ['PATCH', '/devices/api-dev', objects],
      ['PATCH', '/devices/api-dev/twin/desired', objects],
      ['POST', '/devices/api-dev/commands', `{"name":"x","params":${arrays}}`],
      ['POST', '/operators', `{"username":"deep","password":"password-123","role":${arrays}}`],
    ] as const) {
      const r = await t.api.call(method, path, body, { 'content-type': 'application/json' });
      assert.equal(r.status, 400, `${method} ${path}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error.code, 'HUB_ERR_VALIDATION');
      assert.equal(r.body.error.field, 'body');
    }
    // Brackets inside strings are text, not nesting.
    const r = await t.api.post('/devices/api-dev/commands', { name: 'x', params: { s: '['.repeat(5_000) } });
    assert.equal(r.status, 201);
    const nest = (n: number): unknown => (n === 0 ? 1 : { a: nest(n - 1) });
    assert.equal((await t.api.post('/devices/api-dev/commands', { name: 'x', params: nest(15) })).status, 201);
    const deep = await t.api.post('/devices/api-dev/commands', { name: 'x', params: nest(16) });
    assert.equal(deep.status, 400);
    assert.equal(deep.body.error.field, `params${'.a'.repeat(15)}`);
    assert.deepEqual(errorLogs(), []);
  });

  it('413 for a body over the limit, declared or chunked', async () => {
    const big = JSON.stringify({ id: 'x', name: 'y'.repeat(300_000) });
    let r = await t.api.call('POST', '/devices', big);
    assert.equal(r.status, 413);
    // Chunked: no Content-Length, the stream itself runs over.
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const req = request(`${t.http}/api/v1/devices`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${t.api.token}`, 'transfer-encoding': 'chunked' },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode);
      });
      // The hub may close the connection while the rest is still being sent.
      req.on('error', (err) => (req.writableEnded ? undefined : reject(err)));
      for (let i = 0; i < 40; i++) req.write('x'.repeat(10_000));
      req.end();
    });
    assert.equal(status, 413);
    r = await t.api.get('/devices/x');
    assert.equal(r.status, 404, 'nothing was created');
  });

  it('throttles login: 429 after 5 failures per username, with Retry-After', async () => {
    await t.api.post('/operators', { username: 'victim', password: 'password-123', role: 'viewer' });
    const anon = new Api(t.http);
    for (let i = 0; i < 5; i++) assert.equal((await anon.post('/login', { username: 'victim', password: `wrong-${i}` })).status, 401);
    const r = await anon.post('/login', { username: 'victim', password: 'password-123' });
    assert.equal(r.status, 429);
    assert.ok(Number(r.headers.get('retry-after')) > 0);
    // Each failure is in the audit log (throttled attempts are not: they never reach a password check).
    const audit = await t.api.get('/audit?limit=1000');
    const failed = audit.body.entries.filter((e: { actor: string; action: string }) => e.actor === 'victim' && e.action === 'login.failed');
    assert.equal(failed.length, 5);
  });

  it('refuses cookie-authenticated changes from another origin (CSRF) and allows them from its own', async () => {
    const login = await fetch(`${t.http}/api/v1/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'operator-1', password: 'password-123' }),
    });
    const cookie = login.headers.get('set-cookie') ?? '';
    assert.match(cookie, /halyard_session=[^;]+; Max-Age=\d+; Path=\/; HttpOnly; SameSite=Strict/);
    const session = cookie.split(';')[0] as string;
    const post = (origin: string | undefined) =>
      fetch(`${t.http}/api/v1/devices`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', cookie: session, ...(origin ? { origin } : {}) },
        body: JSON.stringify({ id: `csrf-${origin ? origin.length : 0}` }),
      });
    assert.equal((await post('https://evil.example')).status, 403);
    assert.equal((await post(undefined)).status, 403);
    assert.equal((await post(t.http)).status, 201);
    const get = await fetch(`${t.http}/api/v1/devices`, { headers: { cookie: session } });
    assert.equal(get.status, 200, 'reads need no Origin');
  });

  it('manages operators and protects the last admin', async () => {
    let r = await t.api.post('/operators', { username: 'temp', password: 'password-123', role: 'viewer' });
    assert.equal(r.status, 201);
    assert.equal(r.body.passwordHash, undefined);
    r = await t.api.post('/operators', { username: 'temp', password: 'password-123', role: 'viewer' });
    assert.equal(r.status, 409);
    // Names that read alike are one name: "ADMIN" beside "admin" is refused (red team).
    r = await t.api.post('/operators', { username: 'ADMIN', password: 'password-123', role: 'admin' });
    assert.equal(r.status, 409, JSON.stringify(r.body));
    assert.equal(r.body.error.code, 'HUB_ERR_OPERATOR_EXISTS');
    assert.match(r.body.error.message, /operator "admin" exists: names that differ only in case are refused/);
    r = await t.api.post('/integrators', { username: 'Pipe', password: 'password-123' });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    r = await t.api.post('/integrators', { username: 'pipe', password: 'password-123' });
    assert.equal(r.status, 409, JSON.stringify(r.body));
    assert.equal(r.body.error.code, 'HUB_ERR_INTEGRATOR_EXISTS');
    const temp = new Api(t.http);
    await temp.login('temp', 'password-123');
    r = await t.api.patch('/operators/temp', { disabled: true });
    assert.equal(r.body.disabled, true);
    assert.equal((await temp.get('/devices')).status, 401, 'a disabled operator is logged out at once');
    assert.equal((await t.api.patch('/operators/admin', { role: 'viewer' })).status, 409);
    assert.equal((await t.api.delete('/operators/admin')).status, 409);
    assert.equal((await t.api.delete('/operators/temp')).status, 204);
    const list = await t.api.get('/operators');
    assert.ok(!list.body.operators.some((o: { username: string }) => o.username === 'temp'));
  });

  it('logs out: the token stops working', async () => {
    const a = new Api(t.http);
    await a.login('viewer-1', 'password-123');
    assert.equal((await a.get('/me')).body.role, 'viewer');
    assert.equal((await a.post('/logout')).status, 204);
    assert.equal((await a.get('/me')).status, 401);
  });

  it('writes every state-changing call to the audit log with the operator', async () => {
    await as.operator?.post('/devices', { id: 'audited' });
    await as.operator?.patch('/devices/audited', { name: 'Audited' });
    const r = await t.api.get('/audit?limit=1000');
    const actions = r.body.entries.map((e: { actor: string; action: string; target: string }) => `${e.actor} ${e.action} ${e.target}`);
    assert.ok(actions.includes('operator-1 device.create audited'));
    assert.ok(actions.includes('operator-1 device.update audited'));
    assert.ok(actions.some((a: string) => a.startsWith('admin operator.create')));
    assert.ok(!JSON.stringify(r.body).includes('password-123'), 'no secret in the audit log');
    // Narrowed by who, what (an action, or a family ending in a dot) and on what.
    const lines = async (q: string) => {
      const page = await t.api.get(`/audit?${q}`);
      assert.equal(page.status, 200, JSON.stringify(page.body));
      return page.body.entries.map((e: { actor: string; action: string; target: string }) => `${e.actor} ${e.action} ${e.target}`);
    };
    assert.deepEqual(await lines('target=audited'), ['operator-1 device.update audited', 'operator-1 device.create audited']);
    assert.deepEqual(await lines('action=device.update&target=audited'), ['operator-1 device.update audited']);
    const family = await lines('action=device.&actor=operator-1');
    assert.ok(family.length >= 2 && family.every((l: string) => l.startsWith('operator-1 device.')), family.join('; '));
    assert.deepEqual(await lines('action=devic_.'), [], 'an underscore is a letter, not a wildcard');
    // The hub's own actors too (a job's commands are made by job:<id>): no refusal, an empty page here.
    assert.deepEqual(await lines(`actor=${encodeURIComponent('job:j-none')}`), []);
    const bad = await t.api.get('/audit?action=DROP%20TABLE');
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.field, 'action');
  });

  it('answers /healthz and unknown routes', async () => {
    const h = await fetch(`${t.http}/healthz`);
    assert.equal(h.status, 200);
    assert.equal(((await h.json()) as { status: string }).status, 'ok');
    const nf = await t.api.get('/no/such/route');
    assert.equal(nf.status, 404);
    assert.equal(nf.body.error.code, 'HUB_ERR_NOT_FOUND');
  });

  it('sets security headers', async () => {
    const r = await fetch(`${t.http}/`);
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    assert.match(r.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
  });
});
