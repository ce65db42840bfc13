// Benchmark scenario 3: idle device connections in steps: hub RSS per connection,
// connect rate, and that liveness pings still hold at the end; beside a bare ws
// server holding the same connections (its RSS per connection) in the same run.
// This machine caps open files at 20,000 per process (a hard limit we cannot raise
// without CAP_SYS_RESOURCE), so the hub's steps stop just below it.

import { rmSync } from 'node:fs';
import { type BenchRow, parseBenchArgs, report, size } from '../../scripts/bench-lib.js';
import { BASELINE_MAIN, Child, procUsage, seedDevices, sleep, startHub, startLoadgen } from './lib.js';

const args = parseBenchArgs();
const STEPS = size(args, [5_000, 10_000, 15_000, 19_000], [1_000, 3_000], [20, 40]);
const MAX = STEPS[STEPS.length - 1] as number;
const PING_S = size(args, 5, 2, 1);

async function hold(
  server: Child,
  port: number,
  tokensFile: string,
  /** Asks the server, while every device is still connected, how many it counts. */
  counted: () => Promise<number | undefined> = async () => undefined,
): Promise<{ perConn: number; rate: number; online: number; closes: Record<string, number>; counted: number | undefined }> {
  await sleep(500);
  const rss0 = procUsage(server.pid).rssBytes;
  const gen = await startLoadgen(port, tokensFile);
  let prev = 0;
  let rate = 0;
  let perConn = 0;
  for (const step of STEPS) {
    const t0 = performance.now();
    const s = await gen.request({ cmd: 'connect', value: step }, 'connected');
    const dt = (performance.now() - t0) / 1000;
    rate = (step - prev) / dt;
    prev = step;
    await sleep(300);
    perConn = (procUsage(server.pid).rssBytes - rss0) / step;
    console.log(`  ${step} connections: ${Math.round(perConn)} bytes/connection, ${Math.round(rate)} connects/s, ${s.online} online`);
  }
  // Two ping rounds with everyone idle: nobody may be dropped.
  await sleep(PING_S * 2 * 1000 + 1_000);
  const final = (await gen.request({ cmd: 'stats' }, 'stats')) as { online: number; closes: Record<string, number> };
  const n = await counted();
  await gen.request({ cmd: 'stop' }, 'stopped');
  return { perConn, rate, online: final.online, closes: final.closes, counted: n };
}

const seeded = seedDevices(MAX);
const base = new Child([BASELINE_MAIN]);
const { port: basePort } = (await base.next((m) => m.event === 'listening')) as { port: number };
console.log('baseline (bare ws server):');
const b = await hold(base, basePort, seeded.tokensFile);
await base.stop();

const hub = await startHub(seeded.dir, ['--ping-interval', `${PING_S}s`, '--ping-timeout', `${PING_S}s`, '--max-connections', '100000']);
console.log('hub:');
const h = await hold(hub.child, hub.port, seeded.tokensFile, async () => {
  const health = (await (await fetch(`http://127.0.0.1:${hub.port}/healthz`)).json()) as { devices: { connected: number } };
  return health.devices.connected;
});
await hub.child.stop();
rmSync(seeded.dir, { recursive: true, force: true });

const rows: BenchRow[] = [
  {
    scenario: 'connections',
    case: `${MAX} idle devices: hub RSS per connection`,
    value: Math.round(h.perConn),
    unit: 'bytes',
    baseline: 'bare ws server',
    baselineValue: Math.round(b.perConn),
    extra: {
      connectsPerSec: Math.round(h.rate),
      baselineConnectsPerSec: Math.round(b.rate),
      pingIntervalS: PING_S,
      onlineAfterTwoPingRounds: h.online,
      closes: h.closes,
      hubSaysConnected: h.counted,
    },
  },
  {
    scenario: 'connections',
    case: `${MAX} devices: connect rate (last step)`,
    value: Math.round(h.rate),
    unit: 'connects/s',
    baseline: 'bare ws server',
    baselineValue: Math.round(b.rate),
  },
];
report(rows, args);
if (h.online !== MAX || Object.keys(h.closes).length > 0) {
  console.error(`liveness did not hold: ${h.online} of ${MAX} online, closes ${JSON.stringify(h.closes)}`);
  process.exit(1);
}
