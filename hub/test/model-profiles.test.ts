// Model profiles over HTTP: viewers read, operators replace, each change audited;
// a profile nobody wrote reads as empty; what the editor checks is refused in words.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Api, startHubWithRoles, type TestHub } from './helpers/hub.js';

const DOC = {
  commands: [
    {
      name: 'set_setpoint',
      description: 'the temperature to hold',
      params: [{ name: 'value', type: 'number', min: 5, max: 30, unit: 'Cel', required: true }],
    },
  ],
  metrics: [{ name: 'temperature', unit: 'Cel', decimals: 1 }],
  desired: [
    { name: 'mode', type: 'enum', values: ['heat', 'off'] },
    { name: 'setpoint', type: 'number', min: 5, max: 30, unit: 'Cel' },
  ],
};

describe('model profiles', () => {
  let t: TestHub;
  let viewer: Api;
  let operator: Api;
  before(async () => {
    ({ t, viewer, operator } = await startHubWithRoles());
  });
  after(() => t.close());

  it('reads an empty profile for a model nobody described', async () => {
    const r = await viewer.get('/models/thermostat/profile');
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { model: 'thermostat', commands: [], metrics: [], desired: [], updatedAt: null, updatedBy: null });
  });

  it('operators replace it, viewers read it and may not write it; audited', async () => {
    assert.equal((await viewer.call('PUT', '/models/thermostat/profile', DOC)).status, 403);
    const put = await operator.call('PUT', '/models/thermostat/profile', DOC);
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.equal(put.body.updatedBy, 'op');
    const got = (await viewer.get('/models/thermostat/profile')).body;
    assert.deepEqual({ commands: got.commands, metrics: got.metrics, desired: got.desired }, DOC);
    assert.deepEqual(
      (await viewer.get('/models')).body.profiles.map((p: { model: string }) => p.model),
      ['thermostat'],
    );
    const audit = (await t.api.get('/audit?limit=20')).body.entries as { action: string; actor: string; target: string }[];
    assert.ok(audit.some((e) => e.action === 'model.profile' && e.actor === 'op' && e.target === 'thermostat'));
  });

  it('refuses what the editor checks, naming the field', async () => {
    const bad = async (doc: unknown) => {
      const r = await operator.call('PUT', '/models/thermostat/profile', doc);
      assert.equal(r.status, 400);
      return r.body.error as { field?: string; message: string };
    };
    assert.match((await bad({ ...DOC, desired: [{ name: 'mode', type: 'enum' }] })).message, /enum lists its values/);
    assert.match((await bad({ ...DOC, desired: [{ name: 'x', type: 'number', min: 3, max: 1 }] })).message, /min is above max/);
    assert.match((await bad({ ...DOC, metrics: [{ name: 'a' }, { name: 'a' }] })).message, /listed twice/);
    assert.ok((await bad({ ...DOC, commands: [{ name: 'bad name', params: [] }] })).field?.startsWith('commands.0.name'));
  });

  it('keeps at most 100 profiles: another model is refused with 429, one that has a profile is still replaced', async () => {
    const empty = { commands: [], metrics: [], desired: [] };
    const have = ((await operator.get('/models')).body.profiles as unknown[]).length;
    for (let i = have; i < 100; i++) assert.equal((await operator.call('PUT', `/models/m-${i}/profile`, empty)).status, 200);
    const over = await operator.call('PUT', '/models/one-too-many/profile', empty);
    assert.deepEqual([over.status, over.body.error.code], [429, 'HUB_ERR_QUEUE_FULL']);
    assert.equal((await operator.call('PUT', '/models/m-99/profile', DOC)).status, 200);
    assert.equal(((await operator.get('/models')).body.profiles as unknown[]).length, 100);
    // Removing one frees its slot (red team: at the cap, nothing could ever be added again).
    assert.equal((await operator.call('DELETE', '/models/m-99/profile')).status, 204);
    assert.equal((await operator.get('/models/m-99/profile')).body.updatedAt, null, 'reads as empty again');
    const again = await operator.call('DELETE', '/models/m-99/profile');
    assert.deepEqual([again.status, again.body.error.code], [404, 'HUB_ERR_NOT_FOUND']);
    assert.equal((await operator.call('PUT', '/models/one-too-many/profile', empty)).status, 200);
    const audit = await t.api.get('/audit?action=model.profile.delete');
    assert.deepEqual(
      audit.body.entries.map((e: { target: string }) => e.target),
      ['m-99'],
    );
  });

  it('viewers may not remove a profile', async () => {
    assert.equal((await viewer.call('DELETE', '/models/m-0/profile')).status, 403);
  });
});
