// Integrator accounts over the HTTP API: admin only, validation, scrypt-hashed
// passwords, the ACL in force, the audit log, and OpenAPI.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { eventually } from './helpers/eventually.js';
import { startTestHub, type TestHub } from './helpers/hub.js';
import { TestMqtt } from './helpers/mqtt.js';
import { onPostgres, pgQuery } from './helpers/test-store.js';

describe('integrator accounts API', () => {
  let t: TestHub;
  before(async () => {
    t = await startTestHub(['--mqtt-prefix', 'acme/hub']);
  });
  after(() => t.close());

  it('creates an account with the default ACL for the configured prefix', async () => {
    const r = await t.api.post('/integrators', { username: 'erp', password: 'erp-password' });
    assert.equal(r.status, 201);
    assert.deepStrictEqual(
      { ...r.body, createdAt: typeof r.body.createdAt },
      {
        username: 'erp',
        acl: { subscribe: ['acme/hub/#'], publish: ['acme/hub/devices/+/cmd/+', 'acme/hub/devices/+/twin/desired/set'] },
        defaultAcl: true,
        createdAt: 'number',
      },
    );
    assert.equal(JSON.stringify(r.body).includes('password'), false);
    const c = await TestMqtt.connect(`mqtt://127.0.0.1:${t.hub.mqttPort}`, { username: 'erp', password: 'erp-password' });
    await c.subscribe('acme/hub/hub/status');
    assert.equal((await c.next('acme/hub/hub/status')).text, 'online');
    await c.close();
  });

  it('stores the password as an scrypt hash', async () => {
    if (onPostgres) {
      const [row] = await pgQuery<{ password_hash: string }>(t.dir, 'SELECT password_hash FROM integrators WHERE username = $1', ['erp']);
      assert.match(row?.password_hash ?? '', /^scrypt\$16384\$8\$1\$[\w-]+\$[\w-]+$/);
      assert.equal(row?.password_hash.includes('erp-password'), false);
      return;
    }
    const db = new Database(`${t.dir}/halyard.db`, { readonly: true });
    try {
      const row = db.prepare('SELECT password_hash FROM integrators WHERE username = ?').get('erp') as { password_hash: string };
      assert.match(row.password_hash, /^scrypt\$16384\$8\$1\$[\w-]+\$[\w-]+$/);
      assert.equal(row.password_hash.includes('erp-password'), false);
    } finally {
      db.close();
    }
  });

  it('creates an account with its own ACL (a list left out grants nothing)', async () => {
    const r = await t.api.post('/integrators', {
      username: 'reader',
      password: 'reader-password',
      acl: { subscribe: ['acme/hub/devices/+/status'] },
    });
    assert.equal(r.status, 201);
    assert.deepStrictEqual([r.body.acl, r.body.defaultAcl], [{ subscribe: ['acme/hub/devices/+/status'], publish: [] }, false]);
    const list = await t.api.get('/integrators');
    assert.deepStrictEqual(
      list.body.integrators.map((i: { username: string }) => i.username),
      ['erp', 'reader'],
    );
  });

  it('validates: usernames, passwords, filters, duplicates', async () => {
    const cases: [unknown, number, string][] = [
      [{ username: 'x y', password: 'long-enough' }, 400, 'username'],
      [{ username: 'short', password: 'short' }, 400, 'password'],
      [{ username: 'f1', password: 'long-enough', acl: { subscribe: ['a/#/b'] } }, 400, 'acl.subscribe.0'],
      [{ username: 'f2', password: 'long-enough', acl: { publish: ['$SYS/#'] } }, 400, 'acl.publish.0'],
      [{ username: 'f3', password: 'long-enough', acl: { subscribe: [], extra: [] } }, 400, 'acl'],
      [{ username: 'erp', password: 'long-enough' }, 409, ''],
    ];
    for (const [body, status, field] of cases) {
      const r = await t.api.post('/integrators', body);
      assert.equal(r.status, status, JSON.stringify(body));
      if (status === 409) assert.equal(r.body.error.code, 'HUB_ERR_INTEGRATOR_EXISTS');
      else assert.equal(r.body.error.code, 'HUB_ERR_VALIDATION');
      if (field !== '') assert.ok(String(r.body.error.field).startsWith(field), `${r.body.error.field} for ${JSON.stringify(body)}`);
    }
    assert.equal((await t.api.delete('/integrators/nobody')).status, 404);
  });

  it('is for admins only', async () => {
    await t.api.post('/operators', { username: 'op', password: 'op-password', role: 'operator' });
    const op = t.api.as('');
    await op.login('op', 'op-password');
    assert.equal((await op.get('/integrators')).status, 403);
    assert.equal((await op.post('/integrators', { username: 'z', password: 'z-password' })).status, 403);
    assert.equal((await op.delete('/integrators/erp')).status, 403);
    assert.equal((await t.api.as('').get('/integrators')).status, 401);
  });

  it('writes the audit log', async () => {
    assert.equal((await t.api.delete('/integrators/reader')).status, 204);
    // Audit entries are written after the answer: wait for the third.
    const mine = await eventually(async () => {
      const entries = (await t.api.get('/audit')).body.entries
        .filter((e: { action: string }) => e.action.startsWith('integrator.'))
        .map((e: { actor: string; action: string; target: string; detail: unknown }) => [e.actor, e.action, e.target, e.detail]);
      return entries.length >= 3 ? entries : undefined;
    }, 'three audit entries');
    assert.deepStrictEqual(mine.reverse(), [
      ['admin', 'integrator.create', 'erp', { acl: 'default' }],
      ['admin', 'integrator.create', 'reader', { acl: { subscribe: ['acme/hub/devices/+/status'], publish: [] } }],
      ['admin', 'integrator.delete', 'reader', { connections: 0 }],
    ]);
  });

  it('is in the OpenAPI document', async () => {
    const doc = (await t.api.get('/openapi.json')).body;
    assert.deepStrictEqual(Object.keys(doc.paths['/api/v1/integrators']).sort(), ['get', 'post']);
    assert.deepStrictEqual(Object.keys(doc.paths['/api/v1/integrators/{username}']), ['delete']);
    assert.deepStrictEqual(Object.keys(doc.paths['/api/v1/integrators/{username}/sessions/{clientId}']), ['delete']);
    const listed = JSON.stringify(doc.paths['/api/v1/integrators'].get);
    for (const field of ['clients', 'sessions', 'queued', 'queuedBytes', 'dropped', 'expiresAt'])
      assert.ok(listed.includes(`"${field}"`), field);
  });
});
