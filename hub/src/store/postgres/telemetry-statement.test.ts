// The one-statement way for telemetry (telemetry-statement.ts) against a real
// server: every value type read back as sent (array literals built by hand),
// duplicates and deleted devices counted as ingest.ts counts them, and the batches
// it must leave to the general way left alone, with nothing sent; and the binary
// arrays its number columns are sent as, read back by the server exactly.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { encode, MessageType, type SenmlRecord } from '@halyard/firmware-protocol';
import { telemetryPoints } from '../../../test/helpers/pg-points.js';
import { startPostgres, type TestPostgres } from '../../../test/helpers/postgres.js';
import type { PgFrame } from './ingest.js';
import { createPool, type Pool } from './pool.js';
import { PostgresStore } from './postgres-store.js';
import { SeriesCache } from './series-cache.js';
import { applyTelemetryStatement, BinaryArray } from './telemetry-statement.js';

const T0 = Math.floor(Date.now() / 60_000) * 60_000;

const ODD_TEXT = 'quote " backslash \\ tab\t nul\u0000 brace } comma , é 😀';

function pack(seq: number): SenmlRecord[] {
  return [
    { n: 'num', v: seq, t: 0 },
    { n: 'text', vs: `${ODD_TEXT} ${seq}` },
    { n: 'flag', vb: seq % 2 === 0 },
    { n: 'raw', vd: new Uint8Array([seq % 256, 0, 92, 34]) },
  ];
}

function frame(device: number, seq: number, records = pack(seq)): PgFrame {
  return { device, seq, now: T0 + seq, type: MessageType.Telemetry, bytes: encode({ type: MessageType.Telemetry, seq, pack: records }) };
}

describe('PostgreSQL store: telemetry in one statement', () => {
  let server: TestPostgres;
  let store: PostgresStore<string>;
  let pool: Pool;
  const cache = new SeriesCache();
  let a = 0;
  let b = 0;
  let gone = 0;

  before(async () => {
    server = await startPostgres({ fsync: false });
    store = await PostgresStore.open<string>({
      url: server.url,
      commitIntervalMs: 2,
      maxBatchFrames: 500,
      maxFrame: 65536,
      retentionMs: 0,
      maintenanceIntervalMs: 0,
    });
    const create = async (id: string) =>
      (await store.op('createDevice', { id, name: null, model: null, tags: [], secretHash: new Uint8Array(32), createdAt: T0 })).rowid;
    a = await create('a');
    b = await create('b');
    gone = await create('gone');
    // Seq 1 through the store: marks and series made the general way.
    for (const d of [a, b, gone]) store.ingest(d, 1, T0 + 1, MessageType.Telemetry, frame(d, 1).bytes, 'first');
    await store.drain();
    pool = createPool(server.url);
    // Loaded before the delete: as on a hub whose device another hub deleted.
    await cache.load(pool);
    await store.op('deleteDevice', { id: 'gone' });
  });
  after(async () => {
    await pool?.end();
    await store?.close();
    await server?.stop();
  });

  it('stores every value type as sent; duplicates and deleted devices are counted, not stored', async () => {
    // The protocol has no NaN or infinities, and its encoder writes -0 as 0: these are the numbers text could bend.
    const odd = [1.5e300, 5e-324, -273.15, 0.1 + 0.2, 2 ** 53 - 1, -1e-300];
    const frames = [
      frame(a, 2),
      frame(a, 1), // below the mark: a resend
      frame(b, 2),
      frame(a, 3),
      frame(a, 3), // the same batch twice
      frame(gone, 2), // deleted meanwhile
      ...odd.map((v, i) => frame(b, 3 + i, [{ n: 'num', v, t: 0 }])),
    ];
    const marked = new Set([a, b, gone]);
    const r = await applyTelemetryStatement(pool, 7, frames, cache, marked);
    assert.ok(r !== undefined, 'a qualifying batch goes in one statement');
    assert.equal(r.frames, 3 + odd.length);
    assert.equal(r.duplicates, 2);
    assert.equal(r.dropped, 1);
    assert.equal(r.skipped, 0);
    assert.deepEqual(
      new Map(r.seqs),
      new Map([
        [a, 3],
        [b, 2 + odd.length],
      ]),
    );

    const names = new Map(
      (await pool.query<{ id: number; device: number; name: string }>('SELECT id, device, name FROM series')).rows.map((r) => [r.id, r]),
    );
    // Packs expanded: b's num (seven points) is one.
    const rows = (await telemetryPoints(pool))
      .filter((r) => r.ts > T0 + 1)
      .map(({ series, ...point }) => ({ device: names.get(series)?.device as number, name: names.get(series)?.name as string, ...point }))
      .sort((x, y) => x.device - y.device || x.ts - y.ts || (x.name < y.name ? -1 : 1));
    const expected: {
      device: number;
      name: string;
      ts: number;
      v: number | null;
      s: string | null;
      b: boolean | null;
      d: Buffer | null;
    }[] = [];
    const fourOf = (device: number, seq: number) => [
      { device, name: 'flag', ts: T0 + seq, v: null, s: null, b: seq % 2 === 0, d: null },
      { device, name: 'num', ts: T0 + seq, v: seq, s: null, b: null, d: null },
      { device, name: 'raw', ts: T0 + seq, v: null, s: null, b: null, d: Buffer.from([seq % 256, 0, 92, 34]) },
      { device, name: 'text', ts: T0 + seq, v: null, s: `${ODD_TEXT} ${seq}`, b: null, d: null },
    ];
    expected.push(...fourOf(a, 2), ...fourOf(a, 3), ...fourOf(b, 2));
    odd.forEach((v, i) => {
      expected.push({ device: b, name: 'num', ts: T0 + 3 + i, v, s: null, b: null, d: null });
    });
    expected.sort((x, y) => x.device - y.device || x.ts - y.ts || (x.name < y.name ? -1 : 1));
    assert.equal(rows.length, expected.length);
    assert.deepEqual(rows, expected);
    const marks = (await pool.query<{ device: number; seq: number }>('SELECT device, seq FROM device_seq ORDER BY device')).rows;
    assert.deepEqual(marks, [
      { device: a, seq: 3 },
      { device: b, seq: 2 + odd.length },
    ]);
  });

  it('a batch of numbers only (the statement without the other value columns): stored, marks raised', async () => {
    const frames = [
      frame(a, 4, [{ n: 'num', v: 4.25, t: 0 }]),
      frame(b, 20, [{ n: 'num', v: -7, t: 0 }]),
      frame(b, 21, [{ n: 'num', v: 1e-9, t: 0 }]),
    ];
    const r = await applyTelemetryStatement(pool, 9, frames, cache, new Set([a, b]));
    assert.ok(r !== undefined);
    assert.equal(r.frames, 3);
    assert.deepEqual(
      new Map(r.seqs),
      new Map([
        [a, 4],
        [b, 21],
      ]),
    );
    // b's two points are one telemetry_recent row: telemetryPoints reads both tables.
    const devices = new Map(
      (await pool.query<{ id: number; device: number }>('SELECT id, device FROM series')).rows.map((r) => [r.id, r.device]),
    );
    const rows = (await telemetryPoints(pool))
      .map((p) => ({ device: devices.get(p.series) as number, ts: p.ts, v: p.v, others: [p.s, p.b, p.d].filter((x) => x !== null).length }))
      .filter((p) => (p.device === a && p.ts === T0 + 4) || (p.device === b && p.ts >= T0 + 20))
      .sort((x, y) => x.device - y.device || x.ts - y.ts);
    assert.deepEqual(rows, [
      { device: a, ts: T0 + 4, v: 4.25, others: 0 },
      { device: b, ts: T0 + 20, v: -7, others: 0 },
      { device: b, ts: T0 + 21, v: 1e-9, others: 0 },
    ]);
  });

  it('binary array parameters: the server reads back every int8 and float8 exactly, nulls, growth and an empty array', async () => {
    const ints = [0, 1, -1, 2 ** 31, -(2 ** 31) - 1, 2 ** 32, 2 ** 32 + 1, -(2 ** 32), 2 ** 53 - 1, -(2 ** 53 - 1), T0];
    const floats = [0, -0, 1.5e300, 5e-324, -273.15, 0.1 + 0.2, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
    // Capacity 1: every push past the first grows the buffer.
    const i8 = new BinaryArray(20, 1);
    for (const n of ints) i8.int8(n);
    const f8 = new BinaryArray(701, 1);
    for (const v of floats) f8.float8(v);
    f8.null();
    const { rows } = await pool.query<{ i: string[]; f: string[]; n: number; e: number | null; en: number }>(
      `SELECT $1::bigint[]::text[] AS i, $2::float8[]::text[] AS f, cardinality($2::float8[]) AS n,
              array_length($3::bigint[], 1) AS e, cardinality($3::bigint[]) AS en`,
      [i8.finish(), f8.finish(), new BinaryArray(20).finish()],
    );
    const row = rows[0];
    assert.ok(row !== undefined);
    assert.deepEqual(row.i.map(Number), ints);
    assert.deepEqual(row.f, ['0', '-0', '1.5e+300', '5e-324', '-273.15', '0.30000000000000004', 'NaN', 'Infinity', '-Infinity', null]);
    assert.equal(row.n, floats.length + 1);
    assert.equal(row.e, null, 'no dimensions');
    assert.equal(row.en, 0);
  });

  it('leaves to the general way, sending nothing: an EVENT, a device without a known mark row, a new metric, a new unit', async () => {
    const marked = new Set([a, b]);
    const event: PgFrame = {
      device: a,
      seq: 100,
      now: T0,
      type: MessageType.Event,
      bytes: encode({ type: MessageType.Event, seq: 100, name: 'door', level: 1 }),
    };
    const cases: [string, PgFrame[], ReadonlySet<number>][] = [
      ['an EVENT', [frame(a, 100), event], marked],
      ['a device not known to have its mark row', [frame(a, 100)], new Set([b])],
      ['a metric never seen', [frame(a, 100, [{ n: 'new-metric', v: 1, t: 0 }])], marked],
      ['a unit that changed', [frame(a, 100, [{ n: 'num', u: 'Cel', v: 1, t: 0 }])], marked],
    ];
    for (const [what, frames, known] of cases) {
      assert.equal(await applyTelemetryStatement(pool, 8, frames, cache, known), undefined, what);
    }
    const marks = (await pool.query<{ seq: number }>('SELECT seq FROM device_seq WHERE device = $1', [a])).rows;
    assert.deepEqual(marks, [{ seq: 4 }], 'nothing was sent');
  });
  it('packs: a series with several points in a batch is one row; a device straddling its mark stores only the frames above it', async () => {
    const ten = (seq: number) => Array.from({ length: 10 }, (_, i) => ({ n: 'num', v: seq * 100 + i, t: i / 1000 }));
    const before = (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM telemetry WHERE p IS NOT NULL')).rows[0]?.n ?? 0;
    // a: two 10-record frames, one pack of 20 points. b: up to seq 31 first...
    let r = await applyTelemetryStatement(
      pool,
      10,
      [frame(a, 40, ten(40)), frame(a, 41, ten(41)), frame(b, 30, ten(30)), frame(b, 31, ten(31))],
      cache,
      new Set([a, b]),
    );
    assert.ok(r !== undefined);
    assert.equal(r.frames, 4);
    const packs = (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM telemetry WHERE p IS NOT NULL')).rows[0]?.n ?? 0;
    assert.equal(packs - before, 2, 'one pack per series');
    // ...then b resends 30 and 31 (a lost ACK) with 32 and 33 behind them: 32 and 33 are stored, once.
    r = await applyTelemetryStatement(
      pool,
      11,
      [frame(b, 30, ten(30)), frame(b, 31, ten(31)), frame(b, 32, ten(32)), frame(b, 33, ten(33))],
      cache,
      new Set([a, b]),
    );
    assert.ok(r !== undefined);
    assert.equal(r.frames, 2);
    assert.equal(r.duplicates, 2);
    assert.deepEqual(new Map(r.seqs), new Map([[b, 33]]));
    const num = (await pool.query<{ id: number }>("SELECT id FROM series WHERE device = $1 AND name = 'num'", [b])).rows[0]?.id;
    const values = (await telemetryPoints(pool))
      .filter((p) => p.series === num && (p.v ?? 0) >= 3000 && (p.v ?? 0) < 3400)
      .map((p) => p.v)
      .sort((x, y) => (x as number) - (y as number));
    assert.deepEqual(
      values,
      [30, 31, 32, 33].flatMap((seq) => ten(seq).map((rec) => rec.v)),
    );
    assert.deepEqual((await pool.query('SELECT seq FROM device_seq WHERE device = $1', [b])).rows, [{ seq: 33 }]);
  });
});
