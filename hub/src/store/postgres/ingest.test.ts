// The PostgreSQL ingest path against a real server: exactly once by (device, seq)
// under resends, a failing batch rolls back wholly, and a server restart mid-stream
// fails the batches in flight with a clear error while later ones succeed.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { encode, MessageType, type SenmlRecord } from '@halyard/firmware-protocol';
import { telemetryPoints } from '../../../test/helpers/pg-points.js';
import { startPostgres, type TestDatabase, type TestPostgres } from '../../../test/helpers/postgres.js';
import { HubError } from '../../errors.js';
import type { BatchOutcome } from '../store.js';
import { createPool, query } from './pool.js';
import { PostgresStore } from './postgres-store.js';

const T0 = Math.floor(Date.now() / 60_000) * 60_000;

function telemetry(seq: number, value: number): Uint8Array {
  const pack: SenmlRecord[] = [
    { n: 'temp', u: 'Cel', v: value, t: 0 },
    { n: 'state', vs: seq % 2 ? 'on' : 'off' },
  ];
  return encode({ type: MessageType.Telemetry, seq, pack });
}

function event(seq: number): Uint8Array {
  return encode({ type: MessageType.Event, seq, name: 'door', level: 1, data: { open: true } });
}

async function open(url: string, ingestConnections?: number) {
  const store = await PostgresStore.open<string>({
    url,
    ...(ingestConnections === undefined ? {} : { ingestConnections }),
    commitIntervalMs: 2,
    maxBatchFrames: 500,
    maxFrame: 65536,
    retentionMs: 0,
    maintenanceIntervalMs: 0,
  });
  const outcomes: BatchOutcome<string>[] = [];
  store.on('committed', (o) => outcomes.push(o));
  return { store, outcomes };
}

async function device(store: PostgresStore<string>, id: string): Promise<number> {
  const d = await store.op('createDevice', { id, name: null, model: null, tags: [], secretHash: new Uint8Array(32), createdAt: T0 });
  return d.rowid;
}

describe('PostgreSQL store: ingest', () => {
  let server: TestPostgres;
  let db: TestDatabase;

  before(async () => {
    server = await startPostgres();
  });
  after(async () => {
    await server?.stop();
  });

  it('stores each (device, seq) once however often it is resent, and still acknowledges resends', async () => {
    db = await server.newDatabase();
    const { store, outcomes } = await open(db.url);
    try {
      const a = await device(store, 'a');
      const b = await device(store, 'b');
      for (let seq = 1; seq <= 200; seq++) {
        store.ingest(a, seq, T0 + seq, MessageType.Telemetry, telemetry(seq, seq), `a${seq}`);
        store.ingest(
          b,
          seq,
          T0 + seq,
          seq % 50 === 0 ? MessageType.Event : MessageType.Telemetry,
          seq % 50 === 0 ? event(seq) : telemetry(seq, -seq),
          `b${seq}`,
        );
        // A resend in the same batch, right behind the original.
        if (seq % 7 === 0) store.ingest(a, seq, T0 + seq, MessageType.Telemetry, telemetry(seq, seq), `a${seq}'`);
      }
      await store.drain();
      // Resends after the commit (ACKs lost): all of a's, some of b's, and one new frame.
      for (let seq = 1; seq <= 200; seq++) store.ingest(a, seq, T0 + seq, MessageType.Telemetry, telemetry(seq, seq), `a${seq}''`);
      store.ingest(b, 150, T0 + 150, MessageType.Event, event(150), 'b150-again');
      store.ingest(b, 201, T0 + 201, MessageType.Telemetry, telemetry(201, -201), 'b201');
      await store.drain();

      assert.ok(outcomes.every((o) => o.error === undefined));
      assert.equal(outcomes.flatMap((o) => o.metas).length, 200 + 200 + 28 + 200 + 2, 'every frame is reported, resends included');
      // Each device's last report (the two may be in different lanes, so different batches).
      const last = new Map(outcomes.flatMap((o) => o.result?.seqs ?? []));
      assert.deepEqual(
        last,
        new Map([
          [a, 200],
          [b, 201],
        ]),
        'resends are acknowledged with the mark',
      );
      assert.equal(store.ingestStats.duplicates, 28 + 200 + 1);
      const names = new Map(
        (
          await query<{ id: number; name: string }>(
            store['pool' as never],
            'test',
            `SELECT s.id, d.id || '.' || s.name AS name FROM series s JOIN devices d ON d.rowid = s.device`,
          )
        ).map((r) => [r.id, r.name]),
      );
      const counts = new Map<string, number>();
      for (const p of await telemetryPoints(store['pool' as never])) {
        const name = names.get(p.series) as string;
        counts.set(name, (counts.get(name) ?? 0) + 1);
      }
      const n = [...counts].sort(([x], [y]) => (x < y ? -1 : 1)).map(([series, n]) => ({ series, n }));
      assert.deepEqual(n, [
        { series: 'a.state', n: 200 },
        { series: 'a.temp', n: 200 },
        { series: 'b.state', n: 197 },
        { series: 'b.temp', n: 197 },
      ]);
      assert.equal((await store.listEvents({ limit: 100 })).length, 4, 'the resent EVENT is not stored twice');
      const devices = await store.listDevices();
      assert.deepEqual(
        devices.map((d) => [d.id, d.lastSeq]),
        [
          ['a', 200],
          ['b', 201],
        ],
      );
    } finally {
      await store.close();
      await db.drop();
    }
  });

  it('a batch big enough to go by COPY: every value type, resends still stored once', async () => {
    db = await server.newDatabase();
    const store = await PostgresStore.open<string>({
      url: db.url,
      commitIntervalMs: 50,
      maxBatchFrames: 5_000,
      maxFrame: 65536,
      retentionMs: 0,
      maintenanceIntervalMs: 0,
    });
    const outcomes: BatchOutcome<string>[] = [];
    store.on('committed', (o) => outcomes.push(o));
    try {
      const a = await device(store, 'a');
      const pack = (seq: number): SenmlRecord[] => [
        { n: 'temp', v: seq, t: 0 },
        { n: 'text', vs: `tab\t\\ nul\u0000 ${seq}` },
        { n: 'flag', vb: seq % 2 === 0 },
        { n: 'raw', vd: new Uint8Array([seq % 256, 9, 10]) },
      ];
      for (let round = 0; round < 2; round++)
        for (let seq = 1; seq <= 1_000; seq++)
          store.ingest(a, seq, T0 + seq, MessageType.Telemetry, encode({ type: MessageType.Telemetry, seq, pack: pack(seq) }), String(seq));
      await store.drain();
      assert.ok(outcomes.every((o) => o.error === undefined));
      assert.ok(
        outcomes.some((o) => (o.result?.frames ?? 0) * 4 >= 2_000),
        'a batch of 2,000 points or more (COPY)',
      );
      assert.equal(store.ingestStats.duplicates, 1_000);
      const text = (await store.telemetry.series(a, ['text']))[0];
      const raw = (await store.telemetry.series(a, ['raw']))[0];
      assert.ok(text && raw);
      const t = await store.telemetry.blockPoints(text.id, 0, T0 + 1e9, 0);
      assert.equal(t.ts.length, 1_000);
      assert.equal(t.values[4], 'tab\t\\ nul\u0000 5');
      const r = await store.telemetry.blockPoints(raw.id, 0, T0 + 1e9, 0);
      assert.deepEqual(r.values[999], new Uint8Array([1_000 % 256, 9, 10]));
    } finally {
      await store.close();
      await db.drop();
    }
  });

  it('a named operation runs after the frames queued before it have committed', async () => {
    db = await server.newDatabase();
    const { store } = await open(db.url);
    try {
      const a = await device(store, 'a');
      for (let seq = 1; seq <= 5; seq++) store.ingest(a, seq, T0 + seq, MessageType.Telemetry, telemetry(seq, seq), String(seq));
      const after = await store.op('updateDevice', { id: 'a', patch: { name: 'n' } });
      assert.equal(after.lastSeq, 5, 'the operation saw the frames queued before it');
    } finally {
      await store.close();
      await db.drop();
    }
  });

  it('two stores (two hubs) writing the same device: each sequence number stored once', async () => {
    db = await server.newDatabase();
    // Four lanes each: batches of both hubs and of each hub's lanes at once.
    const one = await open(db.url, 4);
    const two = await open(db.url, 4);
    try {
      const a = await device(one.store, 'a');
      for (let seq = 1; seq <= 300; seq++) {
        one.store.ingest(a, seq, T0 + seq, MessageType.Telemetry, telemetry(seq, seq), `1:${seq}`);
        two.store.ingest(a, seq, T0 + seq, MessageType.Telemetry, telemetry(seq, seq), `2:${seq}`);
      }
      await Promise.all([one.store.drain(), two.store.drain()]);
      assert.ok([...one.outcomes, ...two.outcomes].every((o) => o.error === undefined));
      const points = await telemetryPoints(one.store['pool' as never]);
      assert.deepEqual(
        { n: points.length, d: new Set(points.map((p) => p.ts)).size },
        { n: 600, d: 300 },
        'two series x 300 points, none twice',
      );
      assert.equal(one.store.ingestStats.duplicates + two.store.ingestStats.duplicates, 300);
    } finally {
      await one.store.close();
      await two.store.close();
      await db.drop();
    }
  });

  it('a batch that fails stores nothing of it and moves no mark', async () => {
    db = await server.newDatabase();
    // One lane, so that both devices' frames are in the batch that fails.
    const { store, outcomes } = await open(db.url, 1);
    const admin = createPool(db.url);
    try {
      const a = await device(store, 'a');
      const b = await device(store, 'b');
      store.ingest(a, 1, T0, MessageType.Telemetry, telemetry(1, 1), 'ok');
      await store.drain();
      // A point the database refuses, in a batch with other devices' frames and an event.
      await query(admin, 'test', 'ALTER TABLE telemetry ADD CONSTRAINT test_refuses_666 CHECK (v IS DISTINCT FROM 666)');
      store.ingest(b, 1, T0 + 1, MessageType.Event, event(1), 'b-event');
      store.ingest(a, 2, T0 + 2, MessageType.Telemetry, telemetry(2, 5), 'a2');
      store.ingest(b, 2, T0 + 2, MessageType.Telemetry, telemetry(2, 666), 'b-refused');
      await store.drain();
      const failed = outcomes.at(-1);
      assert.ok(failed?.error instanceof HubError);
      assert.equal(failed.error.code, 'HUB_ERR_STORAGE');
      assert.match(failed.error.message, /test_refuses_666/);
      assert.deepEqual(failed.metas, ['b-event', 'a2', 'b-refused']);
      assert.equal((await store.listEvents({ limit: 10 })).length, 0, 'the event went with the batch');
      assert.deepEqual(
        (await store.listDevices()).map((d) => d.lastSeq),
        [1, 0],
      );
      assert.equal((await telemetryPoints(admin)).length, 2);
      // The devices resend; now it goes through.
      await query(admin, 'test', 'ALTER TABLE telemetry DROP CONSTRAINT test_refuses_666');
      store.ingest(b, 1, T0 + 1, MessageType.Event, event(1), 'b-event');
      store.ingest(a, 2, T0 + 2, MessageType.Telemetry, telemetry(2, 5), 'a2');
      store.ingest(b, 2, T0 + 2, MessageType.Telemetry, telemetry(2, 666), 'b2');
      await store.drain();
      assert.equal(outcomes.at(-1)?.error, undefined);
      assert.equal((await telemetryPoints(admin)).length, 6);
    } finally {
      await admin.end();
      await store.close();
      await db.drop();
    }
  });

  it('a PostgreSQL restart mid-stream fails the writes in flight clearly; later writes succeed', async (t) => {
    if (server.external) return t.skip('HALYARD_TEST_PG_URL: not our own server');
    db = await server.newDatabase();
    const { store, outcomes } = await open(db.url);
    try {
      const a = await device(store, 'a');
      let seq = 0;
      let stop = false;
      // A steady stream, one frame a millisecond, across the restart.
      const stream = (async () => {
        while (!stop) {
          seq++;
          store.ingest(a, seq, T0 + seq, MessageType.Telemetry, telemetry(seq, seq), String(seq));
          await new Promise((r) => setTimeout(r, 1));
        }
      })();
      await new Promise((r) => setTimeout(r, 100));
      await server.restart();
      await new Promise((r) => setTimeout(r, 300));
      stop = true;
      await stream;
      await store.drain();
      const failed = outcomes.filter((o) => o.error !== undefined);
      assert.ok(failed.length > 0, 'some batch was cut off by the restart');
      for (const o of failed) {
        assert.equal(o.error?.code, 'HUB_ERR_STORAGE');
        assert.match(o.error?.message ?? '', /unreachable|terminat|shut/i);
      }
      const ok = outcomes.filter((o) => o.error === undefined);
      assert.ok(
        ok.length > 0 && outcomes.indexOf(ok.at(-1) as BatchOutcome<string>) > outcomes.indexOf(failed.at(-1) as BatchOutcome<string>),
        'writes after the restart succeed',
      );
      // What was acknowledged is there; what failed is not (until resent).
      const acked = ok.flatMap((o) => o.metas).length;
      const stored = await store.telemetry.blockPoints((await store.telemetry.series(a, ['temp']))[0]?.id ?? -1, 0, T0 + 1e9, 0);
      assert.equal(stored.ts.length, acked);
      t.diagnostic(`${outcomes.length} batches, ${failed.length} failed: ${failed[0]?.error?.message}`);
      // And a named operation works again too.
      assert.equal((await store.op('updateDevice', { id: 'a', patch: { name: 'after' } })).name, 'after');
    } finally {
      await store.close();
      await db.drop();
    }
  });
});
