import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { encode, encodeCbor } from '@halyard/firmware-protocol';
import { BucketAccumulator } from '../../telemetry/buckets.js';
import { type Db, openDatabase } from '../db.js';
import { migrate } from '../migrations.js';
import { BLOCK_MAX_POINTS, blockRanges, packBlock, unpackBlock } from './blocks.js';
import { TelemetryWriter } from './log-compactor.js';
import { TelemetryReader } from './query.js';

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
  /** Logs one TELEMETRY frame of (time, value) points for a metric, as ingest would. */
  const log = (name: string, points: [number, number][]) =>
    w.appendFrame(1, 0, encode({ type: 3, seq: 1, pack: points.map(([t, v]) => ({ n: name, v, t: t / 1000 })) }));
  /** Queries blocks only (no tail in these tests). */
  const raw = (s: number, from: number, to: number) => {
    const p = { ts: [] as number[], values: [] as unknown[] };
    r.blockPoints(s, from, to, r.compacted(), p as never);
    const order = p.ts.map((_, i) => i).sort((a, b) => (p.ts[a] as number) - (p.ts[b] as number) || a - b);
    return { ts: order.map((i) => p.ts[i]), values: order.map((i) => p.values[i]) };
  };
  const buckets = (s: number, from: number, to: number, width: number) => {
    const acc = new BucketAccumulator(from, to, width);
    r.blockBuckets(s, acc, r.compacted());
    return acc.result();
  };
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

  it('recovers from a crash in the middle of a compaction', () => {
    db.transaction(() => {
      log(
        'crash',
        [0, 1, 2, 3, 4].map((i) => [T0 + i * 1000, i]),
      );
      w.flushAppends();
    })();
    // Seal and write the blocks, but "crash" before the final step.
    assert.ok(w.seal());
    w.compactStep(); // read
    const g = w.generations;
    // A new writer on the same database: as after a restart.
    const again = new TelemetryWriter(db);
    assert.deepStrictEqual(again.generations, g, 'the sealed generation is still uncompacted');
    again.resumeIfNeeded();
    let p = again.compactStep();
    while (p.compacted === undefined) p = again.compactStep();
    assert.equal(p.compacted, g.compacted + 1);
    const s = w.seriesId(1, 'crash', undefined);
    assert.deepStrictEqual(raw(s, T0, T0 + 10_000).values, [0, 1, 2, 3, 4]);
    w = again;
  });

  it('adds a generation to the rollups once, even when its compaction is redone after a crash', () => {
    // 200 series: more than one write step (125 series each), so a crash can fall between them.
    const base = Math.floor((T0 + 50 * 24 * HOUR) / HOUR) * HOUR;
    db.transaction(() => {
      for (let k = 0; k < 200; k++)
        log(
          `r${k}`,
          [0, 1, 2].map((i) => [base + i * 30_000, k + i]),
        );
      w.flushAppends();
    })();
    assert.ok(w.seal());
    let p = w.compactStep(); // read
    p = w.compactStep(); // the first 125 series, rollups included
    assert.equal(p.compacted, undefined);
    const rolled = () => db.prepare('SELECT sum(n) FROM telemetry_rollups WHERE t >= ?').pluck().get(base) as number;
    assert.equal(rolled(), 125 * 3 * 2, 'one write step in the rollups (both widths)');
    // "Crash" here: a new writer redoes the generation from its log.
    const again = new TelemetryWriter(db);
    again.resumeIfNeeded();
    p = again.compactStep();
    while (p.compacted === undefined) p = again.compactStep();
    assert.equal(rolled(), 200 * 3 * 2, 'each point once per width');
    const s = again.seriesId(1, 'r7', undefined);
    const acc = new BucketAccumulator(base, base + HOUR - 1, 60_000);
    assert.equal(r.rollupBuckets(s, 60_000, acc, r.compacted()), r.compacted());
    assert.deepStrictEqual(
      acc.result().map((b) => [b.t - base, b.count, b.min, b.max, b.last]),
      [
        [0, 2, 7, 8, 8],
        [60_000, 1, 9, 9, 9],
      ],
    );
    w = again;
  });

  it('keeps query answers identical through compaction and merging', () => {
    // 100 generations of 10 points each, out of order within each.
    for (let c = 0; c < 100; c++) {
      db.transaction(() => {
        log(
          'temp',
          [9, 8, 7, 6, 5, 4, 3, 2, 1, 0].map((i) => [T0 + (c * 10 + i) * 60_000, c * 10 + i]),
        );
        w.flushAppends();
      })();
      w.compactAll();
    }
    const s = w.seriesId(1, 'temp', undefined);
    const before = { raw: raw(s, T0, T0 + 24 * HOUR), buckets: buckets(s, T0, T0 + 24 * HOUR, HOUR) };
    assert.equal(before.raw.ts.length, 1000);
    assert.deepStrictEqual(before.raw.values.slice(0, 3), [0, 1, 2]);
    const count = (where: string) => db.prepare(`SELECT count(*) FROM telemetry_blocks WHERE series = ? ${where}`).pluck().get(s) as number;
    assert.equal(count('AND level = 0'), 100);
    while (w.merge(Number.POSITIVE_INFINITY) > 0);
    assert.equal(count('AND level = 0'), 0);
    assert.ok(count('') <= 20, 'merged into few blocks');
    assert.deepStrictEqual(raw(s, T0, T0 + 24 * HOUR), before.raw);
    assert.deepStrictEqual(buckets(s, T0, T0 + 24 * HOUR, HOUR), before.buckets);
    // The first bucket, checked against the raw points it covers.
    const edge = Math.floor(T0 / HOUR) * HOUR + HOUR;
    const inFirst = before.raw.values.filter((_, i) => (before.raw.ts[i] as number) < edge) as number[];
    assert.deepStrictEqual(buckets(s, T0, T0 + 24 * HOUR, HOUR)[0], {
      t: edge - HOUR,
      count: inFirst.length,
      avg: inFirst.reduce((a, b) => a + b, 0) / inFirst.length,
      min: Math.min(...inFirst),
      max: Math.max(...inFirst),
      last: inFirst.at(-1),
    });
  });

  it("grows a slow series' newest merged block through the hour instead of keeping one per merge", () => {
    // A door sensor's pace: a point a minute, merged every 10 minutes, for 3 hours.
    const start = T0 + 200 * HOUR;
    for (let round = 0; round < 18; round++) {
      db.transaction(() => {
        log(
          'slow',
          Array.from({ length: 10 }, (_, i): [number, number] => [start + (round * 10 + i) * 60_000, (round * 10 + i) % 2]),
        );
        w.flushAppends();
      })();
      w.compactAll();
      while (w.merge(Number.POSITIVE_INFINITY) > 0);
    }
    const s = w.seriesId(1, 'slow', undefined);
    const blocks = db.prepare('SELECT level, n FROM telemetry_blocks WHERE series = ? ORDER BY t0').all(s) as {
      level: number;
      n: number;
    }[];
    assert.deepStrictEqual(
      blocks.map((b) => b.n),
      [60, 60, 60],
      'an hour a block, not 10 minutes',
    );
    assert.deepStrictEqual(
      raw(s, start, start + 3 * HOUR).values,
      Array.from({ length: 180 }, (_, i) => i % 2),
    );
  });

  it('sets aside what it cannot store, whatever the cause, and compacts the rest', () => {
    // A frame an older hub acknowledged: t = 1e300 s, which no block can hold.
    const bad = encode({ type: 3, seq: 2, pack: [{ n: 'wild', v: 1, t: 1e300 }] });
    // A series whose blocks the database refuses, for a reason no retry cures.
    const doomed = w.seriesId(1, 'doomed', undefined);
    db.exec(`CREATE TRIGGER refuse_doomed BEFORE INSERT ON telemetry_blocks WHEN NEW.series = ${doomed}
             BEGIN SELECT RAISE(ABORT, 'refused by a test trigger'); END`);
    try {
      db.transaction(() => {
        log('good', [[T0 + 5000, 1]]);
        w.appendFrame(1, T0, bad);
        log('doomed', [[T0 + 6000, 2]]);
        log('good', [[T0 + 7000, 3]]);
        w.flushAppends();
      })();
      const quarantined: unknown[] = [];
      const gens = w.compactAll((q) => quarantined.push(...q));
      assert.ok(gens.length >= 1, 'the generation was compacted');
      assert.deepStrictEqual(
        quarantined.map((q) => {
          const { device, kind, points } = q as { device: number; kind: string; points: number };
          return { device, kind, points };
        }),
        [
          { device: 1, kind: 'frame', points: 0 },
          { device: 1, kind: 'series', points: 1 },
        ],
      );
      const rows = db.prepare('SELECT kind, ref, reason, frame IS NOT NULL AS f, points IS NOT NULL AS p FROM telemetry_quarantine').all();
      assert.equal(rows.length, 2);
      assert.match(String((rows[0] as { reason: string }).reason), /PROTO_ERR_SENML/);
      assert.match(String((rows[1] as { reason: string }).reason), /refused by a test trigger/);
      assert.deepStrictEqual(raw(w.seriesId(1, 'good', undefined), T0, T0 + 10_000).values, [1, 3]);
      assert.equal(db.prepare('SELECT count(*) FROM telemetry_log0').pluck().get() as number, 0);
      assert.equal(db.prepare('SELECT count(*) FROM telemetry_log1').pluck().get() as number, 0);
    } finally {
      db.exec('DROP TRIGGER refuse_doomed');
    }
  });

  it("merges the other series when one series' blocks cannot be merged", () => {
    for (let c = 0; c < 3; c++) {
      db.transaction(() => {
        log('rotten', [[T0 + 20 * HOUR + c * 1000, c]]);
        log('sound', [[T0 + 20 * HOUR + c * 1000, c]]);
        w.flushAppends();
      })();
      w.compactAll();
    }
    const rotten = w.seriesId(1, 'rotten', undefined);
    const sound = w.seriesId(1, 'sound', undefined);
    db.prepare("UPDATE telemetry_blocks SET data = x'ff' WHERE series = ?").run(rotten);
    const skipped: number[] = [];
    while (w.merge(Number.POSITIVE_INFINITY, (series) => skipped.push(series)) > 0);
    assert.deepStrictEqual(skipped, [rotten]);
    const level = (series: number) =>
      db.prepare('SELECT level, count(*) AS n FROM telemetry_blocks WHERE series = ? GROUP BY level').all(series);
    assert.deepStrictEqual(level(sound), [{ level: 1, n: 1 }]);
    assert.deepStrictEqual(level(rotten), [{ level: 0, n: 3 }], 'left as they were');
    db.prepare('DELETE FROM telemetry_blocks WHERE series = ?').run(rotten);
  });

  it('rewrites blocks of the first (CBOR) format in the current one, with the same answers, across a restart', () => {
    const s = w.seriesId(1, 'legacy', undefined);
    const insert = db.prepare(
      'INSERT INTO telemetry_blocks (series, t0, id, t1, level, gen, n, nnum, sum, min, max, data) VALUES (?, ?, ?, ?, 1, 0, ?, ?, ?, ?, ?, ?)',
    );
    // 150 old blocks of 20 points (three recode steps' worth of rows), the way the first format packed them.
    const start = T0 + 100 * HOUR;
    for (let b = 0; b < 150; b++) {
      const ts = Array.from({ length: 20 }, (_, i) => start + (b * 20 + i) * 1000);
      const values = ts.map((_, i) => (b % 10 === 0 && i === 3 ? 'text' : Math.round((20 + Math.sin(b + i)) * 10) / 10));
      const nums = values.filter((v): v is number => typeof v === 'number');
      const data = encodeCbor([ts[0], ts.map((t, i) => (i === 0 ? 0 : t - (ts[i - 1] as number))), values]);
      const sum = nums.reduce((a, v) => a + v, 0);
      insert.run(s, ts[0], 100_000 + b, ts[19], 20, nums.length, sum, Math.min(...nums), Math.max(...nums), data);
    }
    // A corrupt old block: left as it is, and the pass goes on.
    insert.run(s, start - HOUR, 99_999, start - HOUR, 1, 1, 1, 1, 1, new Uint8Array([0x83, 0xff]));
    db.prepare("UPDATE meta SET value = '0,0,0' WHERE key = 'telemetry.recode'").run();
    const to = start + 3000 * 1000;
    const before = { raw: raw(s, start, to), buckets: buckets(s, start, to, 15 * 60_000) };
    assert.equal(before.raw.ts.length, 3000);
    const format = () =>
      db.prepare('SELECT hex(substr(data, 1, 1)) AS f, count(*) AS n FROM telemetry_blocks WHERE series = ? GROUP BY f ORDER BY f').all(s);
    assert.deepStrictEqual(format(), [{ f: '83', n: 151 }]);
    let steps = 0;
    let recoded = 0;
    let skipped = 0;
    for (let r = w.recode(); r !== undefined; r = w.recode()) {
      steps++;
      recoded += r.blocks;
      skipped += r.skipped;
      // A restart half-way: the pass resumes where it stopped.
      if (steps === 2) w = new TelemetryWriter(db);
    }
    assert.ok(steps >= 3, `took ${steps} steps`);
    assert.equal(recoded, 150);
    assert.equal(skipped, 1);
    assert.deepStrictEqual(format(), [
      { f: '01', n: 150 },
      { f: '83', n: 1 },
    ]);
    assert.equal(w.recode(), undefined, 'the pass is over');
    db.prepare('DELETE FROM telemetry_blocks WHERE series = ? AND id = 99999').run(s);
    assert.deepStrictEqual(raw(s, start, to), before.raw);
    assert.deepStrictEqual(buckets(s, start, to, 15 * 60_000), before.buckets);
    const total = db.prepare('SELECT sum(length(data)) FROM telemetry_blocks WHERE series = ?').pluck().get(s) as number;
    assert.ok(total < 3000 * 2, `${total} bytes for 3000 points`);
  });

  it('deletes blocks older than the retention cutoff and nothing newer', () => {
    db.transaction(() => {
      log('old', [
        ...Array.from({ length: 10 }, (_, i): [number, number] => [T0 - 48 * HOUR + i * 1000, i]),
        ...Array.from({ length: 10 }, (_, i): [number, number] => [T0 + i * 1000, 100 + i]),
      ]);
      w.flushAppends();
    })();
    w.compactAll();
    const s = w.seriesId(1, 'old', undefined);
    const res = w.retain(T0 - 24 * HOUR, 0, 1000);
    assert.ok(res.deleted >= 1);
    const left = raw(s, 0, T0 + HOUR).values;
    assert.deepStrictEqual(left, [100, 101, 102, 103, 104, 105, 106, 107, 108, 109]);
  });
});
