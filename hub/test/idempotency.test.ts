// Idempotency keys belong to the caller who used them (an operator, an integrator
// account), cover the whole request (device, name, params), and expire: HTTP's
// Idempotency-Key, the console's `key` and MQTT's `id` alike.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { IDEMPOTENCY_KEY_TTL } from '../src/commands/service.js';
import { MIGRATIONS, migrate } from '../src/store/migrations.js';
import { WriterThread } from '../src/store/writer-thread.js';
import { ConsoleClient } from './console-client.js';
import { Api, startTestHub, type TestHub } from './helpers/hub.js';
import { createIntegrator, TestMqtt } from './helpers/mqtt.js';
import { sqliteOnly } from './helpers/test-store.js';

const P = 'halyard/devices';

describe('idempotency keys', () => {
  let t: TestHub;
  let mqtt: TestMqtt;
  let other: Api;
  before(async () => {
    t = await startTestHub();
    await createIntegrator(t.api, 'erp', 'erp-password');
    mqtt = await TestMqtt.connect(`mqtt://127.0.0.1:${t.hub.mqttPort}`, { username: 'erp', password: 'erp-password' });
    await mqtt.subscribe(`${P}/#`);
    assert.equal((await t.api.post('/operators', { username: 'op-2', password: 'password-123', role: 'operator' })).status, 201);
    other = new Api(t.http);
    await other.login('op-2', 'password-123');
  });
  after(async () => {
    await mqtt.close();
    await t.close();
  });

  it('the same key from different callers creates a command for each', async () => {
    await t.api.provision('idem-cross');
    await mqtt.publish(`${P}/idem-cross/cmd/noop`, JSON.stringify({ id: 'k-1' }));
    const queued = JSON.parse((await mqtt.next(`${P}/idem-cross/cmd/noop/status`, (m) => m.text.includes('"queued"'))).text);
    const admin = await t.api.post(
      '/devices/idem-cross/commands',
      { name: 'open-valve', params: { valve: 2 } },
      { 'idempotency-key': 'k-1' },
    );
    assert.equal(admin.status, 201, JSON.stringify(admin.body));
    assert.equal(admin.body.name, 'open-valve');
    assert.notEqual(admin.body.id, queued.command);
    const op2 = await other.post(
      '/devices/idem-cross/commands',
      { name: 'open-valve', params: { valve: 2 } },
      { 'idempotency-key': 'k-1' },
    );
    assert.equal(op2.status, 201);
    assert.notEqual(op2.body.id, admin.body.id);
    const all = (await t.api.get('/devices/idem-cross/commands')).body.commands as { name: string; createdBy: string; key: string }[];
    assert.deepStrictEqual(
      all.map((c) => [c.name, c.createdBy, c.key]),
      [
        ['open-valve', 'op-2', 'k-1'],
        ['open-valve', 'admin', 'k-1'],
        ['noop', 'mqtt:erp', 'k-1'],
      ],
    );
  });

  it('the same caller, key and request returns the first command (HTTP, console, MQTT)', async () => {
    await t.api.provision('idem-same');
    const body = { name: 'reboot', params: { delay: 5 } };
    const first = await t.api.post('/devices/idem-same/commands', body, { 'idempotency-key': 'same-1' });
    const again = await t.api.post('/devices/idem-same/commands', body, { 'idempotency-key': 'same-1' });
    assert.deepStrictEqual([first.status, again.status, again.body.id], [201, 200, first.body.id]);
    // The console is the same operator: its `key` is the same key.
    const con = await ConsoleClient.open(t.ws, { token: t.api.token as string });
    try {
      const r = await con.request({ t: 'command', device: 'idem-same', ...body, key: 'same-1' });
      assert.equal(r.ok && r.command?.id, first.body.id);
    } finally {
      await con.close();
    }
    const topic = `${P}/idem-same/cmd/reboot`;
    await mqtt.publish(topic, JSON.stringify({ id: 'same-2', params: { delay: 5 } }));
    const created = JSON.parse((await mqtt.next(`${topic}/status`, (m) => m.text.includes('"same-2"'))).text);
    const from = mqtt.received.length;
    await mqtt.publish(topic, JSON.stringify({ id: 'same-2', params: { delay: 5 } }));
    const repeat = JSON.parse((await mqtt.next(`${topic}/status`, () => true, from)).text);
    assert.deepStrictEqual([repeat.id, repeat.command, repeat.status], ['same-2', created.command, 'queued']);
    assert.equal((await t.api.get('/devices/idem-same/commands')).body.commands.length, 2);
  });

  it('the same caller and key with a different request is a conflict (422), and creates nothing', async () => {
    await t.api.provision('idem-diff');
    await t.api.provision('idem-diff-2');
    const ok = await t.api.post('/devices/idem-diff/commands', { name: 'open-valve', params: { valve: 1 } }, { 'idempotency-key': 'd-1' });
    assert.equal(ok.status, 201);
    for (const [device, body] of [
      ['idem-diff', { name: 'open-valve', params: { valve: 2 } }],
      ['idem-diff', { name: 'close-valve', params: { valve: 1 } }],
      ['idem-diff-2', { name: 'open-valve', params: { valve: 1 } }],
    ] as const) {
      const r = await t.api.post(`/devices/${device}/commands`, body, { 'idempotency-key': 'd-1' });
      assert.equal(r.status, 422, JSON.stringify(r.body));
      assert.deepStrictEqual([r.body.error.code, r.body.error.field], ['HUB_ERR_IDEMPOTENCY_CONFLICT', 'Idempotency-Key']);
    }
    const con = await ConsoleClient.open(t.ws, { token: t.api.token as string });
    try {
      const r = await con.request({ t: 'command', device: 'idem-diff', name: 'open-valve', params: { valve: 3 }, key: 'd-1' });
      assert.deepStrictEqual(r.ok ? undefined : [r.error.code, r.error.field], ['HUB_ERR_IDEMPOTENCY_CONFLICT', 'key']);
    } finally {
      await con.close();
    }
    const topic = `${P}/idem-diff/cmd/open-valve`;
    await mqtt.publish(topic, JSON.stringify({ id: 'd-2', params: { valve: 1 } }));
    await mqtt.next(`${topic}/status`, (m) => m.text.includes('"d-2"') && m.text.includes('"queued"'));
    const from = mqtt.received.length;
    await mqtt.publish(topic, JSON.stringify({ id: 'd-2', params: { valve: 9 } }));
    const s = JSON.parse((await mqtt.next(`${topic}/status`, () => true, from)).text);
    assert.deepStrictEqual([s.status, s.code, s.field], ['rejected', 'HUB_ERR_IDEMPOTENCY_CONFLICT', 'id']);
    assert.equal((await t.api.get('/devices/idem-diff/commands')).body.commands.length, 2);
    assert.equal((await t.api.get('/devices/idem-diff-2/commands')).body.commands.length, 0);
  });
});

describe('idempotency keys in the store', {
  skip: sqliteOnly('opens the SQLite writer thread and its migrations; store-conformance.test.ts checks key expiry on PostgreSQL'),
}, () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'halyard-idem-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('expire: a key older than its lifetime creates a new command', async () => {
    const writer = await WriterThread.start<number>({
      path: join(dir, 'expiry.db'),
      cacheMiB: 8,
      retentionMs: 0,
      compactIntervalMs: 60_000,
      compactRows: 1_000_000,
      commitIntervalMs: 2,
      maxBatchFrames: 1000,
      maxFrame: 65536,
    });
    try {
      const T0 = 1_700_000_000_000;
      const dev = await writer.op('createDevice', {
        id: 'd1',
        name: null,
        model: null,
        tags: [],
        secretHash: new Uint8Array(32),
        createdAt: T0,
      });
      const create = (id: string, at: number) =>
        writer.op('createCommand', {
          command: { id, device: dev.rowid, name: 'noop', params: null, key: 'k', createdAt: at, createdBy: 'op', ttl: 1, timeout: 1 },
          maxOpen: 100,
          keyTtl: IDEMPOTENCY_KEY_TTL,
        });
      const a = await create('c-1', T0);
      const b = await create('c-2', T0 + IDEMPOTENCY_KEY_TTL - 1);
      const c = await create('c-3', T0 + IDEMPOTENCY_KEY_TTL);
      assert.deepStrictEqual([a.created, b.created, b.command.id], [true, false, 'c-1']);
      assert.deepStrictEqual([c.created, c.command.id], [true, 'c-3']);
      // And the new command holds the key from then on.
      const d = await create('c-4', T0 + IDEMPOTENCY_KEY_TTL + 1);
      assert.deepStrictEqual([d.created, d.command.id], [false, 'c-3']);
    } finally {
      await writer.close();
    }
  });

  it('migration 4 keeps the keys already used, each for the caller who used it', () => {
    const db = new Database(join(dir, 'migrate.db'));
    try {
      migrate(
        db,
        MIGRATIONS.filter((m) => m.version <= 3),
      );
      for (const id of ['d-1', 'd-2']) {
        db.prepare("INSERT INTO devices (id, name, model, tags, secret_hash, created_at) VALUES (?, NULL, NULL, '[]', x'00', 1)").run(id);
      }
      const insert = db.prepare(
        `INSERT INTO commands (id, device, name, params, state, key, created_at, created_by, ttl, timeout, updated_at)
         VALUES (?, ?, 'noop', 'null', 'queued', ?, 5, ?, 1, 1, 5)`,
      );
      insert.run('c-a', 1, 'k-1', 'mqtt:erp');
      insert.run('c-b', 1, null, 'admin');
      // Keys were per device: one caller could use a key on two devices.
      insert.run('c-c', 1, 'k-2', 'admin');
      insert.run('c-d', 2, 'k-2', 'admin');
      assert.deepStrictEqual(
        migrate(
          db,
          MIGRATIONS.filter((m) => m.version <= 4),
        ),
        [4],
      );
      assert.deepStrictEqual(db.prepare('SELECT scope, key, command, created_at FROM idempotency_keys ORDER BY command').all(), [
        { scope: 'mqtt:erp', key: 'k-1', command: 1, created_at: 5 },
        { scope: 'admin', key: 'k-2', command: 4, created_at: 5 },
      ]);
      // Another caller may now use the same key on the same device.
      insert.run('c-e', 1, 'k-1', 'admin');
    } finally {
      db.close();
    }
  });
});
