// Command status topics are shared by every integrator: an answer must never read as
// the status of another account's command. Two integrator accounts, real mqtt.js
// clients: B's refused requests carrying A's id are attributed to B (`by`) and never
// carry that id as `id`; B's own command with the same key is B's.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestHub, type TestHub } from './helpers/hub.js';
import { createIntegrator, TestMqtt } from './helpers/mqtt.js';

const P = 'halyard/devices';

interface Status {
  id: string | null;
  command?: string;
  by: string;
  request?: string | null;
  status: string;
  code?: string;
}

describe('MQTT: command statuses are attributed to their requester', () => {
  let t: TestHub;
  let a: TestMqtt;
  let b: TestMqtt;
  before(async () => {
    t = await startTestHub();
    await createIntegrator(t.api, 'acct-a', 'acct-a-password');
    await createIntegrator(t.api, 'acct-b', 'acct-b-password');
    const url = `mqtt://127.0.0.1:${t.hub.mqttPort}`;
    a = await TestMqtt.connect(url, { username: 'acct-a', password: 'acct-a-password' });
    b = await TestMqtt.connect(url, { username: 'acct-b', password: 'acct-b-password' });
    await a.subscribe(`${P}/#`);
    await b.subscribe(`${P}/#`);
  });
  after(async () => {
    await a.close();
    await b.close();
    await t.close();
  });

  it("B's refused requests with A's id never read as A's command", async () => {
    await t.api.provision('attr-1');
    const topic = `${P}/attr-1/cmd/flush`;
    const status = `${topic}/status`;
    await a.publish(topic, JSON.stringify({ id: 'job-42', params: { tank: 1 } }));
    const queued = JSON.parse((await a.next(status, (m) => m.text.includes('"queued"'))).text) as Status;
    assert.deepStrictEqual([queued.id, queued.by], ['job-42', 'mqtt:acct-a']);

    const refused = [
      '{"id":"job-42","colour":"red"}', // an unknown field
      '{"id":"job-42","ttl":"soon"}', // a bad duration
      '{"id":"job-42","params":{"constructor":1}}', // params no device accepts
    ];
    for (const payload of refused) {
      const from = a.received.length;
      await b.publish(topic, payload);
      const seen = JSON.parse((await a.next(status, () => true, from)).text) as Status;
      assert.equal(seen.status, 'rejected', payload);
      assert.equal(seen.id, null, `${payload}: not attributable to a command`);
      assert.deepStrictEqual([seen.by, seen.request], ['mqtt:acct-b', 'job-42'], payload);
    }
    // A request that does not even parse cannot be given anyone's id.
    const from = a.received.length;
    await b.publish(topic, '{"id":"job-42",');
    const garbled = JSON.parse((await a.next(status, () => true, from)).text) as Status;
    assert.deepStrictEqual(
      [garbled.status, garbled.code, garbled.id, garbled.by],
      ['rejected', 'HUB_ERR_BAD_REQUEST', null, 'mqtt:acct-b'],
    );

    // B may use the same key for a command of its own: a separate command, and B's.
    const fromB = a.received.length;
    await b.publish(topic, JSON.stringify({ id: 'job-42', params: { tank: 2 } }));
    const bs = JSON.parse((await a.next(status, (m) => m.text.includes('"queued"'), fromB)).text) as Status;
    assert.deepStrictEqual([bs.id, bs.by], ['job-42', 'mqtt:acct-b']);
    assert.notEqual(bs.command, queued.command);

    // What A sees of its own job-42: only "queued", by A, for A's command.
    const mine = a.json<Status>(status).filter((s) => s.id === 'job-42' && s.by === 'mqtt:acct-a');
    assert.deepStrictEqual(
      mine.map((s) => [s.status, s.command]),
      [['queued', queued.command]],
    );
    assert.ok(!a.json<Status>(status).some((s) => s.id === 'job-42' && s.status === 'rejected'));
    assert.equal((await t.api.get(`/commands/${queued.command}`)).body.state, 'queued');
  });

  it('desired-set answers say whose patch it was', async () => {
    await t.api.provision('attr-2');
    const status = `${P}/attr-2/twin/desired/set/status`;
    await a.publish(`${P}/attr-2/twin/desired/set`, JSON.stringify({ mode: 'eco' }));
    const applied = JSON.parse((await b.next(status, (m) => m.text.includes('"applied"'))).text);
    assert.equal(applied.by, 'mqtt:acct-a');
    // Each client gets its copy in its own turn: wait for A's before counting what came after it.
    await a.next(status, (m) => m.text.includes('"applied"'));
    const from = a.received.length;
    await b.publish(`${P}/attr-2/twin/desired/set`, 'not json');
    const rejected = JSON.parse((await a.next(status, () => true, from)).text);
    assert.deepStrictEqual([rejected.status, rejected.by], ['rejected', 'mqtt:acct-b']);
  });

  it('commands from the HTTP API are attributed to an operator, without the username', async () => {
    await t.api.provision('attr-3');
    const r = await t.api.post('/devices/attr-3/commands', { name: 'noop' });
    const s = JSON.parse((await a.next(`${P}/attr-3/cmd/noop/status`)).text) as Status;
    assert.deepStrictEqual([s.id, s.by], [r.body.id, 'operator']);
  });
});
