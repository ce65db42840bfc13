// Rollups over the data's life, on both engines: raw points dropped by --retention
// while the rollups still answer bucketed queries, rollups dropped by
// --retention-rollups, and a restart in between that keeps them. SQLite always;
// PostgreSQL where its binaries are (HALYARD_TEST_PG_URL or a local install).

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { decode, encode, MessageType, type ResolvedRecord, type SenmlRecord } from '@halyard/firmware-protocol';
import { startPostgres, type TestPostgres } from '../../test/helpers/postgres.js';
import { TelemetryService } from '../telemetry/service.js';
import { createPool, query } from './postgres/pool.js';
import { PostgresStore } from './postgres/postgres-store.js';
import { SqliteStore } from './sqlite-store.js';
import type { Store } from './store.js';

interface Meta {
  device: number;
  records: readonly ResolvedRecord[];
}

const DAY = 86_400_000;
const H = 3_600_000;
/** A past day: the points are old when retention runs "later" (its `now` is passed in). */
const D = Date.UTC(2026, 8, 1);
const RETENTION = 2 * DAY;
const RETENTION_ROLLUPS = 30 * DAY;

interface Engine {
  open(): Promise<Store<Meta>>;
  /** Compacts what the engine keeps as raw rows first (PostgreSQL: the closed day). */
  compact(store: Store<Meta>): Promise<void>;
  /** Retention as at `now`. */
  retain(store: Store<Meta>, now: number): Promise<void>;
}

async function wire(store: Store<Meta>): Promise<TelemetryService> {
  const telemetry = await TelemetryService.start(store.telemetry, { seriesCount: () => 0, hasSeries: () => false }, 1_000);
  store.on('committed', (o) => {
    if (o.result) for (const m of o.metas) telemetry.committed(o.result.gen, m.device, m.records);
  });
  store.on('compacted', (gen) => telemetry.compacted(gen));
  return telemetry;
}

function frame(store: Store<Meta>, device: number, seq: number, now: number, pack: SenmlRecord[]): void {
  const bytes = encode({ type: MessageType.Telemetry, seq, pack });
  const r = decode(bytes, { now, accept: 'uplink' });
  assert.ok(r.ok && r.message.type === MessageType.Telemetry);
  store.ingest(device, seq, now, MessageType.Telemetry, bytes, { device, records: r.message.records });
}

async function lifecycle(e: Engine): Promise<void> {
  let store = await e.open();
  try {
    await lifecycleOn(e, store, (s) => {
      store = s;
    });
  } finally {
    await store.close().catch(() => {});
  }
}

async function lifecycleOn(e: Engine, first: Store<Meta>, reopened: (s: Store<Meta>) => void): Promise<void> {
  let store = first;
  let telemetry = await wire(store);
  const dev = await store.op('createDevice', { id: 'r1', name: null, model: null, tags: [], secretHash: new Uint8Array(32), createdAt: D });
  // Six hours of day D, a point every 10 s (quarter values: exact sums).
  for (let i = 0; i < 6 * 360; i++) frame(store, dev.rowid, i + 1, D + H + i * 10_000, [{ n: 'p', v: (i % 40) / 4, t: 0 }]);
  await store.drain();
  await e.compact(store);
  // A late point for a day already compacted (PostgreSQL: its partition is gone, the
  // point waits in the default one; SQLite: in the log): retention must not lose it.
  frame(store, dev.rowid, 6 * 360 + 1, D + 2 * H + 5_000, [{ n: 'p', v: 100, t: 0 }]);
  await store.compactNow();
  const p = async () => {
    const s = (await telemetry.series(dev.rowid, ['p']))[0];
    assert.ok(s);
    return s;
  };
  const queries = async () => ({
    hours: await telemetry.buckets(dev.rowid, await p(), D, D + DAY - 1, H),
    day: await telemetry.buckets(dev.rowid, await p(), D, D + DAY - 1, DAY),
    minutes: await telemetry.buckets(dev.rowid, await p(), D + 2 * H, D + 3 * H - 1, 60_000),
  });
  const before = await queries();
  assert.equal(before.hours.length, 6);
  assert.deepEqual(
    before.day.map((b) => [b.count, b.max]),
    [[6 * 360 + 1, 100]],
  );
  assert.equal((await telemetry.raw(dev.rowid, await p(), D, D + DAY, 100_000)).points.ts.length, 6 * 360 + 1);

  // Raw points past --retention go; the rollups answer the same buckets.
  await e.retain(store, D + 10 * DAY);
  assert.equal((await telemetry.raw(dev.rowid, await p(), D, D + DAY, 100_000)).points.ts.length, 0, 'the raw points are gone');
  assert.deepEqual(await queries(), before, 'rollups answer after the raw points are gone');
  // A bucket narrower than a rollup has only the raw points to go by: none left.
  assert.deepEqual(await telemetry.buckets(dev.rowid, await p(), D, D + DAY - 1, 30_000), []);

  // A restart keeps them.
  await store.close();
  store = await e.open();
  reopened(store);
  telemetry = await wire(store);
  assert.deepEqual(await queries(), before, 'rollups answer after a restart');

  // Rollups past --retention-rollups go too.
  await e.retain(store, D + 40 * DAY);
  assert.deepEqual(await queries(), { hours: [], day: [], minutes: [] });
}

describe('telemetry rollups over the data life', () => {
  it('SQLite: retention drops raw points, rollups still answer, survive a restart, and expire in turn', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'halyard-rollups-'));
    const open = () =>
      SqliteStore.open<Meta>({
        path: join(dir, 'halyard.db'),
        cacheMiB: 16,
        retentionMs: RETENTION,
        retentionRollupsMs: RETENTION_ROLLUPS,
        compactIntervalMs: 600_000,
        compactRows: 1_000_000,
        commitIntervalMs: 2,
        maxBatchFrames: 500,
        maxFrame: 65536,
      });
    try {
      await lifecycle({
        open,
        compact: (s) => s.compactNow(),
        retain: (s, now) => (s as SqliteStore<Meta>).retainNow(now),
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('PostgreSQL: the same, with rollups made when closed days are compacted', async (t) => {
    let server: TestPostgres;
    try {
      server = await startPostgres({ fsync: false });
    } catch (err) {
      const msg = (err as Error).message;
      if (/PostgreSQL not found|no postgres user/.test(msg)) return t.skip(`PostgreSQL part skipped: ${msg}`);
      throw err;
    }
    const open = () =>
      PostgresStore.open<Meta>({
        url: server.url,
        commitIntervalMs: 2,
        maxBatchFrames: 500,
        maxFrame: 65536,
        retentionMs: RETENTION,
        retentionRollupsMs: RETENTION_ROLLUPS,
        maintenanceIntervalMs: 0,
      });
    try {
      await lifecycle({
        open,
        compact: async (s) => {
          const pg = s as PostgresStore<Meta>;
          // The day gets its partition (its points waited in the default one), then counts as closed.
          await pg.maintain(D);
          assert.equal((await pg.compactTelemetry(D + 3 * DAY)).points, 6 * 360);
        },
        retain: (s, now) => (s as PostgresStore<Meta>).maintain(now),
      });
    } finally {
      await server.stop();
    }
  });

  it('PostgreSQL: two hubs compacting the same days at once roll up each point once', async (t) => {
    let server: TestPostgres;
    try {
      server = await startPostgres({ fsync: false });
    } catch (err) {
      const msg = (err as Error).message;
      if (/PostgreSQL not found|no postgres user/.test(msg)) return t.skip(`PostgreSQL part skipped: ${msg}`);
      throw err;
    }
    const options = {
      url: server.url,
      commitIntervalMs: 2,
      maxBatchFrames: 500,
      maxFrame: 65536,
      retentionMs: 0,
      maintenanceIntervalMs: 0,
    };
    const a = await PostgresStore.open<Meta>(options);
    const b = await PostgresStore.open<Meta>(options);
    try {
      const dev = await a.op('createDevice', { id: 'r2', name: null, model: null, tags: [], secretHash: new Uint8Array(32), createdAt: D });
      // Two days, a point a minute, in many series so that compaction takes several transactions.
      let seq = 0;
      for (let i = 0; i < 2 * 1440; i += 1) {
        const pack: SenmlRecord[] = Array.from({ length: 5 }, (_, k) => ({ n: `m${k}`, v: i + k, t: 0 }));
        frame(a, dev.rowid, ++seq, D + i * 60_000, pack);
      }
      await a.drain();
      await a.maintain(D);
      await a.maintain(D + DAY);
      const [ra, rb] = await Promise.all([a.compactTelemetry(D + 4 * DAY), b.compactTelemetry(D + 4 * DAY)]);
      assert.equal(ra.points + rb.points, 2 * 1440 * 5, 'every row packed once, by one hub or the other');
      const pool = createPool(server.url);
      try {
        const sums = await query<{ width: number; n: string }>(
          pool,
          'test',
          'SELECT width, sum(n)::text AS n FROM telemetry_rollups GROUP BY width ORDER BY width',
        );
        assert.deepEqual(
          sums.map((r) => [r.width, Number(r.n)]),
          [
            [60_000, 2 * 1440 * 5],
            [3_600_000, 2 * 1440 * 5],
          ],
        );
      } finally {
        await pool.end();
      }
    } finally {
      await a.close();
      await b.close();
      await server.stop();
    }
  });
});
