// Red-team findings against the webhooks, exports, alarms and MQTT session surfaces:
// each test reproduces one defect found by attacking a running hub through its
// sockets, and holds the fix.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestHub, type TestHub } from './helpers/hub.js';

describe('red team: alarms, webhooks, exports, MQTT sessions', () => {
  let t: TestHub;
  before(async () => {
    t = await startTestHub([]);
  });
  after(async () => {
    await t.stop();
  });

  it('concurrent alarm rule creations never take the rule count past its cap', async () => {
    const doc = { name: 'cap', severity: 'minor', condition: { kind: 'offline', for: '1m' } };
    for (let i = 0; i < 990; i++) assert.equal((await t.api.post('/alarm-rules', doc)).status, 201);
    const answers = await Promise.all(Array.from({ length: 40 }, () => t.api.post('/alarm-rules', doc)));
    const created = answers.filter((a) => a.status === 201).length;
    assert.equal(created, 10, JSON.stringify(answers.map((a) => a.status)));
    assert.equal((await t.api.get('/alarm-rules')).body.rules.length, 1000);
  });

  it('an alarm rule deleted while an update of it is under way stays deleted', async () => {
    const doc = { name: 'race', severity: 'minor', condition: { kind: 'offline', for: '1m' } };
    const rules = (await t.api.get('/alarm-rules')).body.rules as { id: string }[];
    const ids = rules.slice(0, 40).map((r) => r.id);
    await Promise.all(ids.flatMap((id) => [t.api.call('PUT', `/alarm-rules/${id}`, doc), t.api.delete(`/alarm-rules/${id}`)]));
    const left = ((await t.api.get('/alarm-rules')).body.rules as { id: string }[]).filter((r) => ids.includes(r.id));
    assert.deepEqual(left, []);
  });
});
