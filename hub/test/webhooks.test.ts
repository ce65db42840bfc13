// Webhooks against a real HTTP receiver (node:http on loopback, allowed with
// --webhook-allow): it checks every signature, fails the first attempts of each
// delivery on purpose, and counts deliveries by id (at-least-once: a duplicate is
// allowed by the contract, and counted here so that one would show). Alarms,
// presence, the test button, the delivery log, the bounded queue, the retry window,
// and deliveries queued while the receiver was down surviving a hub restart. Runs on
// the test store (SQLite, or PostgreSQL with HALYARD_TEST_STORE=postgres).

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { StartOptions } from '../src/hub.js';
import { verify } from '../src/webhooks/signature.js';
import { TestDevice } from './helpers/device.js';
import { eventually } from './helpers/eventually.js';
import { type Api, metricSample, startHubWithRoles, startTestHub, type TestHub } from './helpers/hub.js';

// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON bodies
type Json = any;

/** Fast retries for tests; the jitter is seeded (a fixed sequence), not random. */
function fastWebhooks(): StartOptions {
  let i = 0;
  return { webhooks: { retryBaseMs: 20, pollMs: 50, random: () => [0.1, 0.9, 0.5, 0.3, 0.7][i++ % 5] as number } };
}

class Receiver {
  readonly server: Server;
  /** Secret by webhook id (set once the webhook exists). */
  secret = '';
  /** Attempts to fail (HTTP 503) for each delivery id before answering 204. */
  failFirst = 0;
  /** Every delivery answered 2xx, by id: its count (above 1 would be a duplicate). */
  readonly delivered = new Map<string, number>();
  readonly bodies: Json[] = [];
  readonly attempts = new Map<string, number>();
  badSignatures = 0;
  /** Answer 503 to everything (a receiver that is down but reachable). */
  down = false;
  private waiters: (() => void)[] = [];

  constructor() {
    this.server = createServer((req, res) => void this.handle(req, res));
  }

  async listen(port = 0): Promise<string> {
    this.server.listen(port, '127.0.0.1');
    await once(this.server, 'listening');
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }

  private async handle(req: IncomingMessage, res: import('node:http').ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString();
    const id = String(req.headers['halyard-webhook-id']);
    if (!verify(this.secret, String(req.headers['halyard-signature']), text, Math.floor(Date.now() / 1000))) {
      this.badSignatures++;
      res.writeHead(400).end();
      return;
    }
    const n = (this.attempts.get(id) ?? 0) + 1;
    this.attempts.set(id, n);
    if (this.down || n <= this.failFirst) {
      res.writeHead(503).end('not now');
      return;
    }
    const body = JSON.parse(text);
    assert.equal(body.id, id, 'the body carries the delivery id');
    assert.equal(req.headers['halyard-event'], body.type);
    this.delivered.set(id, (this.delivered.get(id) ?? 0) + 1);
    if (this.delivered.get(id) === 1) this.bodies.push(body);
    res.writeHead(204).end();
    for (const w of this.waiters.splice(0)) w();
  }

  /** The first body delivered that `pred` accepts. */
  async bodyWhere(pred: (b: Json) => boolean, what: string): Promise<Json> {
    return eventually(() => this.bodies.find(pred), what, 10_000);
  }

  duplicates(): number {
    return [...this.delivered.values()].filter((n) => n > 1).length;
  }
}

async function createWebhook(api: Api, r: Receiver, url: string, extra: Record<string, unknown> = {}): Promise<Json> {
  const res = await api.post('/webhooks', { name: 'ops', url, events: ['alarm', 'device.online', 'device.offline'], ...extra });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  assert.match(res.body.secret, /^whsec_/);
  r.secret = res.body.secret;
  return res.body;
}

describe('webhooks', () => {
  let t: TestHub;
  let operator: Api;
  let viewer: Api;
  const receiver = new Receiver();
  let url: string;
  before(async () => {
    url = await receiver.listen();
    ({ t, operator, viewer } = await startHubWithRoles(['--webhook-allow', '127.0.0.1'], fastWebhooks()));
  });
  after(async () => {
    await t.close();
    await receiver.close();
  });

  it('are managed by admins: validated URLs, a secret shown once, audited', async () => {
    const body = { name: 'x', url, events: ['alarm'] };
    assert.equal((await operator.post('/webhooks', body)).status, 403);
    assert.equal((await viewer.get('/webhooks')).status, 403);
    for (const [bad, why] of [
      ['ftp://example.com/x', /only http/],
      ['file:///etc/passwd', /only http/],
      ['http://user:pw@example.com/', /no user or password/],
      ['http://169.254.169.254/latest/meta-data', /link-local, metadata/],
      ['http://127.0.0.2/', /loopback/],
      ['http://[::1]/', /loopback/],
      ['http://[::ffff:127.0.0.2]:9/', /loopback/],
      ['http://[::ffff:169.254.169.254]/', /link-local/],
      ['not a url', /not a URL/],
    ] as const) {
      const r = await t.api.post('/webhooks', { ...body, url: bad });
      assert.equal(r.status, 400, bad);
      assert.equal(r.body.error.code, 'HUB_ERR_WEBHOOK_URL', bad);
      assert.match(r.body.error.message, why, bad);
    }
    const created = await t.api.post('/webhooks', body);
    assert.equal(created.status, 201);
    const got = await t.api.get(`/webhooks/${created.body.id}`);
    assert.equal(got.body.secret, undefined, 'the secret is never shown again');
    assert.equal((await t.api.get('/webhooks')).body.webhooks[0].secret, undefined);
    const rotated = await t.api.post(`/webhooks/${created.body.id}/secret`);
    assert.notEqual(rotated.body.secret, created.body.secret);
    const patched = await t.api.patch(`/webhooks/${created.body.id}`, { enabled: false, alarmSeverities: ['critical'] });
    assert.equal(patched.body.enabled, false);
    assert.deepEqual(patched.body.alarmSeverities, ['critical']);
    assert.equal((await t.api.delete(`/webhooks/${created.body.id}`)).status, 204);
    assert.equal((await t.api.get(`/webhooks/${created.body.id}`)).status, 404);
    const audit = (await t.api.get('/audit?limit=20')).body.entries.map((e: Json) => e.action);
    for (const a of ['webhook.create', 'webhook.secret', 'webhook.update', 'webhook.delete']) assert.ok(audit.includes(a), a);
    assert.ok(!JSON.stringify((await t.api.get('/audit?limit=20')).body).includes(created.body.secret), 'no secret in the audit log');
  });

  it('keep a token in the URL out of the audit log and its export; the admin API shows the URL whole', async () => {
    const token = 'tok-5ecret-in-query';
    const secretUrl = `${url}?token=${token}&team=ops`;
    const created = await t.api.post('/webhooks', { name: 'tokened', url: secretUrl, events: ['alarm'] });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.url, secretUrl, 'the admin who made it sees it whole');
    assert.equal((await t.api.get(`/webhooks/${created.body.id}`)).body.url, secretUrl);
    assert.equal((await t.api.patch(`/webhooks/${created.body.id}`, { url: `${url}?token=${token}-2` })).status, 200);
    // An entry written before URLs were hidden at write time: hidden when read.
    await t.hub.ctx.store.op('audit', {
      at: Date.now(),
      actor: 'admin',
      action: 'webhook.update',
      target: created.body.id,
      detail: { name: 'old', url: `${url}?token=${token}-old` },
    });
    const entries = (await t.api.get('/audit?limit=50')).body.entries.filter((e: Json) => e.target === created.body.id);
    assert.equal(entries.length, 3);
    for (const e of entries) assert.match(e.detail.url, /^http:\/\/127\.0\.0\.1:\d+\/hook\?token=\*\*\*/, e.action);
    assert.ok(entries.some((e: Json) => e.detail.url.endsWith('&team=***')));
    for (const format of ['ndjson', 'csv']) {
      const r = await fetch(`${t.http}/api/v1/export/audit?format=${format}`, { headers: { authorization: `Bearer ${t.api.token}` } });
      assert.equal(r.status, 200);
      const text = await r.text();
      assert.ok(text.includes(created.body.id), `the ${format} export has the entries`);
      assert.ok(!text.includes(token), `no token in the ${format} export`);
    }
    assert.ok(!t.logs.some((l) => JSON.stringify(l).includes(token)), 'no token in the logs');
    assert.equal((await t.api.delete(`/webhooks/${created.body.id}`)).status, 204);
  });

  it('deliver presence and alarms signed, retried after failures, each once, with a log', async () => {
    receiver.failFirst = 2;
    const hook = await createWebhook(t.api, receiver, url, { alarmSeverities: ['critical'] });
    const dev = await TestDevice.connect(t.ws, await t.api.provision('wh-therm'));
    const online = await receiver.bodyWhere((b) => b.type === 'device.online' && b.data.device === 'wh-therm', 'the online delivery');
    assert.equal(receiver.attempts.get(online.id), 3, 'two failures, then delivered');
    // A critical alarm is delivered; a minor one is filtered out by severity.
    for (const [name, severity, above] of [
      ['hot', 'critical', 30],
      ['warm', 'minor', 20],
    ] as const) {
      const r = await operator.post('/alarm-rules', {
        name,
        severity,
        selector: { devices: ['wh-therm'] },
        condition: { kind: 'metric', metric: 'temp', above },
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }
    await dev.waitAck(dev.telemetry([{ n: 'temp', v: 35 }]));
    const alarm = await receiver.bodyWhere((b) => b.type === 'alarm', 'the alarm delivery');
    assert.equal(alarm.data.action, 'raised');
    assert.equal(alarm.data.alarm.severity, 'critical');
    assert.equal(alarm.data.alarm.device, 'wh-therm');
    assert.equal(alarm.data.alarm.history, undefined);
    await dev.close();
    await receiver.bodyWhere((b) => b.type === 'device.offline' && b.data.device === 'wh-therm', 'the offline delivery');
    assert.equal(receiver.bodies.filter((b) => b.type === 'alarm' && b.data.alarm.severity === 'minor').length, 0);

    const log = await eventually(async () => {
      const r = await t.api.get(`/webhooks/${hook.id}/deliveries`);
      return r.body.deliveries.length >= 3 && r.body.deliveries.every((d: Json) => d.state === 'delivered') ? r.body.deliveries : undefined;
    }, 'the log shows every delivery delivered');
    const first = log.find((d: Json) => d.id === online.id);
    assert.equal(first.attempts, 3);
    assert.equal(first.lastStatus, 204);
    assert.equal(receiver.badSignatures, 0);
    assert.equal(receiver.duplicates(), 0);
    assert.ok((await metricSample(t, 'halyard_webhook_attempts_total{result="retry"}')) >= 2);
    await t.api.delete(`/webhooks/${hook.id}`);
    receiver.failFirst = 0;
  });

  it("one webhook's backlog does not hold up another's deliveries", async () => {
    // A's receiver holds every request open until released; B's answers at once.
    const held: import('node:http').ServerResponse[] = [];
    const slow = createServer((_req, res) => {
      held.push(res);
    });
    slow.listen(0, '127.0.0.1');
    await once(slow, 'listening');
    const slowUrl = `http://127.0.0.1:${(slow.address() as AddressInfo).port}/hook`;
    const a = await t.api.post('/webhooks', { name: 'slow', url: slowUrl, events: ['device.online', 'device.offline'] });
    assert.equal(a.status, 201);
    const b = await createWebhook(t.api, receiver, url, { events: ['alarm'] });
    const token = await t.api.provision('wh-backlog');
    // 160 presence deliveries for A, more than one read of the queue would see at once
    // (8 devices, 10 connections each: under the 20 a minute a device may make).
    const tokens = await Promise.all([...Array(8).keys()].map((i) => t.api.provision(`wh-backlog-${i}`)));
    for (const tk of tokens) for (let i = 0; i < 10; i++) await (await TestDevice.connect(t.ws, tk)).close();
    try {
      await eventually(async () => {
        const r = await t.api.get(`/webhooks/${a.body.id}/deliveries?state=pending&limit=1000`);
        return r.body.deliveries.length >= 150 ? true : undefined;
      }, "A's backlog queued");
      const rule = await operator.post('/alarm-rules', {
        name: 'backlog',
        severity: 'major',
        selector: { devices: ['wh-backlog'] },
        condition: { kind: 'metric', metric: 'level', above: 1 },
      });
      assert.equal(rule.status, 201, JSON.stringify(rule.body));
      const dev = await TestDevice.connect(t.ws, token);
      await dev.waitAck(dev.telemetry([{ n: 'level', v: 5 }]));
      await receiver.bodyWhere((x) => x.type === 'alarm' && x.data.alarm.device === 'wh-backlog', "B's alarm, while A is stuck");
      assert.ok(held.length <= 1, `A has one attempt in flight (${held.length})`);
      await dev.close();
    } finally {
      for (const res of held) res.writeHead(204).end();
      slow.closeAllConnections();
      slow.close();
    }
    await t.api.delete(`/webhooks/${a.body.id}`);
    await t.api.delete(`/webhooks/${b.id}`);
  });

  it('the test button sends a test delivery', async () => {
    const hook = await createWebhook(t.api, receiver, url);
    const r = await t.api.post(`/webhooks/${hook.id}/test`);
    assert.equal(r.status, 202);
    const test = await receiver.bodyWhere((b) => b.id === r.body.delivery, 'the test delivery');
    assert.equal(test.type, 'test');
    assert.equal(test.data.requestedBy, 'admin');
    await t.api.delete(`/webhooks/${hook.id}`);
  });

  it('tell the end of a firmware update and of a fleet job, once each', async () => {
    // A receiver of its own: its webhook has its own secret.
    const ends = new Receiver();
    const endsUrl = await ends.listen();
    try {
      const hook = await createWebhook(t.api, ends, endsUrl, { events: ['update.finished', 'job.finished'] });
      await t.api.provision('wh-ends', { tags: ['wh-ends'] });
      const upload = await fetch(`${t.api.base}/api/v1/firmware?model=wh-m&version=2.0.0`, {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream', authorization: `Bearer ${t.api.token}` },
        body: Buffer.alloc(4096, 7),
      });
      assert.equal(upload.status, 201, await upload.clone().text());
      const image = ((await upload.json()) as Json).id as string;
      const started = await t.api.post('/devices/wh-ends/update', { firmware: image });
      assert.equal(started.status, 201, JSON.stringify(started.body));
      assert.equal((await t.api.post(`/updates/${started.body.id}/cancel`)).status, 200);
      const update = await ends.bodyWhere((b) => b.type === 'update.finished', 'update.finished');
      assert.deepEqual([update.data.update.id, update.data.update.state], [started.body.id, 'cancelled']);

      const job = await t.api.post('/jobs', { action: { type: 'desired', patch: { mode: 'eco' } }, selection: { tags: ['wh-ends'] } });
      assert.equal(job.status, 201, JSON.stringify(job.body));
      const finished = await ends.bodyWhere((b) => b.type === 'job.finished', 'job.finished');
      assert.deepEqual([finished.data.job.id, finished.data.job.state], [job.body.id, 'completed']);
      // Nothing else, and nothing twice: a marker delivery after both would come after any repeat.
      const marker = await t.api.post(`/webhooks/${hook.id}/test`);
      await ends.bodyWhere((b) => b.id === marker.body.delivery, 'the marker');
      assert.deepEqual(
        ends.bodies.map((b) => b.type),
        ['update.finished', 'job.finished', 'test'],
      );
      assert.equal(ends.duplicates(), 0);
      await t.api.delete(`/webhooks/${hook.id}`);
    } finally {
      await ends.close();
    }
  });
});

describe('webhooks: bounds and retry time', () => {
  it('drop beyond --webhook-queue (counted) and fail after --webhook-retry-for', async () => {
    const receiver = new Receiver();
    const url = await receiver.listen();
    receiver.down = true;
    const t = await startTestHub(
      ['--webhook-allow', '127.0.0.1', '--webhook-queue', '3', '--webhook-retry-for', '1s'],
      undefined,
      fastWebhooks(),
    );
    try {
      const hook = await createWebhook(t.api, receiver, url);
      const token = await t.api.provision('wh-flappy');
      for (let i = 0; i < 6; i++) (await TestDevice.connect(t.ws, token)).close();
      await eventually(async () => (await metricSample(t, 'halyard_webhook_dropped_total{reason="queue_full"}')) > 0, 'drops counted');
      const failed = await eventually(async () => {
        const all = (await t.api.get(`/webhooks/${hook.id}/deliveries`)).body.deliveries;
        return all.length > 0 && all.every((d: Json) => d.state === 'failed') ? all : undefined;
      }, 'every delivery failed after the retry time');
      assert.ok(failed.length <= 3, `${failed.length} queued`);
      assert.equal(failed[0].lastStatus, 503);
      assert.equal(failed[0].lastError, 'HTTP 503');
      assert.ok(failed[0].attempts > 1);
      assert.equal(receiver.delivered.size, 0);
    } finally {
      await t.close();
      await receiver.close();
    }
  });
});

describe('webhooks: restarts', () => {
  it('deliveries queued while the receiver was down reach it after a hub restart', async () => {
    const receiver = new Receiver();
    const url = await receiver.listen();
    receiver.down = true;
    const flags = ['--webhook-allow', '127.0.0.1'];
    const t1 = await startTestHub(flags, undefined, fastWebhooks());
    const hook = await createWebhook(t1.api, receiver, url);
    const token = await t1.api.provision('wh-restart');
    const d = await TestDevice.connect(t1.ws, token);
    await d.close();
    await eventually(async () => {
      const all = (await t1.api.get(`/webhooks/${hook.id}/deliveries?state=pending`)).body.deliveries;
      return all.length === 2 && all.every((x: Json) => x.attempts > 0) ? true : undefined;
    }, 'two deliveries pending after failed attempts');
    await t1.stop();
    receiver.down = false;
    const t2 = await startTestHub(flags, t1.dir, fastWebhooks());
    try {
      await receiver.bodyWhere((b) => b.type === 'device.online' && b.data.device === 'wh-restart', 'online after the restart');
      await receiver.bodyWhere((b) => b.type === 'device.offline' && b.data.device === 'wh-restart', 'offline after the restart');
      assert.equal(receiver.duplicates(), 0);
      assert.equal(receiver.badSignatures, 0);
    } finally {
      await t2.close();
      await receiver.close();
    }
  });
});
