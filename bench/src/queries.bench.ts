// Benchmark scenario 6: queries on a large table. Telemetry is generated straight
// into blocks (1,000 devices, one point a minute each, 50M points in all: about 35
// days) with their rollups (1-minute and 1-hour buckets, as compaction writes them),
// and for a few devices a year of hourly rollups before that (their raw points long
// gone); then the hub answers over HTTP: a day of one metric in 15-minute buckets, a
// month in daily buckets and a year in hourly ones (all three from rollups), an hour
// of raw points, and the latest values of 1,000 devices; p50 of repeats.

import { rmSync } from 'node:fs';
import { BLOCK_MAX_POINTS, rollupsOf } from '@halyard/hub';
import { build } from 'hdr-histogram-js';
import { type BenchRow, parseBenchArgs, report, size } from '../../scripts/bench-lib.js';
import { login, seedDevices, startHub } from './lib.js';
import { seedTemperature } from './telemetry-seed.js';

const args = parseBenchArgs();
const ROWS = size(args, 50_000_000, 5_000_000, 20_000);
const DEVICES = size(args, 1_000, 1_000, 10);
const REPEATS = size(args, 50, 20, 3);
const PER = Math.floor(ROWS / DEVICES);
const MINUTE = 60_000;
const END = Math.floor(Date.now() / MINUTE) * MINUTE;
const START = END - PER * MINUTE;
const HOUR = 3_600_000;
/** Devices with a year of hourly rollups before START. */
const YEAR_DEVICES = Math.min(DEVICES, 10);
const YEAR_START = Math.floor((END - 365 * 86_400_000) / HOUR) * HOUR;

const seeded = seedDevices(DEVICES);
const t0 = performance.now();
seedTemperature(seeded.dir, {
  devices: DEVICES,
  per: PER,
  start: START,
  step: MINUTE,
  extra: (db) => {
    const rollup = db.prepare(
      'INSERT INTO telemetry_rollups (series, width, t, n, nnum, sum, min, max, last_t, last_v) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    const gen = db.prepare('UPDATE series SET rollup_gen = 1 WHERE id = ?');
    return (s, d, ts, values) => {
      for (const r of rollupsOf({ ts, values })) rollup.run(s, r.width, r.t, r.n, r.nnum, r.sum, r.min, r.max, r.lastT, r.last);
      if (d <= YEAR_DEVICES) {
        // The year before: hourly rollups of a point a minute, its raw points long gone.
        for (let t = YEAR_START; t + HOUR <= START; t += HOUR) {
          const v = Math.round((20 + 5 * Math.sin((t / 86_400_000) * 2 * Math.PI)) * 10) / 10;
          rollup.run(s, HOUR, t, 60, 60, v * 60, v - 1, v + 1, t + HOUR - MINUTE, v);
        }
      }
      gen.run(s);
    };
  },
});
const generated = (performance.now() - t0) / 1000;
console.log(`  generated ${ROWS} points in ${generated.toFixed(1)} s (blocks of up to ${BLOCK_MAX_POINTS} points, an hour each)`);

const hub = await startHub(seeded.dir);
const token = await login(hub.port);
const headers = { authorization: `Bearer ${token}` };
const ids = seeded.tokens.map((t) => t.slice(0, t.lastIndexOf('.')));

async function p50(url: () => string): Promise<{ p50: number; p99: number; bytes: number }> {
  const h = build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
  let bytes = 0;
  await fetch(url(), { headers }); // warm
  for (let i = 0; i < REPEATS; i++) {
    const t = performance.now();
    const r = await fetch(url(), { headers });
    const body = await r.text();
    if (r.status !== 200) throw new Error(`${r.status} ${body.slice(0, 200)}`);
    h.recordValue(Math.round((performance.now() - t) * 1000));
    bytes = body.length;
  }
  return { p50: h.getValueAtPercentile(50) / 1000, p99: h.getValueAtPercentile(99) / 1000, bytes };
}

const api = `http://127.0.0.1:${hub.port}/api/v1`;
const pick = () => ids[Math.floor(Math.random() * ids.length)];
const day = await p50(() => `${api}/devices/${pick()}/telemetry?name=temp&from=${END - 86_400_000}&to=${END}&bucket=15m`);
const month = await p50(() => `${api}/devices/${pick()}/telemetry?name=temp&from=${END - 30 * 86_400_000}&to=${END}&bucket=1d`);
// Baselines in the same run: the same ranges from the raw blocks, in buckets 1 ms wider
// than 15 min and a day (a width no rollup divides, so the hub aggregates the points).
const dayRaw = await p50(() => `${api}/devices/${pick()}/telemetry?name=temp&from=${END - 86_400_000}&to=${END}&bucket=900001ms`);
const monthRaw = await p50(() => `${api}/devices/${pick()}/telemetry?name=temp&from=${END - 30 * 86_400_000}&to=${END}&bucket=86400001ms`);
const pickYear = () => ids[Math.floor(Math.random() * YEAR_DEVICES)];
const year = await p50(() => `${api}/devices/${pickYear()}/telemetry?name=temp&from=${YEAR_START}&to=${END}&bucket=1h`);
const rawHour = await p50(() => `${api}/devices/${pick()}/telemetry?name=temp&from=${END - 3_600_000}&to=${END}`);
const latest = await p50(() => `${api}/telemetry/latest?devices=${ids.slice(0, 1_000).join(',')}`);
await hub.child.stop();
rmSync(seeded.dir, { recursive: true, force: true });

const r2 = (n: number) => Math.round(n * 100) / 100;
const rows: BenchRow[] = [
  {
    scenario: 'queries',
    case: `${ROWS / 1e6}M points: one metric, a day in 15-min buckets (p50)`,
    value: r2(day.p50),
    unit: 'ms',
    baseline: 'the same from raw blocks',
    baselineValue: r2(dayRaw.p50),
    extra: { p99: day.p99 },
  },
  {
    scenario: 'queries',
    case: `${ROWS / 1e6}M points: one metric, a month in daily buckets (p50)`,
    value: r2(month.p50),
    unit: 'ms',
    baseline: 'the same from raw blocks',
    baselineValue: r2(monthRaw.p50),
    extra: { p99: month.p99 },
  },
  {
    scenario: 'queries',
    case: `${ROWS / 1e6}M points: one metric, a year in hourly buckets, rollups (p50)`,
    value: r2(year.p50),
    unit: 'ms',
    extra: { p99: year.p99, bytes: year.bytes },
  },
  {
    scenario: 'queries',
    case: `${ROWS / 1e6}M points: one metric, an hour of raw points (p50)`,
    value: r2(rawHour.p50),
    unit: 'ms',
    extra: { p99: rawHour.p99 },
  },
  {
    scenario: 'queries',
    case: `latest values of ${Math.min(1_000, DEVICES)} devices (p50)`,
    value: r2(latest.p50),
    unit: 'ms',
    extra: { p99: latest.p99, bytes: latest.bytes },
  },
];
report(rows, args);
console.log(`  (generation: ${generated.toFixed(1)} s)`);
