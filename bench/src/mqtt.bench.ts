// Benchmark scenario 2: ingest with integrators. The hub stores telemetry from N
// devices while 1 or 10 MQTT subscribers take `halyard/devices/+/telemetry` at
// QoS 1 (the hub publishing telemetry at QoS 1, its default); we report messages
// delivered per second per subscriber beside frames stored per second, and the
// drops the hub counted. Baseline (b): Mosquitto (when installed) relaying the same
// kind of SenML JSON, published by MQTT clients at QoS 1, to one subscriber,
// measured in the same run. Then the cost of QoS 1: ingest as fast as ACKs allow
// with one subscriber, the hub publishing telemetry at QoS 1 against QoS 0.

import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Mosquitto } from '@halyard/hub/test/mosquitto';
import { type BenchRow, parseBenchArgs, report, size } from '../../scripts/bench-lib.js';
import { Child, login, seedDevices, sleep, startHub, startLoadgen } from './lib.js';

const args = parseBenchArgs();
const DEVICES = size(args, 1_000, 200, 10);
const STEP_MS = size(args, 5_000, 1_000, 500);
const MQTT_LOAD = fileURLToPath(new URL('../dist/src/mqtt-load.js', import.meta.url));

async function counter(child: Child): Promise<number> {
  return (await child.request({ cmd: 'count' }, 'count')).messages as number;
}

/** Messages per second one subscriber receives through Mosquitto, or undefined without it. */
async function mosquittoRelay(): Promise<number | undefined> {
  if (spawnSync('sh', ['-c', 'command -v mosquitto']).status !== 0) return undefined;
  // Tuned as an operator would for throughput: Nagle off (its PUBACKs otherwise wait
  // ~40 ms) and a deeper in-flight window than the default 20.
  const m = await Mosquitto.start({ bench: 'bench-password' }, [
    'set_tcp_nodelay true',
    'max_inflight_messages 1000',
    'max_queued_messages 100000',
    'log_type information',
  ]);
  try {
    const url = `mqtt://127.0.0.1:${m.port}`;
    const common = { url, username: 'bench', password: 'bench-password', qos: 1 };
    const sub = new Child([MQTT_LOAD, JSON.stringify({ ...common, mode: 'sub', topic: 'bench/devices/+/telemetry', clients: 1 })]);
    await sub.next((e) => e.event === 'ready');
    const pub = new Child([
      MQTT_LOAD,
      JSON.stringify({ ...common, mode: 'pub', topic: 'bench/devices/+/telemetry', clients: 10, window: 100 }),
    ]);
    await pub.next((e) => e.event === 'ready');
    pub.send({ cmd: 'start' });
    await sleep(1_000);
    const a = await counter(sub);
    const t0 = performance.now();
    await sleep(STEP_MS);
    const rate = ((await counter(sub)) - a) / ((performance.now() - t0) / 1000);
    await pub.request({ cmd: 'stop' }, 'stopped');
    await sub.request({ cmd: 'stop' }, 'stopped');
    return rate;
  } finally {
    await m.stop();
  }
}

/**
 * Ingest at `rate` frames/s (0: as fast as ACKs allow) with `subscribers` on the
 * telemetry topic at `qos`, the hub publishing telemetry at `qos` too.
 */
async function hubRun(subscribers: number, rate: number, qos: 0 | 1 = 1): Promise<{ stored: number; delivered: number; dropped: number }> {
  const seeded = seedDevices(DEVICES);
  const hub = await startHub(seeded.dir, ['--mqtt-qos', `1,telemetry=${qos}`]);
  const token = await login(hub.port);
  await fetch(`http://127.0.0.1:${hub.port}/api/v1/integrators`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'bench', password: 'bench-password' }),
  });
  const sub = new Child([
    MQTT_LOAD,
    JSON.stringify({
      mode: 'sub',
      url: `mqtt://127.0.0.1:${hub.mqttPort}`,
      username: 'bench',
      password: 'bench-password',
      topic: 'halyard/devices/+/telemetry',
      clients: subscribers,
      qos,
    }),
  ]);
  await sub.next((e) => e.event === 'ready');
  const gen = await startLoadgen(hub.port, seeded.tokensFile, { window: 64 });
  await gen.request({ cmd: 'connect' }, 'connected');
  gen.send({ cmd: 'rate', value: rate });
  await sleep(1_000);
  await gen.request({ cmd: 'reset' }, 'reset');
  const a = await counter(sub);
  const t0 = performance.now();
  await sleep(STEP_MS);
  const delivered = (await counter(sub)) - a;
  const s = (await gen.request({ cmd: 'stats' }, 'stats')) as { acked: number };
  const dt = (performance.now() - t0) / 1000;
  const metrics = await (await fetch(`http://127.0.0.1:${hub.port}/metrics`)).text();
  const dropped = [...metrics.matchAll(/^halyard_mqtt_dropped_total\{[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
  await gen.request({ cmd: 'stop' }, 'stopped');
  await sub.request({ cmd: 'stop' }, 'stopped');
  await hub.child.stop();
  rmSync(seeded.dir, { recursive: true, force: true });
  return { stored: s.acked / dt, delivered: delivered / subscribers / dt, dropped };
}

const relay = await mosquittoRelay();
// Devices send at the rate Mosquitto relayed (a fixed one without it): can the hub
// store that and deliver it too? Then as fast as ACKs allow, beyond what the
// subscriber path can take: delivery must degrade by counted drops, never starve ingest.
const offered = Math.round(relay ?? size(args, 10_000, 5_000, 500));
const rows: BenchRow[] = [];
for (const [k, rate] of [
  [1, offered],
  [10, offered],
  [1, 0],
] as const) {
  const r = await hubRun(k, rate);
  const load = rate === 0 ? 'ingest unlimited (overload)' : `${rate} frames/s`;
  rows.push({
    scenario: 'mqtt',
    case: `${DEVICES} devices, ${load}, ${k} QoS 1 subscriber${k > 1 ? 's' : ''}: delivered per subscriber`,
    value: Math.round(r.delivered),
    unit: 'msg/s',
    ...(relay === undefined ? {} : { baseline: 'Mosquitto relay, QoS 1, 1 subscriber', baselineValue: Math.round(relay) }),
    extra: {
      offeredFramesPerSec: rate,
      storedFramesPerSec: Math.round(r.stored),
      deliveredOverStored: Math.round((r.delivered / r.stored) * 100) / 100,
      droppedTotal: r.dropped,
    },
  });
}
// The cost of QoS 1 on delivery: the first row's load, telemetry published and subscribed at QoS 0.
const atQos0 = await hubRun(1, offered, 0);
const first = rows[0] as BenchRow;
rows.push({
  scenario: 'mqtt',
  case: `${DEVICES} devices, ${offered} frames/s, 1 subscriber: delivered at QoS 1 (first row)`,
  value: first.value,
  unit: 'msg/s',
  baseline: 'the same at QoS 0',
  baselineValue: Math.round(atQos0.delivered),
  extra: { storedFramesPerSecQos0: Math.round(atQos0.stored), droppedQos0: atQos0.dropped },
});
// The cost of QoS 1 on ingest: the same overload, telemetry published and subscribed at QoS 0 as the baseline.
const q0 = await hubRun(1, 0, 0);
const q1 = await hubRun(1, 0, 1);
rows.push({
  scenario: 'mqtt',
  case: `${DEVICES} devices, ingest unlimited, 1 subscriber, telemetry at QoS 1: frames stored`,
  value: Math.round(q1.stored),
  unit: 'frames/s',
  baseline: 'the same at QoS 0',
  baselineValue: Math.round(q0.stored),
  extra: {
    deliveredQos1: Math.round(q1.delivered),
    deliveredQos0: Math.round(q0.delivered),
    droppedQos1: q1.dropped,
    droppedQos0: q0.dropped,
  },
});
report(rows, args);
for (const r of rows) console.log(`  ${r.case}: ${JSON.stringify(r.extra)}`);
if (relay === undefined) console.log('  (Mosquitto is not installed: no baseline (b) in this run)');
