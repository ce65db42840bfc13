// Changing one's own password (POST /api/v1/me/password): any role, the current
// password checked and throttled as logins are, the other sessions ended, this one kept.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Api, startTestHub, type TestHub } from './helpers/hub.js';

describe('own password', () => {
  let t: TestHub;
  before(async () => {
    t = await startTestHub();
    assert.equal((await t.api.post('/operators', { username: 'vera', password: 'first-password', role: 'viewer' })).status, 201);
  });
  after(() => t.close());

  it('a viewer changes it; the other session ends, this one stays; audited', async () => {
    const here = new Api(t.http);
    await here.login('vera', 'first-password');
    const elsewhere = new Api(t.http);
    await elsewhere.login('vera', 'first-password');

    const r = await here.post('/me/password', { current: 'first-password', new: 'second-password' });
    assert.equal(r.status, 204, JSON.stringify(r.body));
    assert.equal((await here.get('/me')).status, 200);
    assert.equal((await elsewhere.get('/me')).status, 401);
    assert.equal((await new Api(t.http).post('/login', { username: 'vera', password: 'first-password' })).status, 401);
    await new Api(t.http).login('vera', 'second-password');

    const audit = await t.api.get('/audit?limit=50');
    const entries = (audit.body.entries ?? audit.body) as { action: string; actor: string; target: string }[];
    assert.ok(entries.some((e) => e.action === 'operator.password' && e.actor === 'vera' && e.target === 'vera'));
  });

  it('a wrong current password is refused in words, and guessing is throttled', async () => {
    const a = new Api(t.http);
    await a.login('vera', 'second-password');
    const wrong = await a.post('/me/password', { current: 'not-it', new: 'third-password' });
    assert.equal(wrong.status, 403);
    assert.equal(wrong.body.error.message, 'the current password is wrong');
    assert.equal(wrong.body.error.field, 'current');
    let last = wrong;
    for (let i = 0; i < 6 && last.status !== 429; i++) last = await a.post('/me/password', { current: 'not-it', new: 'third-password' });
    assert.equal(last.status, 429);
    assert.ok(Number(last.headers.get('retry-after')) > 0);
    // The throttle is the login limiter's: the same address and username wait there too.
    assert.equal((await new Api(t.http).post('/login', { username: 'vera', password: 'second-password' })).status, 429);
  });

  it('a too short new password is a validation error', async () => {
    const r = await t.api.post('/me/password', { current: 'admin-password-123', new: 'short' });
    assert.equal(r.status, 400);
  });
});
