import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decode, encode, MessageType, type ResolvedRecord, type SenmlRecord } from '@halyard/firmware-protocol';
import { startPostgres, type TestDatabase, type TestPostgres } from '../../test/helpers/postgres.js';
import { MAIN } from '../../test/helpers/process.js';
import { openDatabase } from '../store/db.js';
import { createPool, query } from '../store/postgres/pool.js';
import { PostgresStore } from '../store/postgres/postgres-store.js';
import { SqliteStore } from '../store/sqlite-store.js';
import type { Store } from '../store/store.js';
import { TelemetryService } from '../telemetry/service.js';
import { sourceBlockPoints, sourceLogPoints } from './copy-telemetry.js';
import { migrateStore, SOURCE_SCHEMA_VERSION } from './migrate-store.js';

interface Meta {
  device: number;
  records: readonly ResolvedRecord[];
}

const T0 = Date.UTC(2026, 10, 28, 6);
const MIN = 60_000;

async function wire(store: Store<Meta>): Promise<TelemetryService> {
  return TelemetryService.start(store.telemetry, { seriesCount: () => 0, hasSeries: () => false }, 1_000);
}

/** The source hub's store: compaction only when the test asks for it. */
function openSource(path: string): Promise<SqliteStore<Meta>> {
  return SqliteStore.open<Meta>({
    path,
    cacheMiB: 16,
    retentionMs: 0,
    compactIntervalMs: 3_600_000,
    compactRows: 100_000_000,
    commitIntervalMs: 2,
    maxBatchFrames: 500,
    maxFrame: 65536,
  });
}

/**
 * A hub's SQLite file made through the store as a hub makes it: devices (one
 * deleted, one revoked), operators, a session, an integrator, commands with their
 * history and idempotency keys, twins, events, presence, audit, a device's HELLO caps,
 * a model profile, an operator's dashboard, and telemetry of
 * every value type, most of it compacted into blocks and the rest left in the log.
 */
async function makeSqliteHub(path: string, frames: number): Promise<void> {
  const store = await openSource(path);
  const dev = (id: string) =>
    store.op('createDevice', {
      id,
      name: `name of ${id}`,
      model: null,
      tags: ['t'],
      secretHash: new Uint8Array(32).fill(id.length),
      createdAt: T0,
    });
  const a = await dev('dev-a');
  const b = await dev('dev-b');
  const gone = await dev('dev-gone');
  await store.op('revokeDevice', { id: 'dev-b', at: T0 + 5 });
  await store.op('recordHello', { rowid: a.rowid, firmware: '1.2.3\u0000beta', model: 'm1', boot: 42, caps: ['cmd:dim', 'cmd:x\u0000y'] });
  await store.op('createOperator', { username: 'root', passwordHash: 'h1', role: 'admin', createdAt: T0 });
  await store.op('createSession', { tokenHash: new Uint8Array(32).fill(3), username: 'root', createdAt: T0, expiresAt: T0 + 86_400_000 });
  await store.op('putModelProfile', {
    model: 'm1',
    doc: {
      commands: [{ name: 'dim', description: 'dim the lamp', params: [{ name: 'level', type: 'number', required: true }] }],
      metrics: [{ name: 'temp', unit: 'Cel', decimals: 1 }],
      desired: [{ name: 'mode', type: 'enum', values: ['eco', 'off'] }],
    },
    updatedAt: T0 + 3,
    updatedBy: 'root',
    max: 10,
  });
  await store.op('putDashboard', {
    username: 'root',
    doc: {
      panels: [
        { kind: 'count', title: 'By status', by: 'status' },
        { kind: 'events', title: 'Latest', limit: 5 },
      ],
    },
    updatedAt: T0 + 4,
  });
  await store.op('putAlarmRule', {
    id: 'hot',
    name: 'Too hot\u0000',
    enabled: true,
    severity: 'critical',
    selector: { devices: ['dev-a'] },
    condition: { kind: 'metric', metric: 'temp', above: 30, for: 10_000, hysteresis: 2 },
    minDuration: 0,
    createdAt: T0,
    createdBy: 'root',
    updatedAt: T0,
    updatedBy: 'root',
  });
  const alarm = (id: string, device: string) => ({
    id,
    rule: 'hot',
    ruleName: 'Too hot',
    device,
    severity: 'critical' as const,
    state: 'active' as const,
    kind: 'metric' as const,
    message: 'temp 31 above 30',
    raisedAt: T0 + 6,
    raisedValue: 31,
    acknowledgedAt: null,
    acknowledgedBy: null,
    note: null,
    clearedAt: null,
    clearedBy: null,
    clearedValue: null,
    flaps: 0,
    updatedAt: T0 + 6,
    history: [{ action: 'raised' as const, at: T0 + 6, by: null, note: null, value: 31 }],
  });
  await store.op('raiseAlarm', { device: a.rowid, info: alarm('al-a', 'dev-a') });
  await store.op('stepAlarm', { id: 'al-a', action: 'acknowledged', at: T0 + 7, by: 'root', note: 'seen', value: null });
  await store.op('raiseAlarm', { device: gone.rowid, info: alarm('al-gone', 'dev-gone') });
  await store.op('putWebhook', {
    id: 'wh-1',
    name: 'ops\u0000',
    url: 'https://hooks.example/halyard',
    secret: 'whsec_test',
    events: ['alarm', 'device.offline'],
    alarmSeverities: ['critical'],
    alarmRules: null,
    enabled: true,
    createdAt: T0,
    createdBy: 'root',
    updatedAt: T0,
  });
  await store.op('enqueueDeliveries', {
    deliveries: [
      { id: 'dl-1', webhook: 'wh-1', event: 'alarm', body: '{"id":"dl-1"}', createdAt: T0 + 1 },
      { id: 'dl-2', webhook: 'wh-1', event: 'device.offline', body: '{"id":"dl-2"}', createdAt: T0 + 2 },
    ],
    maxPending: 10,
  });
  await store.op('recordAttempt', { id: 'dl-1', at: T0 + 3, status: 200, error: null, delivered: true, nextAt: null });
  await store.op('createIntegrator', { username: 'node-red', passwordHash: 'p', acl: { subscribe: ['a/#'], publish: [] }, createdAt: T0 });
  await store.op('audit', { at: T0, actor: 'root', action: 'device.create', target: 'dev-a', detail: { why: 'test' } });
  const cmd = (id: string, device: number, key: string | null) =>
    store.op('createCommand', {
      command: { id, device, name: 'dim', params: { level: 3 }, key, createdAt: T0 + 10, createdBy: 'root', ttl: 60_000, timeout: 5_000 },
      maxOpen: 10,
      keyTtl: 86_400_000,
    });
  await cmd('c1', a.rowid, 'k1');
  await cmd('c2', a.rowid, null);
  await cmd('c-gone', gone.rowid, 'k2');
  await store.op('transitionCommands', [
    { id: 'c1', to: 'sent', at: T0 + 20 },
    { id: 'c1', to: 'succeeded', at: T0 + 22, result: { ok: true } },
    { id: 'c2', to: 'expired', at: T0 + 30, error: 'gone\u0000' },
  ]);
  await store.op('patchDesired', { device: a.rowid, patch: { mode: 'eco', fan: 2 }, ifMatch: undefined, now: T0 + 40, maxFrame: 65536 });
  await store.op('recordPresence', [
    { device: a.rowid, online: true, reason: 'connected', code: null, at: T0 + 1 },
    { device: a.rowid, online: false, reason: 'closed', code: 1000, at: T0 + 2 },
  ]);

  let seq = 0;
  const frame = (device: number, now: number, type: number, msg: object) => {
    const bytes = encode({ type, seq: ++seq, ...msg } as never);
    const r = decode(bytes, { now, accept: 'uplink' });
    assert.ok(r.ok);
    const records = r.message.type === MessageType.Telemetry ? r.message.records : [];
    store.ingest(device, seq, now, type, bytes, { device, records });
  };
  const telemetry = (device: number, now: number, pack: SenmlRecord[]) => frame(device, now, MessageType.Telemetry, { pack });
  const batch = (from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const now = T0 + i * MIN;
      telemetry(a.rowid, now, [
        { n: 'temp', u: 'Cel', v: (i % 10) + 0.5, t: 0 },
        { n: 'state', vs: i % 3 ? 'on' : 'off\u0000' },
        { n: 'door', vb: i % 2 === 0 },
      ]);
      if (i % 50 === 0) telemetry(b.rowid, now, [{ n: 'blob', vd: new Uint8Array([i % 256, 0, 255]) }]);
      if (i % 100 === 0) telemetry(gone.rowid, now, [{ n: 'temp', v: i }]);
    }
  };
  batch(0, frames);
  frame(a.rowid, T0 + frames * MIN, MessageType.Event, { name: 'door', level: 2, data: { open: true } });
  frame(a.rowid, T0 + frames * MIN, MessageType.Reported, { patch: { mode: 'eco', fw: '1.2.3' } });
  await store.drain();
  await store.compactNow();
  // The rest stays in the frame log (a series only the log knows included).
  batch(frames, frames + 150);
  telemetry(b.rowid, T0 + frames * MIN, [{ n: 'late', u: 'V', v: 1.25 }]);
  // A unit that changes in the log: the newest point's wins.
  telemetry(a.rowid, T0 + (frames + 150) * MIN, [{ n: 'temp', u: 'K', v: 300 }]);
  await store.drain();
  // A firmware image in two chunks, an update of dev-a using it, and one of dev-gone (not copied).
  const fw = await store.op('beginFirmware', {
    image: { id: 'fw-0011223344556677', model: 'm1', version: '2.0', notes: 'n', chunkSize: 4, createdAt: T0, createdBy: 'root' },
    staleBefore: 0,
  });
  await store.op('putFirmwareChunk', { image: fw.rowid, n: 0, data: new Uint8Array([1, 2, 3, 4]), at: T0 });
  await store.op('putFirmwareChunk', { image: fw.rowid, n: 1, data: new Uint8Array([5]), at: T0 });
  await store.op('finishFirmware', { image: fw.rowid, size: 5, sha256: new Uint8Array(32).fill(1), signature: new Uint8Array(64).fill(2) });
  for (const [id, device] of [
    ['u-000000000001', a.rowid],
    ['u-000000000002', gone.rowid],
  ] as const)
    await store.op('createDeviceUpdate', {
      id,
      device,
      firmware: fw.rowid,
      job: null,
      fromFw: '1.2.3\u0000beta',
      toFw: '2.0',
      createdAt: T0 + 50,
      createdBy: 'root',
    });
  await store.op('transitionUpdate', { id: 'u-000000000001', to: 'downloading', progress: 4, now: T0 + 51 });
  await store.op('deleteDevice', { id: 'dev-gone' });
  await store.close();
}

/** What a hub answers from a store: devices (caps too), model profiles, dashboards, commands, twins, events, presence, and telemetry queries. */
async function answers(store: Store<Meta>): Promise<unknown> {
  const telemetry = await wire(store);
  const devices = await store.listDevices();
  const out: Record<string, unknown> = { devices, operators: await store.listOperators(), integrators: await store.listIntegrators() };
  out.session = await store.getSession(new Uint8Array(32).fill(3));
  out.audit = await store.listAudit({ limit: 100 });
  out.open = await store.openCommands();
  out.events = await store.listEvents({ limit: 100 });
  out.profiles = await store.listModelProfiles();
  out.profile = (await store.getModelProfile('m1')) ?? null;
  out.dashboard = (await store.getDashboard('root')) ?? null;
  const firmware = await store.listFirmware();
  const image = firmware[0]?.rowid ?? 0;
  out.firmware = firmware;
  out.firmwareChunks = [await store.firmwareChunk(image, 0), await store.firmwareChunk(image, 1)];
  out.updates = await store.openDeviceUpdates();
  out.alarmRules = await store.listAlarmRules();
  out.alarms = await store.listAlarms({ limit: 100 });
  out.webhooks = await store.listWebhooks();
  out.deliveries = await store.listDeliveries({ webhook: 'wh-1', limit: 100 });
  out.due = await store.dueDeliveries({ webhook: 'wh-1', now: T0 + 10, limit: 100 });
  for (const d of devices) {
    const series = (await telemetry.series(d.rowid)).sort((x, y) => x.name.localeCompare(y.name));
    const per: Record<string, unknown> = {
      commands: await store.listCommands({ device: d.rowid, limit: 100 }),
      twin: await store.readTwin(d.rowid),
      presence: await store.listPresence(d.rowid, d.id, 100),
      latest: await telemetry.latest(d.rowid),
      series: series.map((s) => [s.name, s.unit]),
    };
    for (const s of series) {
      per[`raw ${s.name}`] = await telemetry.raw(d.rowid, s, T0 - MIN, T0 + 10_000 * MIN, 100_000);
      per[`buckets ${s.name}`] = await telemetry.buckets(d.rowid, s, T0, T0 + 3000 * MIN, 3_600_000);
    }
    out[d.id] = per;
  }
  return normal(out);
}

/** Series ids of series only the log knew differ between engines; bytes compare as bytes. */
function normal(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(normal);
  if (v instanceof Map) return new Map([...v].sort(([x], [y]) => String(x).localeCompare(String(y))).map(([k, x]) => [k, normal(x)]));
  if (v instanceof Uint8Array) return new Uint8Array(v);
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (!(k === 'id' && typeof x === 'number')) out[k] = normal(x);
  return out;
}

/** The answers of a SQLite hub on the file; `compact` first compacts (on a copy, so the source stays as it was). */
async function sqliteAnswers(path: string, compact = false): Promise<unknown> {
  if (compact) {
    const copy = `${path}.compacted`;
    for (const suffix of ['', '-wal']) if (existsSync(`${path}${suffix}`)) copyFileSync(`${path}${suffix}`, `${copy}${suffix}`);
    path = copy;
  }
  const s = await openSource(path);
  try {
    if (compact) await s.compactNow();
    return await answers(s);
  } finally {
    await s.close();
  }
}

async function postgresAnswers(url: string): Promise<unknown> {
  const s = await PostgresStore.open<Meta>({
    url,
    commitIntervalMs: 2,
    maxBatchFrames: 50,
    maxFrame: 65536,
    retentionMs: 0,
    maintenanceIntervalMs: 0,
  });
  try {
    return await answers(s);
  } finally {
    await s.close();
  }
}

async function pointsBySeries(url: string): Promise<{ series: number; n: number; distinct: number }[]> {
  const pool = createPool(url);
  try {
    return await query(
      pool,
      'test',
      'SELECT series, count(*)::bigint AS n, count(DISTINCT ts)::bigint AS distinct FROM telemetry GROUP BY series ORDER BY series',
    );
  } finally {
    await pool.end();
  }
}

describe('migrate-store: SQLite to PostgreSQL', () => {
  let server: TestPostgres | undefined;
  let dir: string | undefined;
  let path: string;
  let expected: unknown;
  const dbs: TestDatabase[] = [];

  /** Why the tests skip: no PostgreSQL on this machine (as store-conformance.test.ts skips). */
  let missing: string | undefined;

  before(async () => {
    try {
      server = await startPostgres({ fsync: false });
    } catch (err) {
      const msg = (err as Error).message;
      if (!/PostgreSQL not found|no postgres user/.test(msg)) throw err;
      missing = `PostgreSQL not available: ${msg}`;
      return;
    }
    dir = mkdtempSync(join(tmpdir(), 'halyard-migrate-'));
    path = join(dir, 'halyard.db');
    await makeSqliteHub(path, 3000);
    const src = openDatabase(path, { readonly: true });
    try {
      assert.ok(sourceBlockPoints(src) > 8000, 'compacted blocks');
      assert.ok(sourceLogPoints(src) > 400, 'an uncompacted frame log');
    } finally {
      src.close();
    }
    // As the SQLite hub answers once it has compacted: a unit that changed in the
    // frame log shows only then (the series row changes at compaction).
    expected = await sqliteAnswers(path, true);
  });
  after(async () => {
    for (const d of dbs) await d.drop();
    await server?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('copies everything; the hub gets the same answers from PostgreSQL', async (t) => {
    if (missing !== undefined) return t.skip(missing);
    const db = await (server as TestPostgres).newDatabase();
    dbs.push(db);
    const lines: string[] = [];
    const r = await migrateStore({ from: path, to: db.url, write: (l) => lines.push(l) });
    assert.ok(r.ok, lines.join('\n'));
    assert.ok(
      lines.some((l) => /^migrate-store: telemetry [\d,]+\/[\d,]+ points .* points\/s/.test(l)),
      'a progress line',
    );
    assert.ok(lines.some((l) => /check telemetry .* ok$/.test(l)));
    const got = (await postgresAnswers(db.url)) as Record<string, unknown>;
    assert.deepEqual(got, expected);
    // What was added to both engines after migrate-store was written is there, not just equally absent.
    const devA = (got.devices as { id: string; caps: string[] }[]).find((d) => d.id === 'dev-a');
    assert.deepEqual(devA?.caps, ['cmd:dim', 'cmd:x\u0000y']);
    assert.equal((got.profile as { updatedBy: string } | null)?.updatedBy, 'root');
    assert.equal((got.dashboard as { doc: { panels: unknown[] } } | null)?.doc.panels.length, 2);
    assert.equal((got.firmware as unknown[]).length, 1);
    assert.deepEqual(
      (got.updates as { id: string; state: string; fromFw: string }[]).map((u) => [u.id, u.state, u.fromFw]),
      [['u-000000000001', 'downloading', '1.2.3\u0000beta']],
    );
    assert.deepEqual(
      (got.alarms as { info: { id: string; state: string } }[]).map((x) => [x.info.id, x.info.state]),
      [['al-a', 'acknowledged']],
    );
    assert.equal((got.alarmRules as { name: string }[])[0]?.name, 'Too hot\u0000');
    assert.equal((got.webhooks as { secret: string }[])[0]?.secret, 'whsec_test');
    assert.deepEqual(
      (got.deliveries as { id: string; state: string }[]).map((x) => [x.id, x.state]),
      [
        ['dl-2', 'pending'],
        ['dl-1', 'delivered'],
      ],
    );
    for (const table of [
      'devices',
      'model_profiles',
      'dashboards',
      'firmware',
      'firmware_chunks',
      'device_updates',
      'alarm_rules',
      'alarms',
      'webhooks',
      'webhook_deliveries',
    ]) {
      assert.ok(
        lines.some((l) => new RegExp(`check ${table} +sqlite +[1-9]\\d* +postgres +[1-9]\\d* +ok$`).test(l)),
        `${table} counted: ${lines.join('\n')}`,
      );
    }

    // A row lost on the PostgreSQL side shows in the count check (and in the exit code, via ok).
    const pool = createPool(db.url);
    try {
      await query(pool, 'test', 'DELETE FROM presence WHERE id = (SELECT min(id) FROM presence)');
    } finally {
      await pool.end();
    }
    const lines2: string[] = [];
    const again = await migrateStore({ from: path, to: db.url, write: (l) => lines2.push(l) });
    assert.equal(again.ok, false);
    assert.ok(
      lines2.some((l) => /check presence .* MISMATCH$/.test(l)),
      lines2.join('\n'),
    );
  });

  it('copies the rollups older than the raw points, and only those', async (t) => {
    if (missing !== undefined) return t.skip(missing);
    const copy = join(dir as string, 'rollups.db');
    for (const suffix of ['', '-wal']) if (existsSync(`${path}${suffix}`)) copyFileSync(`${path}${suffix}`, `${copy}${suffix}`);
    const H = 3_600_000;
    const src = openDatabase(copy);
    let first: { series: number; t0: number; device: number };
    try {
      first = src
        .prepare(
          'SELECT b.series, min(b.t0) AS t0, s.device FROM telemetry_blocks b JOIN series s ON s.id = b.series GROUP BY b.series ORDER BY b.series LIMIT 1',
        )
        .get() as typeof first;
      const ins = src.prepare(
        'INSERT OR REPLACE INTO telemetry_rollups (series, width, t, n, nnum, sum, min, max, last_t, last_v, last_x) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      );
      // A day before the raw points (as if retention had dropped them), and one over them.
      const old = Math.floor(first.t0 / H) * H - 24 * H;
      ins.run(first.series, H, old, 3, 2, 5, 1, 4, old + 10, null, 'txt');
      ins.run(first.series, H, Math.floor(first.t0 / H) * H, 99, 99, 1, 1, 1, first.t0, 1, null);
    } finally {
      src.close();
    }
    const db = await (server as TestPostgres).newDatabase();
    dbs.push(db);
    const lines: string[] = [];
    const r = await migrateStore({ from: copy, to: db.url, write: (l) => lines.push(l) });
    assert.ok(r.ok, lines.join('\n'));
    assert.ok(
      lines.some((l) => /check telemetry_rollups +sqlite +1 +postgres +1 +ok$/.test(l)),
      lines.join('\n'),
    );
    const store = await PostgresStore.open<Meta>({
      url: db.url,
      commitIntervalMs: 2,
      maxBatchFrames: 50,
      maxFrame: 65536,
      retentionMs: 0,
      maintenanceIntervalMs: 0,
    });
    try {
      const telemetry = await wire(store);
      const s = (await telemetry.series(first.device)).find((x) => x.id === first.series);
      assert.ok(s);
      const old = Math.floor(first.t0 / H) * H - 24 * H;
      assert.deepEqual(await telemetry.buckets(first.device, s, old, old + H - 1, H), [
        { t: old, count: 3, avg: 2.5, min: 1, max: 4, last: 'txt' },
      ]);
    } finally {
      await store.close();
    }
  });

  it('an interrupted copy, rerun, completes with exact counts and no point twice', async (t) => {
    if (missing !== undefined) return t.skip(missing);
    const db = await (server as TestPostgres).newDatabase();
    dbs.push(db);
    const lines: string[] = [];
    await assert.rejects(migrateStore({ from: path, to: db.url, write: (l) => lines.push(l), failAfterChunks: 2 }), /injected/);
    const partial = await pointsBySeries(db.url);
    assert.ok(partial.length > 0, 'some telemetry was copied before the failure');
    const r = await migrateStore({ from: path, to: db.url, write: (l) => lines.push(l) });
    assert.ok(r.ok, lines.join('\n'));
    for (const s of await pointsBySeries(db.url)) assert.equal(s.n, s.distinct, `series ${s.series}: no duplicate`);
    // A third run copies nothing more.
    const again = await migrateStore({ from: path, to: db.url, write: () => {} });
    assert.ok(again.ok);
    assert.deepEqual(again.counts, r.counts);
    assert.deepEqual(await postgresAnswers(db.url), expected);
  });

  it('interrupted after every chunk, blocks and frame log alike, it still ends exact', async (t) => {
    if (missing !== undefined) return t.skip(missing);
    const db = await (server as TestPostgres).newDatabase();
    dbs.push(db);
    let failures = 0;
    for (;;) {
      try {
        const r = await migrateStore({ from: path, to: db.url, write: () => {}, failAfterChunks: 1 });
        assert.ok(r.ok);
        break;
      } catch (err) {
        assert.match((err as Error).message, /injected/);
        failures++;
        assert.ok(failures < 100, 'makes progress');
      }
    }
    // Block chunks of 32 blocks (5 here), then the log (2: its generation, then the end).
    assert.ok(failures >= 6, `interrupted ${failures} times`);
    for (const s of await pointsBySeries(db.url)) assert.equal(s.n, s.distinct, `series ${s.series}: no duplicate`);
    assert.deepEqual(await postgresAnswers(db.url), expected);
  });

  it('refuses a source whose schema is not the one it copies', async (t) => {
    if (missing !== undefined) return t.skip(missing);
    const db = await (server as TestPostgres).newDatabase();
    dbs.push(db);
    const old = `${path}.old`;
    for (const suffix of ['', '-wal']) if (existsSync(`${path}${suffix}`)) copyFileSync(`${path}${suffix}`, `${old}${suffix}`);
    const set = (v: number) => {
      const w = openDatabase(old);
      try {
        w.pragma(`user_version = ${v}`);
      } finally {
        w.close();
      }
    };
    const v = SOURCE_SCHEMA_VERSION;
    set(v - 1);
    await assert.rejects(
      migrateStore({ from: old, to: db.url, write: () => {} }),
      new RegExp(`schema ${v - 1}, this hub's is ${v}\\): start this hub on it once first`),
    );
    set(v + 1);
    await assert.rejects(migrateStore({ from: old, to: db.url, write: () => {} }), new RegExp(`newer hub \\(schema ${v + 1}`));
  });

  it('refuses a file a hub is writing to', async (t) => {
    if (missing !== undefined) return t.skip(missing);
    const db = await (server as TestPostgres).newDatabase();
    dbs.push(db);
    const writer = openDatabase(path);
    try {
      writer.exec('BEGIN IMMEDIATE');
      await assert.rejects(migrateStore({ from: path, to: db.url, write: () => {} }), /being written to.*stop the hub/);
    } finally {
      writer.exec('ROLLBACK');
      writer.close();
    }
  });

  it('the CLI: killed mid-telemetry, rerun; refuses another hub database; exit codes', async (t) => {
    if (missing !== undefined) return t.skip(missing);
    const db = await (server as TestPostgres).newDatabase();
    dbs.push(db);
    const run = (args: string[], killOn?: RegExp) =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const p = spawn(process.execPath, [MAIN, 'migrate-store', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        p.stderr.on('data', (b: Buffer) => {
          stderr += b.toString();
          if (killOn?.test(stderr)) p.kill('SIGKILL');
        });
        p.on('exit', (code) => resolve({ code, stderr }));
      });
    const killed = await run(['--from', path, '--to', db.url], /migrate-store: telemetry /);
    assert.equal(killed.code, null, 'killed');
    const done = await run(['--from', path, '--to', db.url]);
    assert.equal(done.code, 0, done.stderr);
    assert.match(done.stderr, /check telemetry +sqlite +\d+ +postgres +\d+ +ok/);
    for (const s of await pointsBySeries(db.url)) assert.equal(s.n, s.distinct);

    // A database holding another hub is refused.
    const otherHub = mkdtempSync(join(tmpdir(), 'halyard-migrate-other-'));
    try {
      const op = join(otherHub, 'halyard.db');
      await makeSqliteHubMinimal(op);
      const refused = await run(['--from', op, '--to', db.url]);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /another hub.*--force/);
    } finally {
      rmSync(otherHub, { recursive: true, force: true });
    }
    assert.equal((await run(['--from', path])).code, 2);
  });
});

/** A hub with one operator of its own. */
async function makeSqliteHubMinimal(path: string): Promise<void> {
  const store = await openSource(path);
  await store.op('createOperator', { username: 'eve', passwordHash: 'h', role: 'admin', createdAt: T0 + 99 });
  await store.close();
}
