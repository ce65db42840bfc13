// Benchmark scenario 4: command round trip. With N devices connected (answering
// every command at once), commands go through the HTTP API at a fixed rate with
// ?wait, to `succeeded`; end-to-end latency percentiles from an HDR histogram,
// beside a plain API read (GET /devices/:id) at the same rate, the HTTP floor.

import { rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { build } from 'hdr-histogram-js';
import { type BenchRow, parseBenchArgs, report, size } from '../../scripts/bench-lib.js';
import { login, procUsage, seedDevices, sleep, startHub, startLoadgen } from './lib.js';

const args = parseBenchArgs();
const DEVICES = size(args, 10_000, 2_000, 10);
const RATE = size(args, 1_000, 500, 20);
const SECONDS = size(args, 10, 2, 1);
const WARM = Math.min(2, SECONDS);

const seeded = seedDevices(DEVICES);
const hub = await startHub(seeded.dir, ['--max-connections', '100000']);
const gen = await startLoadgen(hub.port, seeded.tokensFile, { responder: true });
await gen.request({ cmd: 'connect' }, 'connected');
const token = await login(hub.port);
const base = `http://127.0.0.1:${hub.port}/api/v1`;
const ids = seeded.tokens.map((t) => t.slice(0, t.lastIndexOf('.')));

/** Issues `make()` RATE times a second for `seconds`; returns latency percentiles (ms) and failures. */
async function drive(
  make: (id: string) => Promise<boolean>,
  seconds = SECONDS,
): Promise<{ p50: number; p99: number; max: number; failures: number; done: number }> {
  const h = build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
  let failures = 0;
  let done = 0;
  const pending: Promise<void>[] = [];
  const total = RATE * seconds;
  const start = performance.now();
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    const id = ids[Math.floor(Math.random() * ids.length)] as string;
    const t0 = performance.now();
    pending.push(
      make(id).then(
        (ok) => {
          h.recordValue(Math.round((performance.now() - t0) * 1000));
          if (ok) done++;
          else failures++;
        },
        () => {
          failures++;
        },
      ),
    );
  }
  await Promise.all(pending);
  return { p50: h.getValueAtPercentile(50) / 1000, p99: h.getValueAtPercentile(99) / 1000, max: h.maxValue / 1000, failures, done };
}

// node:http with a keep-alive pool rather than fetch: the client shares the two
// cores with the hub and the devices, and fetch costs it about twice the CPU.
const agent = new Agent({ keepAlive: true, maxSockets: 512 });
const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
function call(method: string, path: string, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method, headers, agent }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        text += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
const PING = JSON.stringify({ name: 'ping', timeout: '5s' });
// Warm up both paths (unrecorded), so neither measurement pays for the other's
// first sockets or for the hub still settling after 10k connections.
await drive(async (id) => (await call('GET', `/devices/${id}`)).status === 200, WARM);
await drive(async (id) => (await call('POST', `/devices/${id}/commands?wait=5`, PING)).status === 201, WARM);
const reads = await drive(async (id) => (await call('GET', `/devices/${id}`)).status === 200);
const cpu0 = procUsage(hub.child.pid).cpuSeconds;
const t0 = performance.now();
const cmds = await drive(async (id) => {
  const r = await call('POST', `/devices/${id}/commands?wait=5`, PING);
  return r.status === 201 && (JSON.parse(r.text) as { state?: string }).state === 'succeeded';
});
const hubCores = (procUsage(hub.child.pid).cpuSeconds - cpu0) / ((performance.now() - t0) / 1000);
agent.destroy();
await gen.request({ cmd: 'stop' }, 'stopped');
await hub.child.stop();
rmSync(seeded.dir, { recursive: true, force: true });

const rows: BenchRow[] = [
  {
    scenario: 'commands',
    case: `${DEVICES} devices, ${RATE} commands/s via HTTP to succeeded: p99`,
    value: Math.round(cmds.p99 * 100) / 100,
    unit: 'ms',
    baseline: 'GET /devices/:id p99, same rate',
    baselineValue: Math.round(reads.p99 * 100) / 100,
    extra: {
      p50: cmds.p50,
      max: cmds.max,
      succeeded: cmds.done,
      failures: cmds.failures,
      readP50: reads.p50,
      hubCpuCores: Math.round(hubCores * 100) / 100,
    },
  },
];
report(rows, args);
if (cmds.failures > 0) {
  console.error(`${cmds.failures} commands did not succeed`);
  process.exit(1);
}
