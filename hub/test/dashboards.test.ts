// Dashboards over HTTP: every role reads and saves its own, nobody another's (the
// route has no username to name); no session, no dashboard; what is not a list of
// known panels, or too many of them, is refused.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Api, startHubWithRoles, type TestHub } from './helpers/hub.js';

const BOARD = {
  panels: [
    { kind: 'count', title: 'By status', by: 'status' },
    { kind: 'chart', title: 'Temperatures', metric: 'temperature', devices: ['t-1', 't-2'], minutes: 60 },
    { kind: 'value', title: 'Boiler', device: 't-1', metric: 'temperature', warn: 60, alarm: 80 },
    { kind: 'events', title: 'Latest', limit: 10 },
  ],
};

describe('dashboards', () => {
  let t: TestHub;
  let viewer: Api;
  let operator: Api;
  before(async () => {
    ({ t, viewer, operator } = await startHubWithRoles());
  });
  after(() => t.close());

  it('is empty before the first save', async () => {
    const r = await viewer.get('/me/dashboard');
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { panels: [], updatedAt: null });
  });

  it('a viewer saves and reads their own; another operator does not see it; audited', async () => {
    const put = await viewer.call('PUT', '/me/dashboard', BOARD);
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.deepEqual(put.body.panels, BOARD.panels);
    assert.equal(typeof put.body.updatedAt, 'number');
    assert.deepEqual((await viewer.get('/me/dashboard')).body.panels, BOARD.panels);
    assert.deepEqual((await operator.get('/me/dashboard')).body, { panels: [], updatedAt: null });
    assert.deepEqual((await t.api.get('/me/dashboard')).body.panels, [], "the admin's is their own too");

    const mine = { panels: [BOARD.panels[0]] };
    assert.equal((await operator.call('PUT', '/me/dashboard', mine)).status, 200);
    assert.deepEqual((await operator.get('/me/dashboard')).body.panels, mine.panels);
    assert.deepEqual((await viewer.get('/me/dashboard')).body.panels, BOARD.panels, "one's save leaves the other's alone");

    const audit = (await t.api.get('/audit?limit=20')).body.entries as { action: string; actor: string; target: string }[];
    assert.ok(audit.some((e) => e.action === 'dashboard.save' && e.actor === 'vi' && e.target === 'vi'));
  });

  it('takes at most ten saves at once per operator, then one a second: 429 with Retry-After, nobody else held back', async () => {
    // The red team wrote 900 audit entries a second through saves.
    const statuses: number[] = [];
    let refused: Awaited<ReturnType<Api['call']>> | undefined;
    while (refused === undefined && statuses.length < 40) {
      const r = await t.api.call('PUT', '/me/dashboard', BOARD);
      statuses.push(r.status);
      if (r.status !== 200) refused = r;
    }
    assert.ok(refused !== undefined, 'refused at last');
    assert.deepEqual([refused.status, refused.body.error.code], [429, 'HUB_ERR_RATE_LIMITED']);
    assert.ok(Number(refused.headers.get('retry-after')) >= 1);
    assert.ok(statuses.length >= 11, `ten saves at once are taken (${statuses.length - 1} were)`);
    assert.equal((await operator.call('PUT', '/me/dashboard', BOARD)).status, 200, 'another operator saves');
  });

  it('without a session: 401', async () => {
    const anon = new Api(t.http);
    assert.equal((await anon.get('/me/dashboard')).status, 401);
    assert.equal((await anon.call('PUT', '/me/dashboard', BOARD)).status, 401);
  });

  it('refuses unknown kinds, unknown fields, and more than 24 panels', async () => {
    const bad = async (doc: unknown) => (await viewer.call('PUT', '/me/dashboard', doc)).status;
    assert.equal(await bad({ panels: [{ kind: 'map', title: 'x' }] }), 400);
    assert.equal(await bad({ panels: [{ kind: 'count', title: 'x', by: 'status', script: '<b>' }] }), 400);
    assert.equal(await bad({ panels: [{ kind: 'chart', title: 'x', metric: 'm', devices: [], minutes: 5 }] }), 400);
    assert.equal(await bad({ panels: Array.from({ length: 25 }, () => BOARD.panels[0]) }), 400);
    assert.equal(await bad({ panels: [{ kind: 'count', title: 'x'.repeat(10_000), by: 'status' }] }), 400);
    assert.deepEqual((await viewer.get('/me/dashboard')).body.panels, BOARD.panels, 'a refused save changes nothing');
  });
});
