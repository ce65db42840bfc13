import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Db, openDatabase } from '../db.js';
import { migrate } from '../migrations.js';
import { BLOCK_MAX_POINTS, blockRanges, packBlock, unpackBlock } from './blocks.js';
import { TelemetryReader } from './query.js';
import { TelemetryWriter } from './writer.js';

describe('telemetry blocks', () => {
  it('pack and unpack every kind of value', () => {
    const ts = [1000, 1001, 1001, 5000, 5000 + 2 ** 31];
    const values = [1.5, -2, 'on', true, new Uint8Array([1, 2])];
    const b = packBlock(ts, values, 0, ts.length);
    assert.deepStrictEqual(
      { t0: b.t0, t1: b.t1, n: b.n, nnum: b.nnum, sum: b.sum, min: b.min, max: b.max },
      { t0: 1000, t1: 5000 + 2 ** 31, n: 5, nnum: 2, sum: -0.5, min: -2, max: 1.5 },
    );
    assert.deepStrictEqual(unpackBlock(b.data), { ts, values });
  });
  it('split at 4096 points and at an hour of span', () => {
    const many = Array.from({ length: BLOCK_MAX_POINTS + 10 }, (_, i) => i);
    assert.deepStrictEqual(blockRanges(many), [
      [0, BLOCK_MAX_POINTS],
      [BLOCK_MAX_POINTS, BLOCK_MAX_POINTS + 10],
    ]);
    assert.deepStrictEqual(blockRanges([0, 1000, 3_600_001, 3_600_002]), [
      [0, 2],
      [2, 4],
    ]);
  });
});

describe('telemetry compaction, merging and retention', () => {
  let dir: string;
  let db: Db;
  let w: TelemetryWriter;
  let r: TelemetryReader;
  const HOUR = 3_600_000;
  const T0 = 1_700_000_000_000;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'halyard-tele-'));
    db = openDatabase(join(dir, 't.db'));
    migrate(db);
    db.prepare("INSERT INTO devices (id, secret_hash, created_at) VALUES ('d', x'00', 0)").run();
    w = new TelemetryWriter(db);
    r = new TelemetryReader(db);
  });
  after(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps query answers identical through compaction and merging', () => {
    const s = w.seriesId(1, 'temp', 'Cel');
    // 100 small compactions of 10 points each, out of order within each.
    for (let c = 0; c < 100; c++) {
      db.transaction(() => {
        for (let i = 9; i >= 0; i--) w.append(s, T0 + (c * 10 + i) * 60_000, c * 10 + i);
      })();
      if (c % 2 === 0) w.compact();
    }
    const before = { raw: r.raw(s, T0, T0 + 24 * HOUR, 100_000), buckets: r.buckets(s, T0, T0 + 24 * HOUR, HOUR) };
    assert.equal(before.raw.points.ts.length, 1000);
    assert.deepStrictEqual(before.raw.points.values.slice(0, 3), [0, 1, 2]);
    while (w.compact().rows > 0);
    assert.ok((db.prepare('SELECT count(*) FROM telemetry_blocks WHERE level = 0').pluck().get() as number) >= 50);
    while (w.merge(Number.POSITIVE_INFINITY) > 0);
    assert.equal(db.prepare('SELECT count(*) FROM telemetry_blocks WHERE level = 0').pluck().get(), 0);
    assert.ok((db.prepare('SELECT count(*) FROM telemetry_blocks').pluck().get() as number) <= 20, 'merged into few blocks');
    assert.deepStrictEqual(r.raw(s, T0, T0 + 24 * HOUR, 100_000), before.raw);
    assert.deepStrictEqual(r.buckets(s, T0, T0 + 24 * HOUR, HOUR), before.buckets);
    // The first bucket, checked against the raw points it covers.
    const edge = Math.floor(T0 / HOUR) * HOUR + HOUR;
    const inFirst = before.raw.points.values.filter((_, i) => (before.raw.points.ts[i] as number) < edge) as number[];
    assert.deepStrictEqual(r.buckets(s, T0, T0 + 24 * HOUR, HOUR)[0], {
      t: edge - HOUR,
      count: inFirst.length,
      avg: inFirst.reduce((a, b) => a + b, 0) / inFirst.length,
      min: Math.min(...inFirst),
      max: Math.max(...inFirst),
      last: inFirst.at(-1),
    });
  });

  it('deletes blocks older than the retention cutoff and nothing newer', () => {
    const s = w.seriesId(1, 'old', null as unknown as undefined);
    db.transaction(() => {
      for (let i = 0; i < 10; i++) w.append(s, T0 - 48 * HOUR + i, i);
      for (let i = 0; i < 10; i++) w.append(s, T0 + i, 100 + i);
    })();
    while (w.compact().rows > 0);
    const res = w.retain(T0 - 24 * HOUR, 0, 1000);
    assert.ok(res.deleted >= 1);
    const left = r.raw(s, 0, T0 + HOUR, 1000).points.values;
    assert.deepStrictEqual(left, [100, 101, 102, 103, 104, 105, 106, 107, 108, 109]);
  });
});
