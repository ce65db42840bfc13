// Red-team findings against the webhooks, exports, alarms and MQTT session surfaces:
// each test reproduces one defect found by attacking a running hub through its
// sockets, and holds the fix.

import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { MessageType } from '@halyard/firmware-protocol';
import { TestDevice } from './helpers/device.js';
import { eventually } from './helpers/eventually.js';
import { Api, startTestHub, type TestHub } from './helpers/hub.js';
import { createIntegrator, TestMqtt } from './helpers/mqtt.js';

describe('red team: alarms, webhooks, exports, MQTT sessions', () => {
  let t: TestHub;
  before(async () => {
    t = await startTestHub(['--webhook-allow', '127.0.0.1']);
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

  it('concurrent webhook creations never take the webhook count past its cap, and a deleted webhook stays deleted', async () => {
    const doc = { name: 'cap', url: 'http://127.0.0.1:9/hook', events: ['alarm'] };
    for (let i = 0; i < 90; i++) assert.equal((await t.api.post('/webhooks', doc)).status, 201);
    const answers = await Promise.all(Array.from({ length: 40 }, () => t.api.post('/webhooks', doc)));
    assert.equal(answers.filter((a) => a.status === 201).length, 10, JSON.stringify(answers.map((a) => a.status)));
    const hooks = (await t.api.get('/webhooks')).body.webhooks as { id: string }[];
    assert.equal(hooks.length, 100);
    const ids = hooks.slice(0, 40).map((w) => w.id);
    await Promise.all(
      ids.flatMap((id) => [
        t.api.patch(`/webhooks/${id}`, { name: 'renamed' }),
        t.api.post(`/webhooks/${id}/secret`),
        t.api.delete(`/webhooks/${id}`),
      ]),
    );
    const left = ((await t.api.get('/webhooks')).body.webhooks as { id: string }[]).filter((w) => ids.includes(w.id));
    assert.deepEqual(left, []);
  });

  it("one user's exports that are never read leave export slots for the others", async () => {
    await t.api.post('/operators', { username: 'hog', password: 'hog-password', role: 'viewer' });
    const hog = new Api(t.http);
    await hog.login('hog', 'hog-password');
    // HEAD answers carry no body: the stream is never read, only abandoned after its stall time.
    const heads = await Promise.all(
      Array.from({ length: 8 }, () =>
        fetch(`${t.http}/api/v1/export/devices`, { method: 'HEAD', headers: { authorization: `Bearer ${hog.token}` } }),
      ),
    );
    const statuses = heads.map((h) => h.status);
    assert.ok(
      statuses.every((s) => s === 200 || s === 429),
      JSON.stringify(statuses),
    );
    const other = await t.api.call('GET', '/export/devices');
    assert.equal(other.status, 200, JSON.stringify(other.body));
    assert.ok(statuses.includes(429), `one user held every export slot: ${JSON.stringify(statuses)}`);
  });

  it('an admin can drop any persistent MQTT session an integrator can make, whatever its client id', async () => {
    await createIntegrator(t.api, 'odd', 'odd-password');
    const url = `mqtt://127.0.0.1:${t.hub.mqttPort}`;
    const login = { username: 'odd', password: 'odd-password', clean: false };
    // Ids no API path can name: longer than the route takes, or dot segments a URL parser removes.
    for (const clientId of ['..', '.', 'x'.repeat(129)])
      await assert.rejects(
        TestMqtt.connect(url, { ...login, clientId }),
        /identifier rejected|Identifier rejected/i,
        clientId.slice(0, 20),
      );
    const ids = ['a/b', 'sp ace', '%41', '...', 'ünï-🙂', 'x'.repeat(128)];
    for (const clientId of ids) await (await TestMqtt.connect(url, { ...login, clientId })).close();
    const listed = (await t.api.get('/integrators')).body.integrators.find((i: { username: string }) => i.username === 'odd');
    assert.deepEqual(listed.sessions.map((s: { clientId: string }) => s.clientId).sort(), [...ids].sort());
    for (const clientId of ids) {
      const r = await t.api.delete(`/integrators/odd/sessions/${encodeURIComponent(clientId)}`);
      assert.equal(r.status, 204, `${clientId.slice(0, 20)}: ${JSON.stringify(r.body)}`);
    }
    const after = (await t.api.get('/integrators')).body.integrators.find((i: { username: string }) => i.username === 'odd');
    assert.deepEqual(after.sessions, []);
  });
});

/** An HTTP server on 127.0.0.1 that hands each request to `handle`. */
async function receiver(handle: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ server: Server; url: string }> {
  const server = createServer(handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address() as { port: number };
  return { server, url: `http://127.0.0.1:${a.port}/hook` };
}

describe('red team: webhook receivers that never answer', () => {
  it("eight webhooks whose receivers never answer do not hold up another webhook's deliveries", async () => {
    const t = await startTestHub(['--webhook-allow', '127.0.0.1']);
    let hung = 0;
    let abandoned = 0;
    const hole = await receiver((req) => {
      hung++;
      req.resume();
      req.socket.on('close', () => abandoned++);
    });
    const got: string[] = [];
    const good = await receiver((req, res) => {
      let text = '';
      req.on('data', (c: Buffer) => {
        text += c.toString();
      });
      req.on('end', () => {
        got.push(text);
        res.end('ok');
      });
    });
    try {
      const dead: string[] = [];
      for (let i = 0; i < 8; i++) {
        const r = await t.api.post('/webhooks', { name: `dead-${i}`, url: hole.url, events: ['alarm'] });
        assert.equal(r.status, 201);
        dead.push(r.body.id);
      }
      // The healthy webhook sorts after the dead ones (webhooks are visited in id order).
      let healthy = '';
      for (;;) {
        const r = await t.api.post('/webhooks', { name: 'healthy', url: good.url, events: ['alarm'] });
        if (dead.every((d) => d < r.body.id)) {
          healthy = r.body.id;
          break;
        }
        await t.api.delete(`/webhooks/${r.body.id}`);
      }
      for (const id of dead) for (let i = 0; i < 3; i++) assert.equal((await t.api.post(`/webhooks/${id}/test`)).status, 202);
      await eventually(() => hung >= 8 || undefined, 'the eight dead receivers were called');
      assert.equal((await t.api.post(`/webhooks/${healthy}/test`)).status, 202);
      await eventually(() => got.length >= 1 || undefined, 'the healthy webhook got its delivery', 30_000);
      assert.equal(abandoned, 0, 'the healthy delivery waited for a dead attempt to time out');
    } finally {
      await t.stop();
      hole.server.closeAllConnections();
      good.server.closeAllConnections();
      hole.server.close();
      good.server.close();
    }
  });
});

describe('red team: a device flapping an alarm', () => {
  it('a clear event sent right after the raising one clears the alarm (it came while the raise was being stored)', async () => {
    const t = await startTestHub([]);
    try {
      const token = await t.api.provision('flappy');
      const dev = await TestDevice.connect(t.ws, token);
      const r = await t.api.post('/alarm-rules', {
        name: 'flap',
        severity: 'minor',
        condition: { kind: 'event', name: 'hot', minLevel: 0, clearName: 'cool' },
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      const rule = r.body.id as string;
      const alarms = async () => (await t.api.get(`/alarms?rule=${rule}&device=flappy&limit=1000`)).body.alarms as { state: string }[];
      for (let round = 1; round <= 5; round++) {
        dev.send({ type: MessageType.Event, seq: ++dev.seq, name: 'hot', level: 1, data: { round } });
        dev.send({ type: MessageType.Event, seq: ++dev.seq, name: 'cool' });
        await eventually(async () => {
          const all = await alarms();
          return all.length === round && all.every((a) => a.state === 'cleared');
        }, `round ${round}: its alarm raised and cleared`).catch(async (err: Error) => {
          throw new Error(`${err.message}: ${JSON.stringify((await alarms()).map((a) => a.state))}`);
        });
      }
      await dev.close();
    } finally {
      await t.stop();
    }
  });

  it('a frame whose points times rules pass FRAME_CHECKS is evaluated on its newest point: bounded work, one warn line, smaller frames point by point', async () => {
    // 1,000 points flapping a metric in each frame, under 5 rules on it: 5,000 checks a
    // frame. Evaluated point by point with the writes it asked for, a few such rules
    // starved every other device (ACKs 12 s late) and grew the heap to a crash.
    const t = await startTestHub([]);
    try {
      const token = await t.api.provision('flapper-big');
      const dev = await TestDevice.connect(t.ws, token);
      const rules: string[] = [];
      for (let i = 0; i < 5; i++) {
        const r = await t.api.post('/alarm-rules', {
          name: `big-${i}`,
          severity: 'minor',
          selector: { devices: ['flapper-big'] },
          condition: { kind: 'metric', metric: 'm1', above: 50 },
        });
        assert.equal(r.status, 201, JSON.stringify(r.body));
        rules.push(r.body.id as string);
      }
      const alarms = async (rule: string) =>
        (await t.api.get(`/alarms?rule=${rule}&device=flapper-big&limit=1000`)).body.alarms as { state: string; history: unknown[] }[];
      const base = Math.floor(Date.now() / 1000) - 100;
      // 20 frames of 0, 100, 0, 100 ... ending on 100.
      for (let f = 0; f < 20; f++) {
        const pack = Array.from({ length: 1000 }, (_, i) => ({
          ...(i === 0 ? { bt: base + f } : {}),
          n: 'm1',
          v: i % 2 === 0 ? 0 : 100,
          t: i / 1000,
        }));
        const seq = dev.telemetry(pack);
        await dev.until(() => dev.acked >= seq, `ACK ${seq}`);
      }
      // Every frame ended above: each rule raised one alarm, never cleared in between.
      for (const rule of rules)
        await eventually(async () => {
          const all = await alarms(rule);
          return all.length === 1 && all[0]?.state === 'active' && all[0].history.length === 1;
        }, `rule ${rule}: one alarm, raised once`);
      const warned = t.logs.filter(
        (l) =>
          l.msg ===
          'alarms: a frame of this device costs more checks than allowed; such frames are evaluated on the newest point of each metric',
      );
      assert.equal(warned.length, 1);
      assert.equal(warned[0]?.checks, 5000);
      // A small frame is still evaluated point by point: 0 clears; then 100 and 0 in one frame raise and clear a second alarm.
      let seq = dev.telemetry([{ bt: base + 30, n: 'm1', v: 0 }]);
      await dev.until(() => dev.acked >= seq, 'ACK');
      for (const rule of rules) await eventually(async () => (await alarms(rule))[0]?.state === 'cleared', `rule ${rule}: cleared`);
      seq = dev.telemetry([
        { bt: base + 31, n: 'm1', v: 100 },
        { n: 'm1', v: 0, t: 0.5 },
      ]);
      await dev.until(() => dev.acked >= seq, 'ACK');
      for (const rule of rules)
        await eventually(async () => {
          const all = await alarms(rule);
          return all.length === 2 && all.every((a) => a.state === 'cleared');
        }, `rule ${rule}: a second alarm, raised and cleared within one small frame`);
      await dev.close();
    } finally {
      await t.stop();
    }
  });

  it('keeps the newest 100 cleared alarms of a rule and device, however often the device flaps', async () => {
    const t = await startTestHub([]);
    try {
      const token = await t.api.provision('flapper');
      const dev = await TestDevice.connect(t.ws, token);
      const r = await t.api.post('/alarm-rules', {
        name: 'flap',
        severity: 'minor',
        condition: { kind: 'event', name: 'hot', minLevel: 0, clearName: 'cool' },
      });
      const rule = r.body.id as string;
      const alarms = async () =>
        (await t.api.get(`/alarms?rule=${rule}&device=flapper&limit=1000`)).body.alarms as { state: string; raisedValue: { n: number } }[];
      const raised = async (n: number) => {
        await eventually(async () => (await alarms())[0]?.raisedValue?.n === n, `raise ${n}`);
      };
      for (let n = 1; n <= 110; n++) {
        dev.send({ type: MessageType.Event, seq: ++dev.seq, name: 'hot', level: 1, data: { n } });
        await raised(n);
        dev.send({ type: MessageType.Event, seq: ++dev.seq, name: 'cool' });
        await eventually(async () => (await alarms())[0]?.state === 'cleared', `clear ${n}`);
      }
      dev.send({ type: MessageType.Event, seq: ++dev.seq, name: 'hot', level: 1, data: { n: 111 } });
      await raised(111);
      const all = await alarms();
      assert.equal(all.length, 101, 'the open alarm and the newest 100 cleared');
      assert.deepEqual(
        all.map((a) => a.raisedValue.n),
        Array.from({ length: 101 }, (_, i) => 111 - i),
      );
      await dev.close();
    } finally {
      await t.stop();
    }
  });
});

describe('red team: raw telemetry over a huge range', () => {
  it('a raw query, a forged cursor or a raw export over millennia is refused, not read window by window', async () => {
    const t = await startTestHub([]);
    try {
      const dev = await TestDevice.connect(t.ws, await t.api.provision('far'));
      await dev.waitAck(dev.telemetry([{ n: 'temp', v: 1 }]));
      // The latest time the API takes (8.64e15 ms): 273,790 years from 0.
      const huge = 'from=0&to=8640000000000000';
      const q = await t.api.get(`/devices/far/telemetry?${huge}`);
      assert.equal(q.status, 400, JSON.stringify(q.body).slice(0, 300));
      assert.equal(q.body.error.field, 'from');
      const cursor = Buffer.from(JSON.stringify({ v: 1, d: 'far', f: 0, t: Number.MAX_SAFE_INTEGER, n: null, p: [], r: '' })).toString(
        'base64url',
      );
      assert.equal((await t.api.get(`/devices/far/telemetry?cursor=${cursor}`)).status, 400);
      assert.equal((await t.api.get(`/devices/far/telemetry/export?${huge}`)).status, 400);
      assert.equal((await t.api.get(`/export/telemetry?${huge}`)).status, 400);
      // Bucketed exports: read a page of buckets at a time, empty ones included.
      for (const path of ['/devices/far/telemetry/export', '/export/telemetry']) {
        const r = await fetch(`${t.http}/api/v1${path}?${huge}&bucket=1`, {
          headers: { authorization: `Bearer ${t.api.token}` },
          signal: AbortSignal.timeout(20_000),
        });
        assert.equal(r.status, 400, path);
        assert.equal(((await r.json()) as { error: { field: string } }).error.field, 'bucket');
      }
      // A century is still fine, and bucketed queries are bounded by their bucket count.
      const now = Date.now();
      const ok = await t.api.get(`/devices/far/telemetry?from=${now - 50 * 365 * 86_400_000}&to=${now + 1000}`);
      assert.equal(ok.status, 200);
      assert.equal(ok.body.series[0].points.length, 1);
      await dev.close();
    } finally {
      await t.stop();
    }
  });
});
