// Benchmark scenario 9: cluster mode on one machine (README.md § Running a cluster,
// docs/scaling.md). All on one PostgreSQL (fsync on) and, for the cluster, one Redis,
// both started by the hub's test helpers:
//   - ingest: the same fleet and offered rate against one node (PostgreSQL, no
//     --cluster) and against a two-node cluster (half the fleet on each): acknowledged
//     rate, ACK p99 and the hubs' CPU, so the cost of cluster mode on one box shows;
//   - command round trip: ?wait commands made on node A to devices held by node B,
//     beside the same to devices held by node A, at the same rate;
//   - takeover: a device that moves from one live node to the other, connect to
//     WELCOME, beside a connect nobody holds;
//   - failover: kill -9 of the node holding a fleet behind HAProxy (deploy/haproxy.cfg),
//     until every device is online again on the other node.

import { rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { DEVICE_SUBPROTOCOL, decode, encode, MessageType } from '@halyard/firmware-protocol';
import { startHaproxy } from '@halyard/hub/test/haproxy';
import { startPostgres, type TestPostgres } from '@halyard/hub/test/postgres';
import { startRedis, type TestRedis } from '@halyard/hub/test/redis';
import { build } from 'hdr-histogram-js';
import WebSocket from 'ws';
import { type BenchRow, parseBenchArgs, report, size } from '../../scripts/bench-lib.js';
import { type Child, type HubHandle, login, procUsage, seedDevices, seedPostgres, sleep, startHub, startLoadgen } from './lib.js';

const args = parseBenchArgs();
const DEVICES = size(args, 1_000, 400, 20);
const RATE = size(args, 4_000, 2_000, 100);
const STEP_MS = size(args, 8_000, 4_000, 1_000);
const COMMAND_RATE = size(args, 50, 25, 5);
const COMMAND_SECONDS = size(args, 10, 4, 1);
/** Devices that move once each (a device may connect 20 times a minute, SPEC.md §9), and as many that connect fresh. */
const MOVES = size(args, 40, 20, 4);
const FAILOVER_DEVICES = size(args, 500, 200, 10);

let server: TestPostgres;
let redis: TestRedis;
try {
  [server, redis] = await Promise.all([startPostgres({ fsync: true }), startRedis()]);
} catch (err) {
  if (/not found/.test(String(err))) {
    console.log(`  cluster: skipped, ${(err as Error).message}`);
    process.exit(0);
  }
  throw err;
}

let clusterSeq = 0;
/** Hubs on `url`: one without --cluster, or `n` nodes of a cluster on the shared Redis (a prefix of their own). */
async function startNodes(url: string, dir: string, n: number, cluster: boolean): Promise<HubHandle[]> {
  const prefix = `${redis.prefix}c${++clusterSeq}:`;
  const flags = (i: number) => [
    '--store',
    url,
    ...(cluster ? ['--cluster', `${redis.url}?prefix=${encodeURIComponent(prefix)}`, '--node-id', `bench${i + 1}`] : []),
    '--trusted-proxies',
    '127.0.0.1',
  ];
  const first = await startHub(dir, flags(0));
  started.push(first);
  const rest = await Promise.all(Array.from({ length: n - 1 }, (_, i) => startHub(dir, flags(i + 1))));
  started.push(...rest);
  return [first, ...rest];
}

/** A load generator for the tokens `from`..`to` of the fleet, against `port`. */
async function loadgen(port: number, tokens: string[], dir: string, name: string, responder = false): Promise<Child> {
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(tokens));
  const gen = await startLoadgen(port, file, { records: 1, window: 64, responder });
  await gen.request({ cmd: 'connect' }, 'connected');
  return gen;
}

interface IngestResult {
  acked: number;
  p99: number;
  hubCores: number;
}

/** Every generator at its share of RATE for STEP_MS: acknowledged frames/s, worst ACK p99, hubs' CPU. */
async function ingestStep(gens: Child[], hubs: HubHandle[]): Promise<IngestResult> {
  for (const g of gens) g.send({ cmd: 'rate', value: RATE / gens.length });
  await sleep(1_000);
  await Promise.all(gens.map((g) => g.request({ cmd: 'reset' }, 'reset')));
  const cpu0 = hubs.reduce((a, h) => a + procUsage(h.child.pid).cpuSeconds, 0);
  const t0 = performance.now();
  await sleep(STEP_MS);
  const stats = (await Promise.all(gens.map((g) => g.request({ cmd: 'stats' }, 'stats')))) as {
    acked: number;
    latency: { p99: number };
  }[];
  const dt = (performance.now() - t0) / 1000;
  const cpu1 = hubs.reduce((a, h) => a + procUsage(h.child.pid).cpuSeconds, 0);
  await Promise.all(gens.map((g) => g.request({ cmd: 'pause' }, 'paused')));
  return {
    acked: stats.reduce((a, s) => a + s.acked, 0) / dt,
    p99: Math.max(...stats.map((s) => s.latency.p99)),
    hubCores: (cpu1 - cpu0) / dt,
  };
}

// node:http with a keep-alive pool: the client shares the cores with the hubs.
const agent = new Agent({ keepAlive: true, maxSockets: 256 });
function post(port: number, token: string, path: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `http://127.0.0.1:${port}/api/v1${path}`,
      { method: 'POST', agent, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          text += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    // A command answers within its ?wait; a request still open long after is a failure, not a hang.
    req.setTimeout(15_000, () => req.destroy(new Error('no answer in 15 s')));
    req.end(body);
  });
}

/** ?wait commands made on `port` to `ids`, COMMAND_RATE a second: p50/p99 ms to succeeded, and failures. */
async function commandRun(port: number, token: string, ids: string[]): Promise<{ p50: number; p99: number; failures: number }> {
  const h = build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
  let failures = 0;
  const pending: Promise<void>[] = [];
  const total = COMMAND_RATE * COMMAND_SECONDS;
  const start = performance.now();
  const body = JSON.stringify({ name: 'ping', timeout: '5s' });
  for (let i = 0; i < total; i++) {
    const wait = start + (i * 1000) / COMMAND_RATE - performance.now();
    if (wait > 1) await sleep(wait);
    const id = ids[i % ids.length] as string;
    const t0 = performance.now();
    pending.push(
      post(port, token, `/devices/${id}/commands?wait=5`, body).then(
        (r) => {
          if (r.status === 201 && (JSON.parse(r.text) as { state?: string }).state === 'succeeded')
            h.recordValue(Math.round((performance.now() - t0) * 1000));
          else failures++;
        },
        () => {
          failures++;
        },
      ),
    );
  }
  await Promise.all(pending);
  return { p50: h.getValueAtPercentile(50) / 1000, p99: h.getValueAtPercentile(99) / 1000, failures };
}

/** Connect to WELCOME on `port` for `token`, in ms; the socket stays open (a session held). */
function connectMs(port: number, token: string): Promise<{ ms: number; ws: WebSocket }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/device`, [DEVICE_SUBPROTOCOL], { headers: { authorization: `Bearer ${token}` } });
    ws.on('open', () => ws.send(encode({ type: MessageType.Hello, proto: 1, fw: 'bench', model: 'bench' })));
    ws.on('message', (data: Buffer) => {
      const r = decode(new Uint8Array(data), { accept: 'downlink' });
      if (r.ok && r.message.type === MessageType.Welcome) resolve({ ms: performance.now() - t0, ws });
    });
    ws.on('error', reject);
    setTimeout(() => reject(new Error('no WELCOME in 15 s')), 15_000).unref();
    ws.on('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
  });
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
};
const r2 = (n: number) => Math.round(n * 100) / 100;
const rows: BenchRow[] = [];
const seeded = seedDevices(Math.max(DEVICES, FAILOVER_DEVICES, 2 * MOVES));
/** Hubs started, stopped in `finally` if a step fails. */
const started: HubHandle[] = [];
const ids = seeded.tokens.map((t) => t.slice(0, t.lastIndexOf('.')));
const fleet = seeded.tokens.slice(0, DEVICES);

try {
  // --- ingest: one node, then a two-node cluster; same database size, same load ----
  const dbOne = await seedPostgres(server, seeded.tokens.length);
  const [one] = (await startNodes(dbOne.url, seeded.dir, 1, false)) as [HubHandle];
  const genOne = await loadgen(one.port, fleet, seeded.dir, 'one');
  const single = await ingestStep([genOne], [one]);
  await genOne.request({ cmd: 'stop' }, 'stopped');
  await one.child.stop();
  await dbOne.drop();
  console.error(`  cluster: one node ${JSON.stringify(single)}`);

  const db = await seedPostgres(server, seeded.tokens.length);
  const nodes = await startNodes(db.url, seeded.dir, 2, true);
  const [a, b] = nodes as [HubHandle, HubHandle];
  const half = Math.floor(DEVICES / 2);
  const genA = await loadgen(a.port, fleet.slice(0, half), seeded.dir, 'a', true);
  const genB = await loadgen(b.port, fleet.slice(half), seeded.dir, 'b', true);
  const pair = await ingestStep([genA, genB], nodes);
  console.error(`  cluster: two nodes ${JSON.stringify(pair)}`);
  rows.push({
    scenario: 'cluster',
    case: `${DEVICES} devices, ${RATE} frames/s offered, two-node cluster on one machine: hubs' CPU`,
    value: r2(pair.hubCores),
    unit: 'cores',
    baseline: 'one node on the same PostgreSQL, same load',
    baselineValue: r2(single.hubCores),
    extra: {
      ackedPerSec: Math.round(pair.acked),
      ackP99ms: pair.p99,
      oneNode: { ackedPerSec: Math.round(single.acked), ackP99ms: single.p99 },
      coresPer1kFrames: r2((pair.hubCores / pair.acked) * 1000),
      oneNodeCoresPer1kFrames: r2((single.hubCores / single.acked) * 1000),
    },
  });

  // --- command round trip across nodes vs within one node ---------------------------
  console.error('  cluster: command round trips');
  const token = await login(a.port);
  const onA = ids.slice(0, Math.min(half, 50));
  const onB = ids.slice(half, half + Math.min(DEVICES - half, 50));
  await commandRun(a.port, token, onA); // warm both paths, unrecorded
  await commandRun(a.port, token, onB);
  const within = await commandRun(a.port, token, onA);
  const across = await commandRun(a.port, token, onB);
  rows.push({
    scenario: 'cluster',
    case: `command round trip, ?wait on node A to a device on node B, ${COMMAND_RATE}/s: p99`,
    value: r2(across.p99),
    unit: 'ms',
    baseline: 'the same to a device on node A',
    baselineValue: r2(within.p99),
    extra: { p50: across.p50, withinP50: within.p50, failures: across.failures + within.failures },
  });
  await genA.request({ cmd: 'stop' }, 'stopped');
  await genB.request({ cmd: 'stop' }, 'stopped');

  // --- takeover: a device moving between two live nodes -----------------------------
  console.error('  cluster: takeovers');
  // The last 2 x MOVES devices of the fleet (disconnected since the command runs).
  const spare = seeded.tokens.slice(-2 * MOVES);
  const moves: number[] = [];
  for (const t of spare.slice(0, MOVES)) {
    const held = await connectMs(a.port, t);
    const next = await connectMs(b.port, t);
    moves.push(next.ms);
    held.ws.terminate();
    next.ws.terminate();
  }
  // After the moves, so both are measured warm: devices nobody holds.
  const fresh: number[] = [];
  for (const t of spare.slice(MOVES)) {
    const c = await connectMs(a.port, t);
    fresh.push(c.ms);
    c.ws.terminate();
  }
  rows.push({
    scenario: 'cluster',
    case: 'takeover: a device reconnecting to the other live node, connect to WELCOME: p50',
    value: r2(pct(moves, 50)),
    unit: 'ms',
    baseline: 'a connect nobody holds',
    baselineValue: r2(pct(fresh, 50)),
    extra: { p99: r2(pct(moves, 99)), freshP99: r2(pct(fresh, 99)), moves: moves.length },
  });

  // --- failover: kill -9 of the node holding a fleet behind HAProxy -------------------
  console.error('  cluster: failover');
  const lb = await startHaproxy({ backends: nodes.map((n) => ({ host: '127.0.0.1', port: n.port })), checkIntervalMs: 2_000 });
  // Through the balancer (leastconn): about half the fleet on each node.
  const file = join(seeded.dir, 'failover.json');
  writeFileSync(file, JSON.stringify(seeded.tokens.slice(0, FAILOVER_DEVICES)));
  const genLb = await startLoadgen(lb.httpPort, file, { records: 1, window: 1, reconnect: true });
  await genLb.request({ cmd: 'connect' }, 'connected');
  const before = (await genLb.request({ cmd: 'stats' }, 'stats')) as { online: number };
  const killedAt = performance.now();
  await a.child.stop('SIGKILL');
  let back = 0;
  for (;;) {
    const s = (await genLb.request({ cmd: 'stats' }, 'stats')) as { online: number };
    if (s.online === FAILOVER_DEVICES) {
      back = performance.now() - killedAt;
      break;
    }
    if (performance.now() - killedAt > 120_000) {
      back = Number.NaN;
      break;
    }
    await sleep(50);
  }
  rows.push({
    scenario: 'cluster',
    case: `failover: kill -9 of a node, ${FAILOVER_DEVICES} devices behind HAProxy all online again on the other`,
    value: Math.round(back),
    unit: 'ms',
    extra: { onlineBefore: before.online, reconnectBackoff: 'full jitter, base 250 ms, cap 5 s (device-sim)' },
  });
  await genLb.request({ cmd: 'stop' }, 'stopped');
  await lb.stop();
  await b.child.stop();
  await db.drop();
} finally {
  for (const h of started) await h.child.stop('SIGKILL');
  agent.destroy();
  rmSync(seeded.dir, { recursive: true, force: true });
  await redis.stop();
  await server.stop();
}
report(rows, args);
for (const r of rows) if (r.extra) console.log(`  ${r.case}: ${JSON.stringify(r.extra)}`);
