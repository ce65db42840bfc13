// Benchmark scenario: telemetry on disk. Each simulator profile's series (thermostat,
// power meter with its growing energy counter, door sensor booleans, tracker
// coordinates) plus a random-noise float (the worst case), sampled at the profile's
// rate with timer jitter for a simulated week, are packed into blocks as the hub packs
// them, and their size is printed per point: the block codec, the first (CBOR) block
// format it replaced, and the Gorilla encoding computed here on the same points and
// block boundaries (gorilla.ts). Disk per point comes from SQLite's dbstat over the
// blocks written into a real database, and is turned into disk per device-year.
// Beside them, the rollups (1-minute and 1-hour buckets) of the same series, written
// as the hub writes them: disk per rollup row and per series-year, for the README's
// year of one 1 Hz metric, raw and rolled up.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, constants, deflateRawSync } from 'node:zlib';
import { createProfile, type ProfileName, seededRandom } from '@halyard/device-sim';
import { encodeCbor } from '@halyard/firmware-protocol';
import { blockRanges, migrate, openDatabase, type PackedBlock, packBlocks, ROLLUP_WIDTHS, rollupsOf, unpackBlock } from '@halyard/hub';
import { type BenchRow, parseBenchArgs, report, size } from '../../scripts/bench-lib.js';
import { gorillaBits } from './gorilla.js';

type Value = number | string | boolean | Uint8Array;
interface Series {
  ts: number[];
  values: Value[];
}

const args = parseBenchArgs();
const DAYS = size(args, 7, 2, 1 / 12);
const START = Date.UTC(2026, 0, 5);
const YEAR_S = 365.25 * 86_400;
const PROFILES: (ProfileName | 'random-noise')[] = ['thermostat', 'power-meter', 'door-sensor', 'tracker', 'random-noise'];

/** A profile's series over DAYS: samples at its rate, each a few ms late as timers are. */
function generate(name: ProfileName | 'random-noise'): { series: Map<string, Series>; perSecond: number } {
  const random = seededRandom(0x57a6e);
  const series = new Map<string, Series>();
  const add = (n: string, t: number, v: Value) => {
    let s = series.get(n);
    if (s === undefined) {
      s = { ts: [], values: [] };
      series.set(n, s);
    }
    s.ts.push(t);
    s.values.push(v);
  };
  const profile = name === 'random-noise' ? undefined : createProfile(name, { random, now: START, index: 0 });
  const rate = profile?.rate ?? 1;
  const interval = 1000 / rate;
  const samples = Math.floor((DAYS * 86_400_000) / interval);
  let records = 0;
  for (let i = 0; i < samples; i++) {
    const t = Math.round(START + i * interval + random() * 2);
    if (profile === undefined) {
      add('noise', t, random() * 100);
      records++;
      continue;
    }
    for (const r of profile.sample(t)) {
      const v = r.v ?? r.vs ?? r.vb ?? r.vd;
      if (v === undefined || r.n === undefined) continue;
      add(r.n, t, v);
      records++;
    }
  }
  return { series, perSecond: (records / samples) * rate };
}

/** The first block format, as packBlock wrote it before the codec: CBOR [t0, [Δt], [values]]. */
function legacyBlock(s: Series, start: number, end: number): Uint8Array {
  const deltas = s.ts.slice(start, end).map((t, i) => (i === 0 ? 0 : t - (s.ts[start + i - 1] as number)));
  return encodeCbor([s.ts[start] as number, deltas, s.values.slice(start, end)]);
}

/** Writes blocks into a fresh database and reads the blocks table's size with dbstat. */
function diskBytes(dir: string, file: string, blocks: [number, PackedBlock][]): number {
  const db = openDatabase(join(dir, file));
  try {
    migrate(db);
    db.pragma('synchronous = OFF');
    db.prepare("INSERT INTO devices (id, secret_hash, created_at) VALUES ('d', x'00', 0)").run();
    const metric = db.prepare('INSERT INTO metrics (name) VALUES (?)');
    const series = db.prepare('INSERT INTO series (device, metric) VALUES (1, ?)');
    const insert = db.prepare(
      'INSERT INTO telemetry_blocks (series, t0, id, t1, level, gen, n, nnum, sum, min, max, data) VALUES (?, ?, ?, ?, 1, 1, ?, ?, ?, ?, ?, ?)',
    );
    db.transaction(() => {
      const ids = new Map<number, number>();
      let id = 1;
      for (const [s, b] of blocks) {
        let sid = ids.get(s);
        if (sid === undefined) {
          sid = Number(series.run(Number(metric.run(`m${s}`).lastInsertRowid)).lastInsertRowid);
          ids.set(s, sid);
        }
        insert.run(sid, b.t0, id++, b.t1, b.n, b.nnum, b.sum, b.min, b.max, b.data);
      }
    })();
    return db.prepare("SELECT sum(pgsize) FROM dbstat WHERE name = 'telemetry_blocks'").pluck().get() as number;
  } finally {
    db.close();
  }
}

/** Writes the series' rollups into a fresh database; disk bytes per row of each width (dbstat over the table, apportioned by rows). */
function rollupDisk(dir: string, file: string, series: Map<string, Series>): Map<number, { rows: number; bytesPerRow: number }> {
  const db = openDatabase(join(dir, file));
  try {
    migrate(db);
    db.pragma('synchronous = OFF');
    const insert = db.prepare(
      'INSERT INTO telemetry_rollups (series, width, t, n, nnum, sum, min, max, last_t, last_v, last_x) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    const rows = new Map<number, number>(ROLLUP_WIDTHS.map((w) => [w, 0]));
    db.transaction(() => {
      let s = 0;
      for (const [, p] of series) {
        s++;
        for (const r of rollupsOf(p)) {
          const v = typeof r.last === 'number' ? r.last : null;
          const x = typeof r.last === 'boolean' ? (r.last ? 1 : 0) : typeof r.last === 'number' ? null : r.last;
          insert.run(s, r.width, r.t, r.n, r.nnum, r.sum, r.min, r.max, r.lastT, v, x);
          rows.set(r.width, (rows.get(r.width) ?? 0) + 1);
        }
      }
    })();
    const total = db.prepare("SELECT sum(pgsize) FROM dbstat WHERE name = 'telemetry_rollups'").pluck().get() as number;
    const all = [...rows.values()].reduce((a, b) => a + b, 0);
    return new Map([...rows].map(([w, n]) => [w, { rows: n, bytesPerRow: total / all }]));
  } finally {
    db.close();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'halyard-storage-bench-'));
const rows: BenchRow[] = [];
const r3 = (n: number) => Math.round(n * 1000) / 1000;
try {
  for (const name of PROFILES) {
    const { series, perSecond } = generate(name);
    let points = 0;
    let bytes = 0;
    let legacy = 0;
    let deflated = 0;
    let brotli = 0;
    /** Points, new-codec bytes and Gorilla bits over the series Gorilla can hold (numbers, booleans as 0/1). */
    const comparable = { points: 0, bytes: 0, gorillaBits: 0 };
    const newBlocks: [number, PackedBlock][] = [];
    const oldBlocks: [number, PackedBlock][] = [];
    let encodeMs = 0;
    let legacyEncodeMs = 0;
    let decodeMs = 0;
    let legacyDecodeMs = 0;
    let recodeMs = 0;
    let s = 0;
    for (const [, p] of series) {
      s++;
      points += p.ts.length;
      const numeric = p.values.every((v) => typeof v === 'number' || typeof v === 'boolean');
      for (const [a, b] of blockRanges(p.ts)) {
        let t = performance.now();
        const packed = packBlocks(p.ts, p.values, a, b);
        encodeMs += performance.now() - t;
        let blockBytes = 0;
        for (const k of packed) {
          newBlocks.push([s, k]);
          blockBytes += k.data.length;
          deflated += Math.min(k.data.length, deflateRawSync(k.data).length + 1);
          brotli += Math.min(
            k.data.length,
            brotliCompressSync(k.data, { params: { [constants.BROTLI_PARAM_QUALITY]: 5, [constants.BROTLI_PARAM_LGWIN]: 16 } }).length + 1,
          );
        }
        bytes += blockBytes;
        t = performance.now();
        const old = legacyBlock(p, a, b);
        legacyEncodeMs += performance.now() - t;
        legacy += old.length;
        const oldMeta = packed.reduce((m, k) => ({ t1: k.t1, n: m.n + k.n, nnum: m.nnum + k.nnum, sum: (m.sum ?? 0) + (k.sum ?? 0) }), {
          t1: 0,
          n: 0,
          nnum: 0,
          sum: 0 as number | null,
        });
        oldBlocks.push([s, { t0: p.ts[a] as number, min: null, max: null, ...oldMeta, data: old }]);
        // Speed (the encodings are timed above): decoding each format, and rewriting an old block in the new one (the recode pass).
        t = performance.now();
        for (const k of packed) unpackBlock(k.data);
        decodeMs += performance.now() - t;
        t = performance.now();
        const back = unpackBlock(old);
        legacyDecodeMs += performance.now() - t;
        t = performance.now();
        packBlocks(back.ts, back.values, 0, back.ts.length);
        recodeMs += performance.now() - t;
        if (numeric) {
          comparable.points += b - a;
          comparable.bytes += blockBytes;
          const nums = p.values.slice(a, b).map((v) => (typeof v === 'boolean' ? (v ? 1 : 0) : (v as number)));
          comparable.gorillaBits += Math.ceil(gorillaBits(p.ts.slice(a, b), nums) / 8) * 8;
        }
      }
    }
    const disk = diskBytes(dir, `${name}-new.db`, newBlocks);
    const rolled = rollupDisk(dir, `${name}-rollups.db`, series);
    const perSeriesYear = (w: number) => ((rolled.get(w)?.bytesPerRow ?? 0) * (YEAR_S * 1000)) / w / 2 ** 20;
    const diskOld = diskBytes(dir, `${name}-old.db`, oldBlocks);
    const perYear = perSecond * YEAR_S;
    const gorilla = comparable.gorillaBits / 8 / comparable.points;
    rows.push({
      scenario: 'storage',
      case: `${name}: block codec, bytes/point (${[...series.keys()].join(', ')})`,
      value: r3(comparable.bytes / comparable.points),
      unit: 'B/point',
      baseline: 'Gorilla (same points, same blocks)',
      baselineValue: r3(gorilla),
      extra: {
        seriesGorillaCovers: [...series].filter(([, p]) => p.values.every((v) => typeof v !== 'string')).map(([n]) => n),
        points,
        allSeriesBytesPerPoint: r3(bytes / points),
        firstFormatBytesPerPoint: r3(legacy / points),
        withDeflateBytesPerPoint: r3(deflated / points),
        withBrotliBytesPerPoint: r3(brotli / points),
        diskBytesPerPoint: r3(disk / points),
        firstFormatDiskBytesPerPoint: r3(diskOld / points),
        pointsPerDeviceYear: Math.round(perYear),
        diskMiBPerDeviceYear: r3(((disk / points) * perYear) / 2 ** 20),
        firstFormatDiskMiBPerDeviceYear: r3(((diskOld / points) * perYear) / 2 ** 20),
        encodeMpointsPerS: r3(points / encodeMs / 1000),
        firstFormatEncodeMpointsPerS: r3(points / legacyEncodeMs / 1000),
        decodeMpointsPerS: r3(points / decodeMs / 1000),
        firstFormatDecodeMpointsPerS: r3(points / legacyDecodeMs / 1000),
        recodeMpointsPerS: r3(points / recodeMs / 1000),
      },
    });
    // A year of one series at this profile's rate, raw (blocks) and as rollups of each width.
    const pointsPerSeriesYear = (points / series.size / (DAYS * 86_400)) * YEAR_S;
    rows.push({
      scenario: 'storage',
      case: `${name}: rollups, disk MiB per series-year (1-minute + 1-hour)`,
      value: r3(perSeriesYear(60_000) + perSeriesYear(3_600_000)),
      unit: 'MiB',
      baseline: 'raw points in blocks, a series-year',
      baselineValue: r3(((disk / points) * pointsPerSeriesYear) / 2 ** 20),
      extra: {
        rollupBytesPerRow: r3(rolled.get(60_000)?.bytesPerRow ?? 0),
        minuteMiBPerSeriesYear: r3(perSeriesYear(60_000)),
        hourMiBPerSeriesYear: r3(perSeriesYear(3_600_000)),
        pointsPerSeriesYear: Math.round(pointsPerSeriesYear),
        rawBytesPerPoint: r3(disk / points),
      },
    });
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
report(rows, args);
for (const r of rows) console.log(`  ${r.case.split(':')[0]}: ${JSON.stringify(r.extra)}`);
