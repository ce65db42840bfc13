// Benchmark: a streamed export of 10M points. Telemetry is generated straight into
// blocks (10 devices, one metric at 1 Hz, 1M points each: about 12 days), then one
// fleet-wide CSV export and one NDJSON export of one device are read over HTTP as
// fast as the client takes them, while the hub's RSS is sampled. The baseline,
// measured in the same run, is an export of a tenth of the points (one device):
// the same peak RSS for ten times the data is what constant memory means
// (README.md § Data export and retention).

import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { blockRanges, openDatabase, packBlocks } from '@halyard/hub';
import { type BenchRow, parseBenchArgs, report, size } from '../../scripts/bench-lib.js';
import { login, procUsage, seedDevices, startHub } from './lib.js';

const args = parseBenchArgs();
const POINTS = size(args, 10_000_000, 2_000_000, 20_000);
const DEVICES = 10;
const PER = Math.floor(POINTS / DEVICES);
const SECOND = 1_000;
const END = Math.floor(Date.now() / SECOND) * SECOND;
const START = END - PER * SECOND;

const seeded = seedDevices(DEVICES);
const t0 = performance.now();
{
  const db = openDatabase(join(seeded.dir, 'halyard.db'), { cacheMiB: 256 });
  db.pragma('synchronous = OFF');
  const metric = Number(db.prepare("INSERT INTO metrics (name) VALUES ('temp')").run().lastInsertRowid);
  const series = db.prepare('INSERT INTO series (device, metric, unit, last_ts, last_v) VALUES (?, ?, ?, ?, ?)');
  const block = db.prepare(
    'INSERT INTO telemetry_blocks (series, t0, id, t1, level, gen, n, nnum, sum, min, max, data) VALUES (?, ?, ?, ?, 1, 1, ?, ?, ?, ?, ?, ?)',
  );
  let id = 1;
  const ts: number[] = new Array(PER);
  const values: number[] = new Array(PER);
  for (let d = 1; d <= DEVICES; d++) {
    for (let i = 0; i < PER; i++) {
      ts[i] = START + i * SECOND;
      values[i] = Math.round((20 + 5 * Math.sin((i / 86_400) * 2 * Math.PI) + (i % 7) / 10) * 10) / 10;
    }
    db.transaction(() => {
      const s = Number(series.run(d, metric, 'Cel', ts[PER - 1], values[PER - 1]).lastInsertRowid);
      for (const [a, b] of blockRanges(ts)) {
        for (const p of packBlocks(ts, values, a, b)) block.run(s, p.t0, id++, p.t1, p.n, p.nnum, p.sum, p.min, p.max, p.data);
      }
    })();
  }
  db.prepare("INSERT INTO meta (key, value) VALUES ('telemetry.compacted', '1'), ('telemetry.gen', '2')").run();
  db.close();
}
console.log(`  generated ${POINTS} points in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

const hub = await startHub(seeded.dir);
const token = await login(hub.port);
const api = `http://127.0.0.1:${hub.port}/api/v1`;
const ids = seeded.tokens.map((t) => t.slice(0, t.lastIndexOf('.')));

/** Reads an export to its end; the hub's RSS sampled every 100 ms. */
async function exportOnce(url: string): Promise<{ mbps: number; rows: number; bytes: number; seconds: number; peakRss: number }> {
  let peakRss = procUsage(hub.child.pid).rssBytes;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, procUsage(hub.child.pid).rssBytes);
  }, 100);
  const start = performance.now();
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  if (res.status !== 200 || res.body === null) throw new Error(`export: ${res.status} ${await res.text()}`);
  let bytes = 0;
  let rows = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    bytes += chunk.length;
    for (let i = chunk.indexOf(0x0a); i !== -1; i = chunk.indexOf(0x0a, i + 1)) rows++;
  }
  const seconds = (performance.now() - start) / 1000;
  clearInterval(sampler);
  return { mbps: bytes / 2 ** 20 / seconds, rows, bytes, seconds, peakRss };
}

const restRss = procUsage(hub.child.pid).rssBytes;
// A tenth first (one device), then everything: memory that does not grow with the range peaks alike.
const tenth = await exportOnce(`${api}/devices/${ids[0]}/telemetry/export?format=csv&from=${START}&to=${END}`);
if (tenth.rows !== PER + 1) throw new Error(`CSV export of one device: ${tenth.rows} lines, expected ${PER + 1}`);
const csv = await exportOnce(`${api}/export/telemetry?format=csv&name=temp&from=${START}&to=${END}`);
if (csv.rows !== POINTS + 1) throw new Error(`CSV export: ${csv.rows} lines, expected ${POINTS + 1}`);
const nd = await exportOnce(`${api}/devices/${ids[0]}/telemetry/export?format=ndjson&from=${START}&to=${END}`);
if (nd.rows !== PER) throw new Error(`NDJSON export: ${nd.rows} lines, expected ${PER}`);
await hub.child.stop();
rmSync(seeded.dir, { recursive: true, force: true });

const mib = (n: number) => Math.round(n / 2 ** 20);
const r1 = (n: number) => Math.round(n * 10) / 10;
const r2 = (n: number) => Math.round(n * 100) / 100;
const rows: BenchRow[] = [
  {
    scenario: 'export',
    case: `${POINTS / 1e6}M points, ${DEVICES} devices, CSV`,
    value: r1(csv.mbps),
    unit: 'MB/s',
    baseline: `${PER / 1e6}M points of one device, CSV`,
    baselineValue: r1(tenth.mbps),
    extra: { pointsPerSecond: Math.round(POINTS / csv.seconds), mib: mib(csv.bytes), seconds: r1(csv.seconds) },
  },
  {
    scenario: 'export',
    case: `hub peak RSS exporting ${POINTS / 1e6}M points (CSV)`,
    value: mib(csv.peakRss),
    unit: 'MiB',
    baseline: `exporting ${PER / 1e6}M points`,
    baselineValue: mib(tenth.peakRss),
    extra: { hubRssRestMiB: mib(restRss), ratio: r2(csv.peakRss / tenth.peakRss) },
  },
  {
    scenario: 'export',
    case: `${PER / 1e6}M points, one device, NDJSON`,
    value: r1(nd.mbps),
    unit: 'MB/s',
    extra: { pointsPerSecond: Math.round(PER / nd.seconds), mib: mib(nd.bytes), hubRssPeakMiB: mib(nd.peakRss) },
  },
];
report(rows, args);
