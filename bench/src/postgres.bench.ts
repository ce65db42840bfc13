// Benchmark scenario 8: the hub on PostgreSQL beside the hub on SQLite, in one run.
// Ingest: for each fleet (1,000 and 200 devices) and frame size (1 and 10 records),
// the sustained-rate search of the ingest scenario (ingest-search.ts: same load
// generator, steps and criteria, same first rate) against a hub on SQLite and a hub
// on a PostgreSQL of its own (fsync on, started by the hub's test helper), with the
// server's CPU (postmaster and backends, from /proc) beside the hub's. Queries: the
// queries scenario's table (1,000 devices, a point a minute, 50M points) generated
// server-side, then the same reads timed through PostgresStore's TelemetryStore.

import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { BucketAccumulator, ensurePartitions, PostgresStore } from '@halyard/hub';
import { startPostgres, type TestPostgres } from '@halyard/hub/test/postgres';
import { build } from 'hdr-histogram-js';
import pg from 'pg';
import { type BenchRow, parseBenchArgs, report, size } from '../../scripts/bench-lib.js';
import { bareRate, held, type Step, searchSustained } from './ingest-search.js';
import { procUsage, seedDevices, seedPostgres, startHub, startLoadgen } from './lib.js';

const args = parseBenchArgs();
const FLEETS = size(args, [1000, 200], [200], [10]);
const STEP_MS = size(args, 4_000, 1_000, 300);
const FIRST = size(args, 0.08, 0.15, 0.08);
const FACTOR = size(args, 1.25, 1.5, 1.25);
const MAX_STEPS = size(args, 30, 30, 3);
const WINDOW = 64;
const POINTS = size(args, 50_000_000, 5_000_000, 20_000);
const QUERY_DEVICES = size(args, 1_000, 1_000, 10);
const REPEATS = size(args, 50, 20, 3);

let server: TestPostgres;
try {
  server = await startPostgres({
    fsync: true,
    settings: {
      // Modest production settings for a machine with memory to spare: the default
      // 128 MB of buffers would make the queries read a 50M-point table from the OS
      // cache, and the default 1 GB of WAL between checkpoints would checkpoint
      // every few seconds of 10-record ingest.
      shared_buffers: '1GB',
      max_wal_size: '8GB',
    },
  });
} catch (err) {
  if (/PostgreSQL not found/.test(String(err))) {
    console.log(`  postgres: skipped, ${(err as Error).message}`);
    process.exit(0);
  }
  throw err;
}

/** The postmaster's pid (first line of postmaster.pid), or undefined for a server not ours. */
function postmasterPid(): number | undefined {
  if (server.dir === undefined) return undefined;
  return Number(readFileSync(join(server.dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
}

/**
 * CPU seconds of the postmaster and its children (backends, WAL writer, checkpointer,
 * autovacuum), those that have exited included (the postmaster's cutime and cstime):
 * without them a backend ending between two readings made a step's figure negative.
 */
function serverCpu(pid: number): number {
  const own = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const reaped = own.slice(own.lastIndexOf(')') + 2).split(' ');
  let total = (Number(reaped[13]) + Number(reaped[14])) / 100;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(entry) !== pid && Number(fields[1]) !== pid) continue;
      total += procUsage(Number(entry)).cpuSeconds;
    } catch {
      // gone between the listing and the read
    }
  }
  return total;
}

const pmPid = postmasterPid();
const otherCpu = pmPid === undefined ? undefined : () => serverCpu(pmPid);

async function hubRun(
  devices: number,
  records: number,
  firstRate: number,
  store: 'sqlite' | 'postgres',
): Promise<{ best: Step; max: Step; steps: Step[] }> {
  const seeded = seedDevices(devices);
  const db = store === 'postgres' ? await seedPostgres(server, devices) : undefined;
  const hub = await startHub(seeded.dir, db ? ['--store', db.url] : []);
  const gen = await startLoadgen(hub.port, seeded.tokensFile, { records, window: WINDOW });
  await gen.request({ cmd: 'connect' }, 'connected');
  const r = await searchSustained(gen, hub.child.pid, hub.port, {
    stepMs: STEP_MS,
    firstRate,
    factor: FACTOR,
    maxSteps: MAX_STEPS,
    ...(db && otherCpu ? { otherCpu } : {}),
  });
  gen.send({ cmd: 'pause' });
  await gen.request({ cmd: 'stop' }, 'stopped');
  await hub.child.stop();
  await db?.drop();
  rmSync(seeded.dir, { recursive: true, force: true });
  return r;
}

const r2 = (n: number) => Math.round(n * 100) / 100;
const rows: BenchRow[] = [];
try {
  for (const devices of FLEETS) {
    const fleet = seedDevices(devices);
    for (const records of [1, 10]) {
      const bare = await bareRate(fleet.tokensFile, records, WINDOW, STEP_MS);
      console.error(`  postgres: ${devices} devices, ${records}-record frames (bare ws ${Math.round(bare)} frames/s)`);
      // The same first rate for both stores: the same steps, so the same grid of rates.
      const lite = await hubRun(devices, records, bare * FIRST, 'sqlite');
      const pgRun = await hubRun(devices, records, bare * FIRST, 'postgres');
      const per = records === 1 ? 1 : records;
      const unit = records === 1 ? 'frames/s' : 'points/s';
      const b = pgRun.best;
      const l = lite.best;
      rows.push({
        scenario: 'postgres',
        case: `${devices} devices, ${records}-record frames, sustained on PostgreSQL (ack p99 < 100 ms)`,
        value: b.acked * per,
        unit,
        baseline: 'the hub on SQLite, same search',
        baselineValue: l.acked * per,
        extra: {
          frames: Math.round(b.acked),
          ackP50ms: b.p50,
          ackP99ms: b.p99,
          hubCpuCores: r2(b.cpu),
          pgCpuCores: r2(b.otherCpu),
          hubRssMiB: Math.round(b.rss / 2 ** 20),
          lagMs: b.lag,
          held: held(b),
          unlimitedFrames: Math.round(pgRun.max.acked),
          unlimitedP99ms: pgRun.max.p99,
          unlimitedPgCpuCores: r2(pgRun.max.otherCpu),
          sqlite: {
            frames: Math.round(l.acked),
            ackP99ms: l.p99,
            hubCpuCores: r2(l.cpu),
            held: held(l),
            unlimitedFrames: Math.round(lite.max.acked),
            unlimitedP99ms: lite.max.p99,
          },
        },
      });
    }
    rmSync(fleet.dir, { recursive: true, force: true });
  }
  rows.push(...(await queries()));
} finally {
  await server.stop();
}
report(rows, args);
for (const r of rows) if (r.extra) console.log(`  ${r.case}: ${JSON.stringify(r.extra)}`);

/**
 * The queries scenario's table on PostgreSQL: QUERY_DEVICES devices with one series
 * each, a point a minute up to now, generated by the server (generate_series: no
 * client encoding, a million rows a second here), in day partitions as ingest makes
 * them; then VACUUM ANALYZE, as autovacuum would have done on a table that grew over
 * a month. The reads are PostgresStore's, as the hub's telemetry service calls them.
 */
async function queries(): Promise<BenchRow[]> {
  const MINUTE = 60_000;
  const DAY = 86_400_000;
  const per = Math.floor(POINTS / QUERY_DEVICES);
  const end = Math.floor(Date.now() / MINUTE) * MINUTE;
  const start = end - (per - 1) * MINUTE;
  const db = await seedPostgres(server, QUERY_DEVICES);
  const pool = new pg.Pool({ connectionString: db.url, max: 2 });
  const t0 = performance.now();
  await ensurePartitions(pool, Date.now(), start);
  await pool.query(`INSERT INTO series (device, name, unit) SELECT rowid, 'temp', '"Cel"' FROM devices ORDER BY rowid`);
  const ids = (await pool.query<{ id: string; device: string }>('SELECT id, device FROM series ORDER BY id')).rows.map((r) => ({
    series: Number(r.id),
    device: Number(r.device),
  }));
  // Series by series, each in time order (as the index is), two connections at once (two cores).
  const chunk = Math.max(1, Math.ceil(ids.length / 40));
  const chunks: number[][] = [];
  for (let i = 0; i < ids.length; i += chunk) chunks.push(ids.slice(i, i + chunk).map((s) => s.series));
  const worker = async () => {
    for (let c = chunks.shift(); c !== undefined; c = chunks.shift()) {
      await pool.query(
        `INSERT INTO telemetry (series, ts, v)
         SELECT s, $1::bigint + i * ${MINUTE}, round((20 + 5 * sin(i / 1440.0 * 2 * pi()) + (i % 7) / 10.0)::numeric, 1)::float8
         FROM unnest($2::bigint[]) s, generate_series(0, $3::bigint - 1) i ORDER BY s, i`,
        [start, c, per],
      );
    }
  };
  await Promise.all([worker(), worker()]);
  const inserted = (performance.now() - t0) / 1000;
  await pool.query('VACUUM ANALYZE telemetry');
  const generated = (performance.now() - t0) / 1000;
  const bytes = Number(
    (
      await pool.query<{ b: string }>(
        `SELECT sum(pg_total_relation_size(inhrelid))::bigint AS b FROM pg_inherits WHERE inhparent = 'telemetry'::regclass`,
      )
    ).rows[0]?.b ?? 0,
  );
  await pool.end();
  console.log(
    `  postgres: generated ${per * ids.length} points in ${inserted.toFixed(1)} s, VACUUM ANALYZE to ${generated.toFixed(1)} s; telemetry ${(bytes / 2 ** 30).toFixed(2)} GiB with its indexes`,
  );

  const store = await PostgresStore.open({
    url: db.url,
    commitIntervalMs: 5,
    maxBatchFrames: 1000,
    maxFrame: 65_536,
    retentionMs: 0,
    maintenanceIntervalMs: 0,
  });
  const pick = () => ids[Math.floor(Math.random() * ids.length)] as { series: number; device: number };
  async function timed(fn: () => Promise<unknown>): Promise<{ p50: number; p99: number }> {
    const h = build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
    await fn(); // warm
    for (let i = 0; i < REPEATS; i++) {
      const t = performance.now();
      await fn();
      h.recordValue(Math.round((performance.now() - t) * 1000));
    }
    return { p50: h.getValueAtPercentile(50) / 1000, p99: h.getValueAtPercentile(99) / 1000 };
  }
  const buckets = (from: number, width: number) => async () => {
    const acc = new BucketAccumulator(from, end, width);
    await store.telemetry.blockBuckets(pick().series, acc, 0);
    return acc.result();
  };
  const day = await timed(buckets(end - DAY, 15 * MINUTE));
  const month = await timed(buckets(end - 30 * DAY, DAY));
  const rawHour = await timed(() => store.telemetry.blockPoints(pick().series, end - 3_600_000, end, 0));
  const devices = ids.map((s) => s.device).slice(0, 1_000);
  const latest = await timed(() => store.telemetry.latestMany(devices, 10_000));
  await store.close();
  await db.drop();
  const label = `${(per * ids.length) / 1e6}M points`;
  const row = (what: string, t: { p50: number; p99: number }): BenchRow => ({
    scenario: 'postgres',
    case: `${what} on PostgreSQL, through PostgresStore (p50)`,
    value: r2(t.p50),
    unit: 'ms',
    extra: { p99: r2(t.p99), generatedSeconds: r2(generated), tableGiB: r2(bytes / 2 ** 30) },
  });
  return [
    row(`${label}: one metric, a day in 15-min buckets`, day),
    row(`${label}: one metric, a month in daily buckets`, month),
    row(`${label}: one metric, an hour of raw points`, rawHour),
    row(`latest values of ${devices.length} devices`, latest),
  ];
}
