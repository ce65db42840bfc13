// MQTT clients for the benchmark, as a child process: `sub` mode counts what N
// subscribers receive; `pub` mode publishes a SenML JSON payload from N clients as
// fast as each one's in-flight window allows. JSON lines on stdin/stdout like the
// device load generator: {"cmd":"count"} -> {"event":"count","messages":N}.

import { createInterface } from 'node:readline';
import mqtt, { type MqttClient } from 'mqtt';

interface Args {
  mode: 'sub' | 'pub';
  url: string;
  username: string;
  password: string;
  topic: string;
  clients: number;
  qos: 0 | 1;
  /** pub: messages each client may have unacknowledged. */
  window?: number;
}

const args = JSON.parse(process.argv[2] ?? '{}') as Args;
const out = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);
let messages = 0;
let running = true;
const clients: MqttClient[] = [];
const payload = JSON.stringify(
  Array.from({ length: 1 }, (_, i) => ({ bn: 'urn:dev:bench-000001:', n: `m${i}`, u: 'W', v: 20.5 + i, t: 1_764_000_000.123 })),
);

function connect(i: number): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect(args.url, {
      username: args.username,
      password: args.password,
      clientId: `bench-${args.mode}-${process.pid}-${i}`,
      reconnectPeriod: 0,
      clean: true,
    });
    c.once('connect', () => resolve(c));
    c.once('error', reject);
  });
}

async function pump(c: MqttClient, i: number): Promise<void> {
  const window = args.window ?? 100;
  let inflight = 0;
  const topic = args.topic.replace('+', `bench-${String(i).padStart(6, '0')}`);
  await new Promise<void>((done) => {
    const send = () => {
      while (running && inflight < window) {
        inflight++;
        c.publish(topic, payload, { qos: args.qos }, () => {
          inflight--;
          messages++;
          if (running) setImmediate(send);
          else if (inflight === 0) done();
        });
      }
    };
    send();
  });
}

for (let i = 0; i < args.clients; i++) clients.push(await connect(i));
if (args.mode === 'sub') {
  for (const c of clients) {
    c.on('message', () => {
      messages++;
    });
    await c.subscribeAsync(args.topic, { qos: args.qos });
  }
}
out({ event: 'ready' });

createInterface({ input: process.stdin }).on('line', (line) => {
  const msg = JSON.parse(line) as { cmd: string };
  if (msg.cmd === 'start' && args.mode === 'pub') clients.forEach((c, i) => void pump(c, i));
  if (msg.cmd === 'count') out({ event: 'count', messages });
  if (msg.cmd === 'stop') {
    running = false;
    for (const c of clients) c.end(true);
    out({ event: 'stopped' });
    process.exit(0);
  }
});
