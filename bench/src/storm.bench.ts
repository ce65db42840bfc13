// Benchmark scenario 5: reconnect storm. N devices connected; commands queued for
// them; the hub restarts (SIGTERM, then a new process on the same database). We
// measure how long until every device is online again (they reconnect with
// full-jitter backoff, as SPEC.md §8.3 asks), the hub's peak CPU meanwhile, and that
// every command still reaches `succeeded` afterwards: zero lost.

import { rmSync } from 'node:fs';
import { type BenchRow, parseBenchArgs, report, size } from '../../scripts/bench-lib.js';
import { login, procUsage, seedDevices, sleep, startHub, startLoadgen } from './lib.js';

const args = parseBenchArgs();
const DEVICES = size(args, 10_000, 2_000, 10);
const COMMANDS = size(args, 1_000, 500, 10);

const seeded = seedDevices(DEVICES);
let hub = await startHub(seeded.dir, ['--max-connections', '100000']);
const gen = await startLoadgen(hub.port, seeded.tokensFile, { responder: true, reconnect: true });
await gen.request({ cmd: 'connect' }, 'connected');
const ids = seeded.tokens.map((t) => t.slice(0, t.lastIndexOf('.')));

// Commands with a long ttl, created right before the restart: most are still open when it happens.
let token = await login(hub.port);
const created: string[] = [];
await Promise.all(
  Array.from({ length: COMMANDS }, async (_, i) => {
    const r = await fetch(`http://127.0.0.1:${hub.port}/api/v1/devices/${ids[i % ids.length]}/commands`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'ping', ttl: '10m', timeout: '10m' }),
    });
    created.push(((await r.json()) as { id: string }).id);
  }),
);

// Restart on the same port, so the devices' URL stays right.
const port = hub.port;
await hub.child.stop();
const t0 = performance.now();
hub = await startHub(seeded.dir, ['--max-connections', '100000', '--port', String(port)]);
const listening = performance.now();
let peak = 0;
let last = procUsage(hub.child.pid);
let lastAt = performance.now();
let online = 0;
while (online < DEVICES) {
  await sleep(250);
  const u = procUsage(hub.child.pid);
  const now = performance.now();
  peak = Math.max(peak, (u.cpuSeconds - last.cpuSeconds) / ((now - lastAt) / 1000));
  last = u;
  lastAt = now;
  online = ((await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as { devices: { connected: number } }).devices.connected;
  if (now - t0 > 120_000) break;
}
const allOnline = (performance.now() - t0) / 1000;

// Every command must end succeeded.
token = await login(port);
const states = new Map<string, number>();
for (const id of created) {
  for (let tries = 0; ; tries++) {
    const c = (await (
      await fetch(`http://127.0.0.1:${port}/api/v1/commands/${id}`, { headers: { authorization: `Bearer ${token}` } })
    ).json()) as { state: string };
    if (c.state === 'succeeded' || tries > 100) {
      states.set(c.state, (states.get(c.state) ?? 0) + 1);
      break;
    }
    await sleep(100);
  }
}
await gen.request({ cmd: 'stop' }, 'stopped');
await hub.child.stop();
rmSync(seeded.dir, { recursive: true, force: true });

const succeeded = states.get('succeeded') ?? 0;
const rows: BenchRow[] = [
  {
    scenario: 'storm',
    case: `${DEVICES} devices back online after a hub restart`,
    value: Math.round(allOnline * 100) / 100,
    unit: 's',
    extra: {
      hubStartS: Math.round(((listening - t0) / 1000) * 100) / 100,
      online,
      peakHubCpuCores: Math.round(peak * 100) / 100,
      commands: COMMANDS,
      succeeded,
      lost: COMMANDS - succeeded,
      states: Object.fromEntries(states),
    },
  },
];
report(rows, args);
if (online < DEVICES || succeeded !== COMMANDS) process.exit(1);
