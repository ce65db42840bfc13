// The Store contract (store.ts), the same cases against every engine: SQLite (the
// writer thread) and PostgreSQL (postgres/postgres-store.ts). Each engine's answers
// are checked against the expectations here and against each other's: a hub must
// not be able to tell which engine it runs on. Row ids are left out of the
// comparison (PostgreSQL identities are not transactional: a refused insert uses
// one up). The PostgreSQL part is skipped, saying why, only where the PostgreSQL
// binaries are missing (and HALYARD_TEST_PG_URL is unset).

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  type AlarmInfo,
  type AlarmRule,
  decode,
  encode,
  MessageType,
  type ResolvedRecord,
  type SenmlRecord,
} from '@halyard/firmware-protocol';
import { startPostgres, type TestPostgres } from '../../test/helpers/postgres.js';
import { SQLITE_TEST_OPTIONS } from '../../test/helpers/test-store.js';
import { HubError } from '../errors.js';
import { BucketAccumulator } from '../telemetry/buckets.js';
import { TelemetryService } from '../telemetry/service.js';
import { PostgresStore } from './postgres/postgres-store.js';
import { SqliteStore } from './sqlite-store.js';
import type { PointValue, Store } from './store.js';

interface Meta {
  device: number;
  records: readonly ResolvedRecord[];
}

/** A store with the hub's telemetry service wired to it as hub.ts wires it. */
interface Engine {
  store: Store<Meta>;
  telemetry: TelemetryService;
  /** Compacts the scenario's day into blocks where the engine keeps raw rows first (PostgreSQL); returns the points compacted. */
  compactDay?: () => Promise<number>;
  close(): Promise<void>;
}

const T0 = Date.UTC(2026, 10, 30, 6);
const SECRET = new Uint8Array(32).fill(7);

async function wire(store: Store<Meta>): Promise<TelemetryService> {
  const telemetry = await TelemetryService.start(store.telemetry, { seriesCount: () => 0, hasSeries: () => false }, 1_000);
  store.on('committed', (o) => {
    if (o.result) for (const m of o.metas) telemetry.committed(o.result.gen, m.device, m.records);
  });
  store.on('compacted', (gen) => telemetry.compacted(gen));
  return telemetry;
}

/** Drops engine-assigned row ids (numbers under rowid, deviceRowid, id, device, firmware) so answers compare across engines. */
function normal(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(normal);
  if (v instanceof Map) return new Map([...v].map(([k, x]) => [k, normal(x)]));
  // SQLite hands bytes back as a Buffer from compacted blocks, a Uint8Array from the tail: the bytes count.
  if (v instanceof Uint8Array) return new Uint8Array(v);
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if ((k === 'rowid' || k === 'deviceRowid' || k === 'id' || k === 'device' || k === 'firmware') && typeof x === 'number') continue;
    out[k] = normal(x);
  }
  return out;
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    assert.ok(err instanceof HubError, `a HubError, not ${String(err)}`);
    return err.code;
  }
}

/** Every case, run on one engine; returns its answers for the comparison across engines. */
async function scenario(e: Engine): Promise<Record<string, unknown>> {
  const { store, telemetry } = e;
  const out: Record<string, unknown> = {};
  const newDevice = (id: string) =>
    store.op('createDevice', { id, name: null, model: null, tags: ['t'], secretHash: SECRET, createdAt: T0 });

  // Devices.
  const a = await newDevice('dev-a');
  out.duplicate = await code(newDevice('dev-a'));
  assert.equal(out.duplicate, 'HUB_ERR_DEVICE_EXISTS');
  const b = await newDevice('Dev-B');
  const c = await newDevice('dev-c');
  out.updated = await store.op('updateDevice', { id: 'dev-a', patch: { name: 'Alpha', tags: ['x', 'y'] } });
  out.updateUnknown = await code(store.op('updateDevice', { id: 'nope', patch: {} }));
  out.revoked = await store.op('revokeDevice', { id: 'Dev-B', at: T0 + 5 });
  out.revokedAgain = await store.op('revokeDevice', { id: 'Dev-B', at: T0 + 9 });
  out.rotated = await store.op('setSecret', { id: 'Dev-B', secretHash: new Uint8Array(32).fill(1), unrevoke: true });
  // Any text from a device (SPEC.md §3.5), U+0000 included.
  await store.op('recordHello', { rowid: a.rowid, firmware: '1.2.3\u0000beta', model: 'm1', boot: 42 });
  // HELLO caps (SPEC.md §5.1): kept as declared, in order, any text; a HELLO without caps clears them.
  await store.op('recordHello', { rowid: c.rowid, firmware: '2', model: 'm2', boot: null, caps: ['twin', 'cmd:reboot', 'x\u0000y'] });
  out.caps = (await store.listDevices()).find((d) => d.id === 'dev-c')?.caps;
  assert.deepEqual(out.caps, ['twin', 'cmd:reboot', 'x\u0000y']);
  await store.op('recordHello', { rowid: b.rowid, firmware: '2', model: 'm2', boot: null, caps: ['a'] });
  await store.op('recordHello', { rowid: b.rowid, firmware: '2', model: 'm2', boot: null });
  out.capsCleared = (await store.listDevices()).find((d) => d.id === 'Dev-B')?.caps;
  assert.deepEqual(out.capsCleared, []);
  await store.op('touchDevices', [
    { rowid: a.rowid, lastSeen: T0 + 100, rtt: 12 },
    { rowid: a.rowid, lastSeen: T0 + 50, rtt: null },
    { rowid: b.rowid, lastSeen: T0 + 70, rtt: null },
  ]);
  out.devices = await store.listDevices();
  assert.deepEqual(
    (out.devices as { id: string }[]).map((d) => d.id),
    ['Dev-B', 'dev-a', 'dev-c'],
    'byte order',
  );

  // Operators, sessions, audit.
  await store.op('createOperator', { username: 'root', passwordHash: 'h1', role: 'admin', createdAt: T0 });
  await store.op('createOperator', { username: 'ann', passwordHash: 'h2', role: 'operator', createdAt: T0 + 1 });
  out.opDuplicate = await code(store.op('createOperator', { username: 'ann', passwordHash: 'x', role: 'viewer', createdAt: T0 }));
  out.lastAdmin = await code(store.op('updateOperator', { username: 'root', patch: { role: 'viewer' } }));
  out.lastAdminDelete = await code(store.op('deleteOperator', { username: 'root' }));
  const token = new Uint8Array(32).fill(3);
  await store.op('createSession', { tokenHash: token, username: 'ann', createdAt: T0, expiresAt: T0 + 1000 });
  out.session = await store.getSession(token);
  out.demoted = await store.op('updateOperator', { username: 'ann', patch: { role: 'viewer' } });
  out.sessionAfterDemotion = (await store.getSession(token)) ?? null;
  assert.equal(out.sessionAfterDemotion, null);
  await store.op('createSession', { tokenHash: token, username: 'ann', createdAt: T0, expiresAt: T0 + 1000 });
  await store.op('deleteSession', { tokenHash: token });
  out.sessionDeleted = (await store.getSession(token)) ?? null;
  out.operators = await store.listOperators();
  out.operatorCount = await store.countOperators();
  out.operatorUnknown = await code(store.op('deleteOperator', { username: 'ghost' }));
  for (let i = 0; i < 5; i++)
    await store.op('audit', {
      at: T0 + i,
      actor: i % 2 ? 'ann' : 'root',
      action: `${i < 3 ? 'job' : 'device'}.a${i}`,
      target: i ? `t${i}` : null,
      detail: i ? { i } : null,
    });
  out.audit = await store.listAudit({ limit: 10 });

  // Model profiles: created, replaced whole, read one and all in byte order; the
  // document comes back as written (key order too).
  const profileDoc = {
    commands: [{ name: 'set', description: 'set the relay', params: [{ name: 'on', type: 'boolean' as const, required: true }] }],
    metrics: [{ name: 'temp', unit: 'Cel', decimals: 1 }],
    desired: [{ name: 'mode', type: 'enum' as const, values: ['heat', 'off'] }],
  };
  out.profileNone = (await store.getModelProfile('relay-2')) ?? null;
  out.profileCreated = await store.op('putModelProfile', { model: 'relay-2', doc: profileDoc, updatedAt: T0, updatedBy: 'ann', max: 2 });
  const empty = { commands: [], metrics: [], desired: [] };
  await store.op('putModelProfile', { model: 'Zeta', doc: empty, updatedAt: T0, updatedBy: 'ann', max: 2 });
  // At the cap a new model is refused; one that has a profile is still rewritten.
  await assert.rejects(
    store.op('putModelProfile', { model: 'Omega', doc: empty, updatedAt: T0, updatedBy: 'ann', max: 2 }),
    (e: unknown) => (e as { code?: string }).code === 'HUB_ERR_QUEUE_FULL',
  );
  out.profileReplaced = await store.op('putModelProfile', {
    model: 'relay-2',
    doc: { ...profileDoc, metrics: [] },
    updatedAt: T0 + 1,
    updatedBy: 'root',
    max: 2,
  });
  out.profile = await store.getModelProfile('relay-2');
  out.profiles = await store.listModelProfiles();
  assert.deepEqual(
    (out.profiles as { model: string }[]).map((p) => p.model),
    ['Zeta', 'relay-2'],
    'byte order',
  );
  assert.deepEqual(out.profile, { model: 'relay-2', doc: { ...profileDoc, metrics: [] }, updatedAt: T0 + 1, updatedBy: 'root' });
  // Dashboards: none, then saved, replaced whole (key order kept), each operator's own.
  const board = { panels: [{ kind: 'count' as const, title: 'By status', by: 'status' as const }] };
  out.dashboardNone = (await store.getDashboard('root')) ?? null;
  out.dashboardSaved = await store.op('putDashboard', { username: 'root', doc: board, updatedAt: T0 });
  out.dashboardReplaced = await store.op('putDashboard', {
    username: 'root',
    doc: { panels: [...board.panels, { kind: 'events' as const, title: 'Latest', limit: 5 }] },
    updatedAt: T0 + 1,
  });
  out.dashboardOther = (await store.getDashboard('ann')) ?? null;
  assert.equal(out.dashboardOther, null, "one operator's save is not another's");
  await store.op('createOperator', { username: 'gone', passwordHash: 'h3', role: 'viewer', createdAt: T0 });
  await store.op('putDashboard', { username: 'gone', doc: board, updatedAt: T0 });
  await store.op('deleteOperator', { username: 'gone' });
  out.dashboardOfDeleted = (await store.getDashboard('gone')) ?? null;
  assert.equal(out.dashboardOfDeleted, null, 'a dashboard goes with its operator');
  out.dashboard = await store.getDashboard('root');
  assert.deepEqual(out.dashboard, {
    username: 'root',
    doc: { panels: [...board.panels, { kind: 'events', title: 'Latest', limit: 5 }] },
    updatedAt: T0 + 1,
  });
  const auditIds = (out.audit as { id: number }[]).map((r) => r.id);
  out.auditPage = await store.listAudit({ limit: 2, beforeId: auditIds[1] as number });
  out.auditByActor = await store.listAudit({ limit: 10, actor: 'ann' });
  out.auditByFamily = await store.listAudit({ limit: 10, action: 'job.' });
  out.auditByAction = await store.listAudit({ limit: 10, action: 'device.a3' });
  out.auditByTarget = await store.listAudit({ limit: 10, target: 't2' });
  out.auditNarrowed = await store.listAudit({ limit: 10, action: 'job.', actor: 'ann' });
  const actions = (k: string) => (out[k] as { action: string }[]).map((r) => r.action);
  assert.deepEqual(
    [actions('auditByFamily'), actions('auditByAction'), actions('auditByTarget'), actions('auditNarrowed')],
    [['job.a2', 'job.a1', 'job.a0'], ['device.a3'], ['job.a2'], ['job.a1']],
  );

  // Integrators.
  await store.op('createIntegrator', { username: 'node-red', passwordHash: 'p', acl: { subscribe: ['a/#'], publish: [] }, createdAt: T0 });
  await store.op('createIntegrator', { username: 'grafana', passwordHash: 'q', acl: null, createdAt: T0 });
  out.integratorDuplicate = await code(store.op('createIntegrator', { username: 'grafana', passwordHash: 'q', acl: null, createdAt: T0 }));
  out.integrators = await store.listIntegrators();
  out.integrator = await store.getIntegrator('node-red');
  await store.op('deleteIntegrator', { username: 'grafana' });
  out.integratorUnknown = await code(store.op('deleteIntegrator', { username: 'grafana' }));

  // Commands: idempotency per caller, the open limit, the state machine, history.
  const cmd = (id: string, key: string | null, by = 'ann', params: object = { level: 3 }) =>
    store.op('createCommand', {
      command: {
        id,
        device: a.rowid,
        name: 'dim',
        params: params as never,
        key,
        createdAt: T0 + 10,
        createdBy: by,
        ttl: 60_000,
        timeout: 5_000,
      },
      maxOpen: 3,
      keyTtl: 86_400_000,
    });
  out.created = await cmd('c1', 'k1');
  out.repeated = await cmd('c1-again', 'k1');
  assert.equal((out.repeated as { created: boolean }).created, false);
  out.conflict = await code(cmd('c1-other', 'k1', 'ann', { level: 4 }));
  assert.equal(out.conflict, 'HUB_ERR_IDEMPOTENCY_CONFLICT');
  out.otherCaller = await cmd('c2', 'k1', 'root');
  await cmd('c3', null);
  out.queueFull = await code(cmd('c4', null));
  assert.equal(out.queueFull, 'HUB_ERR_QUEUE_FULL');
  out.moved = await store.op('transitionCommands', [
    { id: 'c1', to: 'sent', at: T0 + 20 },
    { id: 'c1', to: 'accepted', at: T0 + 21 },
    { id: 'c1', to: 'succeeded', at: T0 + 22, result: { ok: true, v: [1, 2] } },
    { id: 'c1', to: 'failed', at: T0 + 23, error: 'too late' },
    { id: 'c2', to: 'expired', at: T0 + 30, error: 'gone\u0000' },
    { id: 'missing', to: 'sent', at: T0 },
  ]);
  assert.equal((out.moved as unknown[]).length, 4, 'the refused and unknown moves are skipped');
  out.command = await store.getCommand('c1');
  out.commandUnknown = (await store.getCommand('nope')) ?? null;
  out.commandsAll = await store.listCommands({ device: a.rowid, limit: 10 });
  out.commandsOpen = await store.listCommands({ device: a.rowid, states: ['queued'], limit: 10 });
  const cmdRowids = (out.commandsAll as { rowid: number }[]).map((r) => r.rowid);
  out.commandsPage = await store.listCommands({ device: a.rowid, beforeRowid: cmdRowids[0] as number, limit: 1 });
  out.openCommands = await store.openCommands();
  out.commandForDeleted = await code(
    store.op('createCommand', {
      command: { id: 'cx', device: 999_999, name: 'dim', params: {}, key: null, createdAt: T0, createdBy: 'ann', ttl: 1, timeout: 1 },
      maxOpen: 3,
      keyTtl: 1,
    }),
  );

  // Twins.
  out.desired = await store.op('patchDesired', {
    device: a.rowid,
    patch: { mode: 'eco', fan: 2 },
    ifMatch: undefined,
    now: T0 + 40,
    maxFrame: 65536,
  });
  out.desired2 = await store.op('patchDesired', {
    device: a.rowid,
    patch: { fan: null, led: true },
    ifMatch: 1,
    now: T0 + 41,
    maxFrame: 65536,
  });
  out.versionMismatch = await code(store.op('patchDesired', { device: a.rowid, patch: { x: 1 }, ifMatch: 1, now: T0, maxFrame: 65536 }));
  out.tooLarge = await code(
    store.op('patchDesired', { device: a.rowid, patch: { big: 'x'.repeat(20_000) }, ifMatch: undefined, now: T0, maxFrame: 65536 }),
  );
  out.twinForDeleted = await code(
    store.op('patchDesired', { device: 999_999, patch: { x: 1 }, ifMatch: undefined, now: T0, maxFrame: 65536 }),
  );

  // Events and presence.
  await store.op('insertEvent', { device: c.rowid, name: 'note', level: 0, data: null, time: T0, receivedAt: T0 + 1 });
  await store.op('recordPresence', [
    { device: a.rowid, online: true, reason: 'connected', code: null, at: T0 + 1 },
    { device: 999_999, online: true, reason: 'connected', code: null, at: T0 + 1 },
    { device: a.rowid, online: false, reason: 'closed', code: 1000, at: T0 + 2 },
  ]);
  out.presence = await store.listPresence(a.rowid, 'dev-a', 10);

  // Device frames: telemetry of every value type, events, a twin report.
  const frame = (device: number, seq: number, now: number, pack: SenmlRecord[]) => {
    const bytes = encode({ type: MessageType.Telemetry, seq, pack });
    const r = decode(bytes, { now, accept: 'uplink' });
    assert.ok(r.ok && r.message.type === MessageType.Telemetry);
    store.ingest(device, seq, now, MessageType.Telemetry, bytes, { device, records: r.message.records });
  };
  for (let seq = 1; seq <= 120; seq++) {
    const now = T0 + seq * 1_000;
    frame(a.rowid, seq, now, [
      { n: 'temp', u: 'Cel', v: (seq % 10) + 0.5, t: 0 },
      { n: 'state', vs: seq % 3 ? 'on' : 'off' },
      { n: 'door', vb: seq % 2 === 0 },
    ]);
    if (seq % 40 === 0)
      frame(b.rowid, seq, now, [
        { n: 'blob', vd: new Uint8Array([seq, 0, 255]) },
        { n: 'temp', v: -seq },
        // Any text, U+0000 included (SPEC.md §3).
        { n: 'note', u: 'u\u0000', vs: `a\u0000${seq}` },
      ]);
  }
  const ev = encode({ type: MessageType.Event, seq: 121, name: 'door', level: 2, data: { open: true, bytes: new Uint8Array([1, 2]) } });
  store.ingest(a.rowid, 121, T0 + 121_000, MessageType.Event, ev, { device: a.rowid, records: [] });
  const rep = encode({ type: MessageType.Reported, seq: 122, patch: { mode: 'eco', fw: '1.2.3' } });
  store.ingest(a.rowid, 122, T0 + 122_000, MessageType.Reported, rep, { device: a.rowid, records: [] });
  const outcomes: unknown[] = [];
  store.on('committed', (o) => {
    if (o.error) outcomes.push(o.error.code);
    else outcomes.push({ events: o.result?.events.length, reported: o.result?.reported });
  });
  await store.drain();
  assert.ok(!outcomes.some((o) => typeof o === 'string'), 'every batch committed');
  out.reported = outcomes.flatMap((o) => (o as { reported: unknown[] }).reported);
  out.twin = await store.readTwin(a.rowid);
  out.twinNone = await store.readTwin(c.rowid);
  out.events = await store.listEvents({ limit: 10 });
  out.eventsOfA = await store.listEvents({ device: a.rowid, limit: 10 });
  out.eventsSince = await store.listEvents({ since: T0 + 100_000, limit: 10 });
  out.lastSeq = (await store.listDevices()).map((d) => [d.id, d.lastSeq]);
  // One device as listDevices has it, sequence number included (cluster mode reads it before WELCOME).
  const listedA = (await store.listDevices()).find((d) => d.id === 'dev-a');
  assert.deepEqual(await store.getDevice('dev-a'), listedA);
  assert.equal(await store.getDevice('no-such-device'), undefined);
  out.oneDevice = await store.getDevice('dev-a');

  // Telemetry queries through the hub's service (tail + store), before and after compaction.
  const queries = async () => {
    const series = await telemetry.series(a.rowid);
    const temp = (await telemetry.series(a.rowid, ['temp', 'nothing']))[0];
    assert.ok(temp);
    const state = (await telemetry.series(a.rowid, ['state']))[0];
    assert.ok(state);
    const blob = (await telemetry.series(b.rowid, ['blob']))[0];
    assert.ok(blob);
    return {
      series: series.map((s) => [s.name, s.unit]),
      raw: await telemetry.raw(a.rowid, temp, T0, T0 + 200_000, 1_000),
      rawLimited: await telemetry.raw(a.rowid, state, T0 + 10_000, T0 + 50_000, 5),
      rawBlob: await telemetry.raw(b.rowid, blob, T0, T0 + 200_000, 10),
      seriesB: (await telemetry.series(b.rowid)).map((s) => [s.name, s.unit]),
      latestB: await telemetry.latest(b.rowid),
      buckets: await telemetry.buckets(a.rowid, temp, T0, T0 + 200_000, 60_000),
      bucketsText: await telemetry.buckets(a.rowid, state, T0 + 15_000, T0 + 95_000, 30_000),
      latest: await telemetry.latest(a.rowid),
      latestPage: await telemetry.latestPage([b.rowid, a.rowid, c.rowid], 100),
    };
  };
  const before = await queries();
  await store.compactNow();
  const afterCompaction = await queries();
  assert.deepEqual(normal(afterCompaction), normal(before), 'compaction changes no answer');
  if (e.compactDay) {
    assert.ok((await e.compactDay()) >= 360, 'the day was compacted into blocks');
    assert.deepEqual(normal(await queries()), normal(before), 'compacting the day into blocks changes no answer');
  }
  out.telemetry = before;
  // Points after that, one late among the compacted ones and one new: answers join both.
  frame(a.rowid, 123, T0 + 123_000, [
    { n: 'temp', v: 99.5, t: -60 },
    { n: 'temp', v: -1, t: 0 },
    { n: 'state', vs: 'late', t: -100 },
  ]);
  await store.drain();
  out.telemetryJoined = await queries();
  out.rollups = await rollupCases(e, frame, await newDevice('dev-r'));
  const q = before as { raw: { points: { ts: number[] }; truncated: boolean }; rawLimited: { truncated: boolean }; buckets: unknown[] };
  assert.equal(q.raw.points.ts.length, 120);
  assert.equal(q.rawLimited.truncated, true);
  assert.equal(q.buckets.length, 3);

  // Firmware images (docs/firmware.md): begun, written in chunks, finished; one per model and version.
  const image = (version: string, at = T0) => ({
    id: `fw-${version}`,
    model: 'm1',
    version,
    notes: 'fixes',
    chunkSize: 4,
    createdAt: at,
    createdBy: 'admin',
  });
  const fw = await store.op('beginFirmware', { image: image('1.0'), staleBefore: T0 - 60_000 });
  out.firmwareBegun = fw;
  out.firmwareBeingUploaded = await code(store.op('beginFirmware', { image: image('1.0'), staleBefore: T0 - 60_000 }));
  await store.op('putFirmwareChunk', { image: fw.rowid, n: 0, data: new Uint8Array([1, 2, 3, 4]), at: T0 + 1 });
  await store.op('putFirmwareChunk', { image: fw.rowid, n: 1, data: new Uint8Array([5, 6]), at: T0 + 2 });
  out.firmwareFinished = await store.op('finishFirmware', {
    image: fw.rowid,
    size: 6,
    sha256: new Uint8Array(32).fill(9),
    signature: null,
  });
  out.firmwareChunks = [
    await store.firmwareChunk(fw.rowid, 0),
    await store.firmwareChunk(fw.rowid, 1),
    await store.firmwareChunk(fw.rowid, 2),
  ];
  out.firmwareChunkAfterFinish = await code(store.op('putFirmwareChunk', { image: fw.rowid, n: 2, data: new Uint8Array(1), at: T0 + 3 }));
  out.firmwareExists = await code(store.op('beginFirmware', { image: image('1.0', T0 + 10), staleBefore: T0 + 10 }));
  // An upload that stopped (nothing written since staleBefore) is replaced by a new one.
  const stalled = await store.op('beginFirmware', { image: image('2.0'), staleBefore: 0 });
  await store.op('putFirmwareChunk', { image: stalled.rowid, n: 0, data: new Uint8Array([7]), at: T0 + 5 });
  out.firmwareReplacesStalled = await store.op('beginFirmware', {
    image: { ...image('2.0', T0 + 100), id: 'fw-2.0b' },
    staleBefore: T0 + 50,
  });
  out.firmwareStalledChunkGone = (await store.firmwareChunk(stalled.rowid, 0)) ?? null;
  out.firmwareSigned = await store
    .op('beginFirmware', { image: { ...image('3.0'), model: 'm2' }, staleBefore: 0 })
    .then((f) =>
      store.op('finishFirmware', { image: f.rowid, size: 1, sha256: new Uint8Array(32), signature: new Uint8Array(64).fill(1) }),
    );
  out.firmwareList = await store.listFirmware();
  out.firmwareListM2 = await store.listFirmware('m2');
  out.firmwareGet = [await store.getFirmware('fw-1.0'), (await store.getFirmware('fw-nope')) ?? null];
  out.firmwareDeleted = await store.op('deleteFirmware', { id: 'fw-1.0' });
  out.firmwareAfterDelete = [(await store.getFirmware('fw-1.0')) ?? null, (await store.firmwareChunk(fw.rowid, 0)) ?? null];
  out.firmwareDeletedAgain = await code(store.op('deleteFirmware', { id: 'fw-1.0' }));
  // A chunk for an image deleted during its upload is refused, not stored.
  out.firmwareChunkAfterDelete = await code(store.op('putFirmwareChunk', { image: fw.rowid, n: 5, data: new Uint8Array(1), at: T0 }));
  out.meta = [
    await store.getMeta('k'),
    await store.op('initMeta', { key: 'k', value: 'first' }),
    await store.op('initMeta', { key: 'k', value: 'second' }),
    await store.getMeta('k'),
  ];
  assert.deepEqual(out.meta, [undefined, 'first', 'first', 'first']);
  assert.deepEqual(
    (out.firmwareChunks as unknown[]).map((c) => (c === undefined ? null : [...(c as Uint8Array)])),
    [[1, 2, 3, 4], [5, 6], null],
  );
  assert.equal(out.firmwareBeingUploaded, 'HUB_ERR_FIRMWARE_EXISTS');
  assert.equal(out.firmwareExists, 'HUB_ERR_FIRMWARE_EXISTS');
  assert.equal(out.firmwareChunkAfterFinish, 'HUB_ERR_FIRMWARE_UNKNOWN');
  assert.equal(out.firmwareChunkAfterDelete, 'HUB_ERR_FIRMWARE_UNKNOWN');
  assert.equal(out.firmwareDeletedAgain, 'HUB_ERR_FIRMWARE_UNKNOWN');
  assert.equal(out.firmwareStalledChunkGone, null);
  assert.deepEqual(
    (out.firmwareList as { id: string; complete: boolean }[]).map((f) => [f.id, f.complete]),
    [
      ['fw-3.0', true],
      ['fw-2.0b', false],
      ['fw-1.0', true],
    ],
  );

  // Device updates (SPEC.md §12): one open per device; an image in use is not deleted;
  // UPDATE_STATUS is applied by the ingest batch that makes its seq durable, once.
  const img = await store.op('beginFirmware', { image: { ...image('9.0'), id: 'fw-9.0' }, staleBefore: 0 });
  await store.op('putFirmwareChunk', { image: img.rowid, n: 0, data: new Uint8Array([9]), at: T0 });
  await store.op('finishFirmware', { image: img.rowid, size: 1, sha256: new Uint8Array(32), signature: null });
  const newUpdate = (id: string, device: number, firmware = img.rowid) =>
    store.op('createDeviceUpdate', { id, device, firmware, job: null, fromFw: '1.0', toFw: '9.0', createdAt: T0, createdBy: 'admin' });
  out.updateCreated = await newUpdate('u-1', a.rowid);
  out.updateSecondOpen = await code(newUpdate('u-2', a.rowid));
  out.updateNoImage = await code(newUpdate('u-3', b.rowid, 999_999));
  out.firmwareInUse = await code(store.op('deleteFirmware', { id: 'fw-9.0' }));
  const status = (seq: number, m: Record<string, unknown>, device = a.rowid) => {
    const bytes = encode({ type: MessageType.UpdateStatus, seq, job: 'u-1', ...m } as never);
    store.ingest(device, seq, T0 + seq, MessageType.UpdateStatus, bytes, { device, records: [] });
  };
  status(300, { state: 1, progress: 512 });
  status(300, { state: 1, progress: 999 }); // a resend: not applied again
  status(301, { state: 7, reason: 2, detail: 'crc\u0000' }); // digest_mismatch: retried, offered again as attempt 2
  await store.drain();
  out.updateAfterStatus = await store.getDeviceUpdate('u-1');
  assert.deepEqual(
    [
      (out.updateAfterStatus as { state: string }).state,
      (out.updateAfterStatus as { attempts: number }).attempts,
      (out.updateAfterStatus as { detail: string }).detail,
    ],
    ['offered', 2, 'crc\ufffd'],
  );
  out.updateMoved = await store.op('transitionUpdate', { id: 'u-1', from: ['offered'], to: 'rebooting', now: T0 + 400 });
  out.updateNotFrom = await store.op('transitionUpdate', { id: 'u-1', from: ['offered'], to: 'cancelled', now: T0 + 401 });
  out.updateOpen = await store.openDeviceUpdates();
  out.updateFinished = await store.op('transitionUpdate', { id: 'u-1', to: 'rolled_back', now: T0 + 402 });
  out.updateAfterFinal = await store.op('transitionUpdate', { id: 'u-1', to: 'succeeded', now: T0 + 403 });
  status(302, { state: 11, reason: 12 }); // the device's own report adds its reason to the hub's rolled_back
  await store.drain();
  out.updateReason = await store.getDeviceUpdate('u-1');
  assert.equal((out.updateReason as { reason: number }).reason, 12);
  out.updateList = await store.listDeviceUpdates(a.rowid, 10);
  // A reason code past PostgreSQL's integer is kept as 0 (other) by both engines, not a failed batch.
  await newUpdate('u-4', b.rowid);
  status(700, { job: 'u-4', state: 7, reason: 2 ** 40 }, b.rowid);
  await store.drain();
  out.updateHugeReason = await store.getDeviceUpdate('u-4');
  assert.deepEqual([(out.updateHugeReason as { state: string }).state, (out.updateHugeReason as { reason: number }).reason], ['failed', 0]);
  out.firmwareDeletedAfterUpdate = await store.op('deleteFirmware', { id: 'fw-9.0' });
  out.updateKeepsHistory = await store.getDeviceUpdate('u-1');
  assert.equal((out.updateKeepsHistory as { firmwareRowid: number | null }).firmwareRowid, null);
  assert.equal(out.updateSecondOpen, 'HUB_ERR_UPDATE_IN_PROGRESS');
  assert.equal(out.updateNoImage, 'HUB_ERR_FIRMWARE_UNKNOWN');
  assert.equal(out.firmwareInUse, 'HUB_ERR_FIRMWARE_IN_USE');
  assert.equal(out.updateNotFrom, null);
  assert.equal(out.updateAfterFinal, null);

  // Alarm rules and alarms: one not cleared per (rule, device), moves as alarms/lifecycle.ts allows.
  const rule = (id: string, at: number): AlarmRule => ({
    id,
    name: `rule ${id}`,
    enabled: true,
    severity: 'major',
    selector: { tags: ['t'] },
    condition: { kind: 'metric', metric: 'temp', above: 30, for: 0, hysteresis: 2 },
    minDuration: 0,
    createdAt: T0,
    createdBy: 'admin',
    updatedAt: at,
    updatedBy: 'admin',
  });
  out.rulePut = await store.op('putAlarmRule', rule('r-b', T0));
  await store.op('putAlarmRule', rule('r-a', T0));
  out.ruleReplaced = await store.op('putAlarmRule', { ...rule('r-b', T0 + 5), severity: 'critical' });
  out.rules = await store.listAlarmRules();
  out.ruleGet = [await store.getAlarmRule('r-b'), (await store.getAlarmRule('r-none')) ?? null];
  const alarm = (id: string, ruleId: string, device: string, at: number): AlarmInfo => ({
    id,
    rule: ruleId,
    ruleName: `rule ${ruleId}`,
    device,
    severity: 'major',
    state: 'active',
    kind: 'metric',
    message: 'temp 31 above 30',
    raisedAt: at,
    raisedValue: 31,
    acknowledgedAt: null,
    acknowledgedBy: null,
    note: null,
    clearedAt: null,
    clearedBy: null,
    clearedValue: null,
    flaps: 0,
    updatedAt: at,
    history: [{ action: 'raised', at, by: null, note: null, value: 31 }],
  });
  out.raised = await store.op('raiseAlarm', { device: a.rowid, info: alarm('al-1', 'r-a', 'dev-a', T0 + 10) });
  out.raisedTwice = await store.op('raiseAlarm', { device: a.rowid, info: alarm('al-2', 'r-a', 'dev-a', T0 + 11) });
  assert.equal((out.raisedTwice as { created: boolean; alarm: { info: AlarmInfo } }).alarm.info.id, 'al-1', 'the open alarm, not a second');
  out.raisedOther = await store.op('raiseAlarm', {
    device: c.rowid,
    info: { ...alarm('al-3', 'r-a', 'dev-c', T0 + 12), severity: 'critical' },
  });
  out.flapped = await store.op('stepAlarm', { id: 'al-1', action: 'flap', at: T0 + 13, by: null, note: null, value: 29 });
  out.acked = await store.op('stepAlarm', { id: 'al-1', action: 'acknowledged', at: T0 + 14, by: 'root', note: 'on it', value: null });
  out.ackedTwice = await code(
    store.op('stepAlarm', { id: 'al-1', action: 'acknowledged', at: T0 + 15, by: 'root', note: null, value: null }),
  );
  out.counts = await store.countOpenAlarms();
  out.cleared = await store.op('stepAlarm', { id: 'al-1', action: 'cleared', at: T0 + 16, by: null, note: null, value: 27.5 });
  out.clearedTwice = await code(store.op('stepAlarm', { id: 'al-1', action: 'cleared', at: T0 + 17, by: 'root', note: null, value: null }));
  out.stepUnknown = await code(store.op('stepAlarm', { id: 'al-none', action: 'cleared', at: T0, by: null, note: null, value: null }));
  out.raisedAgain = await store.op('raiseAlarm', { device: a.rowid, info: alarm('al-4', 'r-a', 'dev-a', T0 + 20) });
  out.alarmLists = {
    all: await store.listAlarms({ limit: 10 }),
    device: await store.listAlarms({ device: a.rowid, limit: 10 }),
    open: await store.listAlarms({ states: ['active', 'acknowledged'], limit: 10 }),
    critical: await store.listAlarms({ severities: ['critical'], limit: 10 }),
    since: await store.listAlarms({ since: T0 + 12, rule: 'r-a', limit: 10 }),
    page: await store.listAlarms({ limit: 1 }),
  };
  const page = (out.alarmLists as { page: { rowid: number }[] }).page[0] as { rowid: number };
  out.alarmNextPage = await store.listAlarms({ beforeRowid: page.rowid, limit: 10 });
  out.openAlarms = await store.openAlarms();
  out.alarmGet = [await store.getAlarm('al-1'), (await store.getAlarm('al-none')) ?? null];
  out.ruleDeleted = await store.op('deleteAlarmRule', { id: 'r-b' });
  out.ruleDeletedAgain = await code(store.op('deleteAlarmRule', { id: 'r-b' }));
  out.raiseForDeleted = await code(store.op('raiseAlarm', { device: 999_999, info: alarm('al-5', 'r-a', 'dev-x', T0) }));
  assert.equal(out.ackedTwice, 'HUB_ERR_ALARM_STATE');
  assert.equal(out.clearedTwice, 'HUB_ERR_ALARM_STATE');
  assert.equal(out.stepUnknown, 'HUB_ERR_ALARM_UNKNOWN');
  assert.equal(out.ruleDeletedAgain, 'HUB_ERR_ALARM_RULE_UNKNOWN');
  assert.equal(out.raiseForDeleted, 'HUB_ERR_DEVICE_UNKNOWN');
  assert.deepEqual(out.counts, { critical: 1, major: 1, minor: 0, warning: 0 });
  assert.deepEqual(
    (out.rules as AlarmRule[]).map((r) => [r.id, r.severity]),
    [
      ['r-a', 'major'],
      ['r-b', 'critical'],
    ],
  );
  const cleared = (out.cleared as { info: AlarmInfo }).info;
  assert.equal(cleared.state, 'cleared');
  assert.equal(cleared.clearedValue, 27.5);
  assert.equal(cleared.acknowledgedBy, 'root');
  assert.equal(cleared.flaps, 1);
  assert.deepEqual(
    cleared.history.map((h) => h.action),
    ['raised', 'flap', 'acknowledged', 'cleared'],
  );
  assert.deepEqual(
    (out.alarmLists as { all: { info: AlarmInfo }[] }).all.map((x) => x.info.id),
    ['al-4', 'al-3', 'al-1'],
  );
  assert.deepEqual(
    (out.alarmNextPage as { info: AlarmInfo }[]).map((x) => x.info.id),
    ['al-3', 'al-1'],
  );
  assert.deepEqual(
    (out.openAlarms as { info: AlarmInfo }[]).map((x) => x.info.id),
    ['al-3', 'al-4'],
  );
  // Fleet jobs (docs/jobs.md): devices enrolled once; moves only from their `from` states;
  // counts and reasons grouped; paging in device-id byte order; an image a job not over uses is not deleted.
  const jobImage = await store.op('beginFirmware', { image: { ...image('9.5'), id: 'fw-9.5' }, staleBefore: 0 });
  await store.op('finishFirmware', { image: jobImage.rowid, size: 0, sha256: new Uint8Array(32), signature: null });
  const spec = { name: 'j', rollout: { stages: [{ percent: 50 }, { percent: 100 }] } };
  out.jobCreated = await store.op('createJob', {
    id: 'j-1',
    spec,
    firmware: jobImage.rowid,
    createdAt: T0,
    createdBy: 'admin',
    maxOpen: 2,
  });
  // Open jobs past the bound are refused; the refused one is not stored.
  await store.op('createJob', { id: 'j-2', spec, firmware: null, createdAt: T0, createdBy: 'admin', maxOpen: 2 });
  out.jobOverOpen = await code(store.op('createJob', { id: 'j-3', spec, firmware: null, createdAt: T0, createdBy: 'admin', maxOpen: 2 }));
  assert.equal(out.jobOverOpen, 'HUB_ERR_QUEUE_FULL');
  assert.equal(await store.getJob('j-3'), undefined);
  await store.op('changeJob', { id: 'j-2', state: 'cancelled', reason: 'test', now: T0 });
  const job = (out.jobCreated as { rowid: number }).rowid;
  const enroll = [
    { device: b.rowid, deviceId: 'dev-b', stage: 1 },
    { device: a.rowid, deviceId: 'dev-a', stage: 0 },
    { device: 999_999, deviceId: 'gone', stage: 1 },
  ];
  out.jobEnrolled = await store.op('enrollJobDevices', { job, devices: enroll, now: T0 });
  out.jobEnrolledAgain = await store.op('enrollJobDevices', { job, devices: enroll.slice(0, 2), now: T0 + 1 });
  out.jobMoved = await store.op('changeJobDevices', {
    job,
    changes: [
      { device: a.rowid, from: ['pending'], state: 'in_progress', ref: 'u-x' },
      { device: b.rowid, from: ['in_progress'], state: 'failed', reason: 'never started' },
    ],
    now: T0 + 2,
  });
  out.jobFinishedDevice = await store.op('changeJobDevices', {
    job,
    changes: [
      { device: a.rowid, from: ['in_progress'], state: 'failed', reason: 'failed: install_failed' },
      { device: b.rowid, from: ['pending'], state: 'skipped', reason: 'job cancelled' },
    ],
    now: T0 + 3,
  });
  out.jobCounts = await store.jobCounts(job);
  out.jobReasons = await store.jobReasons(job);
  out.jobPage = await store.jobDevices({ job, limit: 1 });
  out.jobPage2 = await store.jobDevices({ job, after: 'dev-a', limit: 10 });
  out.jobFailedOnly = await store.jobDevices({ job, state: 'failed', limit: 10 });
  out.jobImageInUse = await code(store.op('deleteFirmware', { id: 'fw-9.5' }));
  out.jobPaused = await store.op('changeJob', {
    id: 'j-1',
    from: ['running'],
    state: 'paused',
    reason: 'r',
    acceptedFailed: 1,
    now: T0 + 4,
  });
  out.jobNotFrom = await store.op('changeJob', { id: 'j-1', from: ['running'], state: 'waiting', now: T0 + 5 });
  out.jobOpen = await store.openJobs();
  out.jobCancelled = await store.op('changeJob', { id: 'j-1', state: 'cancelled', reason: 'by admin', now: T0 + 6 });
  out.jobAfterFinal = await store.op('changeJob', { id: 'j-1', state: 'running', now: T0 + 7 });
  out.jobUnknown = await code(store.op('changeJob', { id: 'j-none', state: 'paused', now: T0 + 8 }));
  out.jobList = await store.listJobs({ limit: 10 });
  out.jobImageFree = await store.op('deleteFirmware', { id: 'fw-9.5' });
  assert.equal(out.jobEnrolled, 2, 'a deleted device is left out');
  assert.equal(out.jobEnrolledAgain, 0);
  assert.deepEqual(
    (out.jobMoved as { deviceId: string; state: string }[]).map((d) => [d.deviceId, d.state]),
    [['dev-a', 'in_progress']],
  );
  assert.deepEqual(out.jobCounts, [
    { stage: 0, state: 'failed', n: 1 },
    { stage: 1, state: 'skipped', n: 1 },
  ]);
  assert.deepEqual(
    (out.jobPage as { deviceId: string }[]).map((d) => d.deviceId),
    ['dev-a'],
  );
  assert.deepEqual(
    (out.jobPage2 as { deviceId: string }[]).map((d) => d.deviceId),
    ['dev-b'],
  );
  assert.equal(out.jobImageInUse, 'HUB_ERR_FIRMWARE_IN_USE');
  assert.equal(out.jobNotFrom, null);
  assert.equal((out.jobCancelled as { finishedAt: number }).finishedAt, T0 + 6);
  assert.equal(out.jobAfterFinal, null);
  assert.equal(out.jobUnknown, 'HUB_ERR_JOB_UNKNOWN');
  assert.deepEqual(out.jobOpen && (out.jobOpen as { state: string }[]).map((j) => j.state), ['paused']);

  // Deleting a device takes its commands, twin, telemetry and history with it.
  out.deleted = await store.op('deleteDevice', { id: 'dev-a' });
  telemetry.forgetDevice(a.rowid);
  out.deletedAgain = await code(store.op('deleteDevice', { id: 'dev-a' }));
  out.afterDelete = {
    devices: (await store.listDevices()).map((d) => d.id),
    command: (await store.getCommand('c1')) ?? null,
    twin: await store.readTwin(a.rowid),
    events: await store.listEvents({ limit: 10 }),
    presence: await store.listPresence(a.rowid, 'dev-a', 10),
    series: await telemetry.series(a.rowid),
    open: await store.openCommands(),
    updates: await store.listDeviceUpdates(a.rowid, 10),

    alarms: (await store.listAlarms({ limit: 10 })).map((x) => x.info.id),
  };
  // Frames of the deleted device still arriving are dropped, not stored.
  frame(a.rowid, 500, T0 + 500_000, [{ n: 'temp', v: 1 }]);
  await store.drain();
  out.seriesAfterLateFrame = await store.telemetry.series(a.rowid);

  // Ordered writes: an operation asked for right after frames (no await between,
  // the batch still waiting on its timer) sees them stored.
  for (let seq = 1; seq <= 5; seq++) frame(c.rowid, seq, T0 + 600_000 + seq, [{ n: 'temp', v: seq }]);
  out.updatedAfterFrames = await store.op('updateDevice', { id: 'dev-c', patch: { name: 'Gamma' } });
  assert.equal((out.updatedAfterFrames as { lastSeq: number }).lastSeq, 5, 'the operation follows the frames queued before it');
  // The same with a batch in flight: frames queued behind it, then a delete.
  for (let seq = 6; seq <= 60; seq++) frame(c.rowid, seq, T0 + 600_000 + seq, [{ n: 'temp', v: seq }]);
  out.deletedAfterFrames = await store.op('deleteDevice', { id: 'dev-c' });
  assert.equal((out.deletedAfterFrames as { lastSeq: number }).lastSeq, 60, 'the delete follows the frames queued before it');
  telemetry.forgetDevice(c.rowid);
  await store.drain();
  out.seriesAfterDelete = await store.telemetry.series(c.rowid);
  return out;
}

type FrameFn = (device: number, seq: number, now: number, pack: SenmlRecord[]) => void;

/**
 * Rollups (store/telemetry/rollups.ts): bucketed queries whose width a rollup divides
 * answer from the rollups where whole rollup buckets fit, and must answer exactly as
 * aggregating the raw points does, before compaction (raw only), after it (rollups),
 * and after late points land in buckets already rolled up.
 */
async function rollupCases(e: Engine, frame: FrameFn, dev: { rowid: number }): Promise<unknown> {
  const { store, telemetry } = e;
  const H = 3_600_000;
  const R0 = T0 + H;
  let seq = 0;
  // A point every 61 s for 5 hours, numbers with some text among them; quarter values
  // keep every sum exact, in whatever order it is added.
  for (let i = 0; i < 300; i++) {
    const at = R0 + i * 61_000 + 17;
    const pack: SenmlRecord[] = [{ n: 'x', u: 'W', v: ((i * 37) % 101) - 50.25, t: 0 }];
    if (i % 5 === 0) pack.push({ n: 'x', vs: `s${i}`, t: -1 });
    frame(dev.rowid, ++seq, at, pack);
  }
  await store.drain();
  const cases: [number, number, number][] = [
    [R0 - 600_000, R0 + 5 * H + 600_000, 60_000],
    [R0 + 123_456, R0 + 4 * H + 7_890, 300_000],
    [T0, T0 + 8 * H, H],
    [T0 - 6 * H, T0 + 18 * H - 1, 24 * H],
    [R0 + 1, R0 + 3 * H, 2 * H],
    [R0, R0 + 2 * H, 90_000],
  ];
  const check = async (what: string) => {
    const x = (await telemetry.series(dev.rowid, ['x']))[0];
    assert.ok(x);
    const answers: unknown[] = [];
    for (const [from, to, width] of cases) {
      const raw = await telemetry.raw(dev.rowid, x, from, to, 100_000);
      const acc = new BucketAccumulator(from, to, width);
      for (const [i, t] of raw.points.ts.entries()) acc.add(t, raw.points.values[i] as PointValue);
      const got = await telemetry.buckets(dev.rowid, x, from, to, width);
      assert.deepEqual(normal(got), normal(acc.result()), `${what}: buckets of ${width} ms over [${from}, ${to}] as the raw points say`);
      answers.push(got);
    }
    return answers;
  };
  const out: Record<string, unknown> = { beforeCompaction: await check('before compaction') };
  await store.compactNow();
  if (e.compactDay) await e.compactDay();
  out.compacted = await check('after compaction');
  assert.deepEqual(normal(out.compacted), normal(out.beforeCompaction), 'compaction changes no answer');
  // Late points into minutes and hours already rolled up, and one into a new minute.
  frame(dev.rowid, ++seq, R0 + 3 * H, [
    { n: 'x', v: 1000.5, t: -2 * 3600 },
    { n: 'x', v: -1000.5, t: -2 * 3600 + 0.5 },
    { n: 'x', vs: 'late', t: -3600 },
    { n: 'x', v: 7, t: 0 },
  ]);
  await store.drain();
  out.late = await check('late points, not compacted');
  await store.compactNow();
  if (e.compactDay) await e.compactDay();
  out.lateCompacted = await check('late points, compacted');
  assert.deepEqual(normal(out.lateCompacted), normal(out.late));
  return out;
}

const answers = new Map<string, Record<string, unknown>>();

function engineSuite(name: string, open: () => Promise<Engine | string>): void {
  describe(`Store conformance: ${name}`, () => {
    let engine: Engine | string;
    before(async () => {
      engine = await open();
    });
    after(async () => {
      if (typeof engine !== 'string') await engine?.close();
    });
    it('keeps the contract: operations, errors, reads, ingest and telemetry queries', async (t) => {
      if (typeof engine === 'string') return t.skip(engine);
      answers.set(name, await scenario(engine));
    });
  });
}

engineSuite('SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'halyard-conformance-'));
  const store = await SqliteStore.open<Meta>({
    path: join(dir, 'halyard.db'),
    ...SQLITE_TEST_OPTIONS,
  });
  return {
    store,
    telemetry: await wire(store),
    close: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

engineSuite('PostgreSQL', async () => {
  let server: TestPostgres;
  try {
    server = await startPostgres({ fsync: false });
  } catch (err) {
    const msg = (err as Error).message;
    if (/PostgreSQL not found|no postgres user/.test(msg)) return `PostgreSQL part skipped: ${msg}`;
    throw err;
  }
  const store = await PostgresStore.open<Meta>({
    url: server.url,
    commitIntervalMs: 2,
    maxBatchFrames: 50,
    maxFrame: 65536,
    retentionMs: 0,
    maintenanceIntervalMs: 0,
  });
  return {
    store,
    telemetry: await wire(store),
    compactDay: async () => {
      // The scenario's day gets its partition (were the tests run on a later day, its
      // points would be in the default one), then counts as closed.
      await store.maintain(T0);
      return (await store.compactTelemetry(T0 + 3 * 86_400_000)).points;
    },
    close: async () => {
      await store.close();
      await server.stop();
    },
  };
});

describe('Store conformance: engines agree', () => {
  it('every answer is the same on SQLite and PostgreSQL', (t) => {
    const sqlite = answers.get('SQLite');
    const pg = answers.get('PostgreSQL');
    if (sqlite === undefined || pg === undefined) return t.skip('needs both engines to have run');
    for (const key of Object.keys(sqlite)) assert.deepEqual(normal(pg[key]), normal(sqlite[key]), key);
    assert.deepEqual(Object.keys(pg), Object.keys(sqlite));
  });
});
