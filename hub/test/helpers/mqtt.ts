// MQTT test clients: a real mqtt.js client that records every message, with
// event-driven waits (never sleeps), plus integrator provisioning through the API.

import { type AddressInfo, createServer, connect as netConnect, type Socket } from 'node:net';
import { Aedes } from 'aedes';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { HANDOVER_WAIT_MS } from '../../src/mqtt/cluster-emitter.js';
import { NODE_TTL_MS } from '../../src/mqtt/session-pg.js';
import type { Api } from './hub.js';

/**
 * How long a persistent session's CONNACK may take here: in a cluster it waits for the
 * session to come from the node holding it, at most about NODE_TTL_MS + 2 *
 * HANDOVER_WAIT_MS (mqtt/session-cluster.ts), the handover being two PostgreSQL commits
 * on the other node, which a loaded CI machine has taken over 2 s to make. Thrice that.
 */
const PERSISTENT_CONNACK_MS = 3 * (NODE_TTL_MS + 2 * HANDOVER_WAIT_MS);

export interface Received {
  topic: string;
  text: string;
  retain: boolean;
  qos: number;
  dup: boolean;
  at: number;
}

export class TestMqtt {
  readonly received: Received[] = [];
  closed = false;
  private readonly waiters = new Set<() => void>();

  private constructor(
    readonly client: MqttClient,
    /** The CONNACK's session-present flag: the broker had a session for this client id. */
    readonly sessionPresent = false,
  ) {
    client.on('message', (topic, payload, packet) => {
      this.received.push({
        topic,
        text: payload.toString('utf8'),
        retain: packet.retain,
        qos: packet.qos,
        dup: packet.dup,
        at: Date.now(),
      });
      this.notify();
    });
    client.on('close', () => {
      this.closed = true;
      this.notify();
    });
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }

  /** Connects (no automatic reconnect); rejects with the CONNACK error when refused. */
  static connect(url: string, opts: IClientOptions = {}): Promise<TestMqtt> {
    return new Promise((resolve, reject) => {
      const connectTimeout = opts.clean === false ? PERSISTENT_CONNACK_MS : 5_000;
      const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout, ...opts });
      client.once('connect', (connack) => resolve(new TestMqtt(client, connack.sessionPresent)));
      client.once('error', (err) => {
        client.end(true);
        reject(err);
      });
      client.once('close', () => reject(new Error('closed before CONNACK')));
    });
  }

  /** Subscribes at QoS 0; resolves with the granted QoS per filter (128 = refused). */
  subscribe(...filters: string[]): Promise<number[]> {
    return this.subscribeQos(0, ...filters);
  }

  /** Subscribes at `qos`; resolves with the granted QoS per filter (128 = refused). */
  async subscribeQos(qos: 0 | 1 | 2, ...filters: string[]): Promise<number[]> {
    try {
      const granted = await this.client.subscribeAsync(filters, { qos });
      return granted.map((g) => g.qos);
    } catch (err) {
      // mqtt.js fails the call when any filter was refused; the SUBACK still says which.
      const granted = (err as { packet?: { granted?: number[] } }).packet?.granted;
      if (granted === undefined) throw err;
      return granted;
    }
  }

  publish(topic: string, payload: string | Buffer, opts: { qos?: 0 | 1; retain?: boolean } = {}): Promise<unknown> {
    return this.client.publishAsync(topic, payload, { qos: opts.qos ?? 1, retain: opts.retain ?? false });
  }

  /** Waits until `check` holds, re-checking on every message and on close. */
  until(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(w);
        const seen = this.received.slice(-10).map((m) => `${m.topic} ${m.text.slice(0, 120)}`);
        reject(new Error(`timed out waiting for ${what}; last received:\n  ${seen.join('\n  ')}`));
      }, timeoutMs);
      const w = () => {
        if (check()) {
          clearTimeout(timer);
          this.waiters.delete(w);
          resolve();
        }
      };
      this.waiters.add(w);
    });
  }

  /** The first message (at or after index `from`) on `topic` matching `pred`. */
  async next(topic: string, pred: (m: Received) => boolean = () => true, from = 0, timeoutMs = 5_000): Promise<Received> {
    let found: Received | undefined;
    await this.until(
      () => {
        found = this.received.slice(from).find((m) => m.topic === topic && pred(m));
        return found !== undefined;
      },
      `a message on ${topic}`,
      timeoutMs,
    );
    return found as Received;
  }

  /** Parsed JSON of messages on `topic`. */
  json<T = Record<string, unknown>>(topic: string): T[] {
    return this.received.filter((m) => m.topic === topic).map((m) => JSON.parse(m.text) as T);
  }

  on(topic: string): Received[] {
    return this.received.filter((m) => m.topic === topic);
  }

  waitClosed(timeoutMs = 5_000): Promise<void> {
    return this.until(() => this.closed, 'the connection to close', timeoutMs);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.client.endAsync();
  }
}

/** Creates an integrator through the API (the caller must be an admin). */
export async function createIntegrator(
  api: Api,
  username: string,
  password: string,
  acl?: { subscribe?: string[]; publish?: string[] },
): Promise<void> {
  const r = await api.post('/integrators', { username, password, ...(acl === undefined ? {} : { acl }) });
  if (r.status !== 201) throw new Error(`create integrator ${username}: ${r.status} ${JSON.stringify(r.body)}`);
}

export function mqttString(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  const len = Buffer.alloc(2);
  len.writeUInt16BE(b.length);
  return Buffer.concat([len, b]);
}

export function mqttPacket(type: number, body: Buffer): Buffer {
  const len: number[] = [];
  let n = body.length;
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    len.push(byte);
  } while (n > 0);
  return Buffer.concat([Buffer.from([type, ...len]), body]);
}

/**
 * A hand-made MQTT 3.1.1 client that logs in, subscribes to `filter`, and then
 * stops reading its socket: the slowest subscriber there is. Resolves once the
 * SUBACK has arrived.
 */
export async function stalledSubscriber(
  port: number,
  username: string,
  password: string,
  filter: string,
  opts: { qos?: 0 | 1; clean?: boolean } = {},
): Promise<{ socket: Socket; close: () => void }> {
  const socket = netConnect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  const connectBody = Buffer.concat([
    mqttString('MQTT'),
    Buffer.from([4, 0xc0 | (opts.clean === false ? 0 : 0x02), 0, 0]), // level 4, username + password (+ clean session), no keepalive
    mqttString('stalled'),
    mqttString(username),
    mqttString(password),
  ]);
  const subscribeBody = Buffer.concat([Buffer.from([0, 1]), mqttString(filter), Buffer.from([opts.qos ?? 0])]);
  socket.write(Buffer.concat([mqttPacket(0x10, connectBody), mqttPacket(0x82, subscribeBody)]));
  // CONNACK (4 bytes) and SUBACK (5 bytes), then stop reading.
  let seen = Buffer.alloc(0);
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      seen = Buffer.concat([seen, chunk]);
      if (seen.length >= 2 && seen[0] === 0x20 && seen[3] !== 0) reject(new Error(`CONNACK refused: ${seen[3]}`));
      if (seen.includes(0x90)) {
        socket.off('data', onData);
        socket.pause();
        resolve();
      }
    };
    socket.on('data', onData);
  });
  return { socket, close: () => socket.destroy() };
}

/**
 * A bare aedes broker (MQTT 3.1.1 only, no authentication) on 127.0.0.1: a remote
 * broker for bridge tests that refuses MQTT 5. `port` 0 picks a free port; pass
 * the old port to restart "the same" broker, empty, after close().
 */
export async function startPlainBroker(port = 0): Promise<{ port: number; close: () => Promise<void> }> {
  const aedes = await Aedes.createBroker();
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
    aedes.handle(s);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
