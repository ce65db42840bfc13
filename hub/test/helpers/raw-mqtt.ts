// A hand-made MQTT 3.1.1 client on a raw socket, for what mqtt.js will not do:
// QoS 2 publishes whose PUBREL never comes, retransmissions, and connections that
// never send CONNECT. Every wait is on a packet or the close, with a timeout.

import { connect as netConnect, type Socket } from 'node:net';
import { mqttPacket, mqttString } from './mqtt.js';

export interface RawPacket {
  type: number;
  flags: number;
  body: Buffer;
}

/** A PUBLISH the client received. */
export interface RawPublish {
  topic: string;
  payload: string;
  qos: number;
  dup: boolean;
  messageId: number | undefined;
}

export interface RawConnectOptions {
  username: string;
  password: string;
  clientId: string;
  clean: boolean;
  /** The address to connect from (any of 127/8 on Linux). */
  localAddress?: string;
  /** Bytes sent before CONNECT, in the same write (a load balancer's PROXY protocol header). */
  before?: Buffer;
}

export class RawMqtt {
  readonly packets: RawPacket[] = [];
  closed = false;
  private buffer = Buffer.alloc(0);
  private readonly waiters = new Set<() => void>();

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.parse();
      this.notify();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.notify();
    });
  }

  /** Opens a TCP connection (from `localAddress` when given) and sends nothing. */
  static async open(port: number, localAddress?: string): Promise<RawMqtt> {
    const socket = netConnect({ port, host: '127.0.0.1', ...(localAddress === undefined ? {} : { localAddress }) });
    const raw = new RawMqtt(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('close', () => reject(new Error('closed before the TCP connection was up')));
    });
    return raw;
  }

  /** Connects and logs in; resolves with the CONNACK's return code and session-present flag. */
  static async connect(port: number, o: RawConnectOptions): Promise<{ raw: RawMqtt; returnCode: number; sessionPresent: boolean }> {
    const raw = await RawMqtt.open(port, o.localAddress);
    const flags = 0xc0 | (o.clean ? 0x02 : 0); // username, password, clean session
    const body = Buffer.concat([
      mqttString('MQTT'),
      Buffer.from([4, flags, 0, 0]), // level 4 (3.1.1), no keepalive
      mqttString(o.clientId),
      mqttString(o.username),
      mqttString(o.password),
    ]);
    raw.socket.write(Buffer.concat([o.before ?? Buffer.alloc(0), mqttPacket(0x10, body)]));
    const connack = await raw.next(0x2, () => true);
    return { raw, returnCode: connack.body[1] as number, sessionPresent: ((connack.body[0] as number) & 1) === 1 };
  }

  /** Sends a QoS 2 PUBLISH (DUP set when `dup`). */
  publishQos2(topic: string, payload: string | Buffer, messageId: number, dup = false): void {
    const id = Buffer.alloc(2);
    id.writeUInt16BE(messageId);
    const body = Buffer.concat([mqttString(topic), id, typeof payload === 'string' ? Buffer.from(payload) : payload]);
    this.socket.write(mqttPacket(0x34 | (dup ? 0x08 : 0), body));
  }

  /** Sends PUBREL for a message id. */
  pubrel(messageId: number): void {
    const id = Buffer.alloc(2);
    id.writeUInt16BE(messageId);
    this.socket.write(mqttPacket(0x62, id));
  }

  /** Subscribes to one filter at `qos` and waits for the SUBACK; resolves with the granted QoS. */
  async subscribe(filter: string, qos: 0 | 1 | 2, messageId = 1): Promise<number> {
    const body = Buffer.concat([Buffer.from([messageId >> 8, messageId & 0xff]), mqttString(filter), Buffer.from([qos])]);
    this.socket.write(mqttPacket(0x82, body));
    const suback = await this.next(0x9, (p) => p.body.readUInt16BE(0) === messageId);
    return suback.body[2] as number;
  }

  /** Acknowledges a QoS 1 PUBLISH. */
  puback(messageId: number): void {
    this.socket.write(mqttPacket(0x40, Buffer.from([messageId >> 8, messageId & 0xff])));
  }

  /** The PUBLISHes received, in order. */
  publishes(): RawPublish[] {
    return this.packets
      .filter((p) => p.type === 0x3)
      .map((p) => {
        const qos = (p.flags >> 1) & 3;
        const topicLength = p.body.readUInt16BE(0);
        const topic = p.body.subarray(2, 2 + topicLength).toString('utf8');
        const messageId = qos > 0 ? p.body.readUInt16BE(2 + topicLength) : undefined;
        const payload = p.body.subarray(2 + topicLength + (qos > 0 ? 2 : 0)).toString('utf8');
        return { topic, payload, qos, dup: (p.flags & 0x08) !== 0, messageId };
      });
  }

  /** Message ids of the PUBRECs received. */
  pubrecs(): number[] {
    return this.packets.filter((p) => p.type === 0x5).map((p) => p.body.readUInt16BE(0));
  }

  /** Waits until `check` holds, re-checking on every packet and on close. */
  until(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(w);
        reject(new Error(`timed out waiting for ${what}`));
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

  /** The first packet of `type` matching `pred`; rejects if the connection closes first. */
  async next(type: number, pred: (p: RawPacket) => boolean, timeoutMs = 5_000): Promise<RawPacket> {
    const find = () => this.packets.find((p) => p.type === type && pred(p));
    await this.until(() => find() !== undefined || this.closed, `packet type ${type}`, timeoutMs);
    const found = find();
    if (found === undefined) throw new Error(`closed before packet type ${type}`);
    return found;
  }

  waitClosed(timeoutMs = 5_000): Promise<void> {
    return this.until(() => this.closed, 'the connection to close', timeoutMs);
  }

  close(): void {
    this.socket.destroy();
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }

  private parse(): void {
    for (;;) {
      if (this.buffer.length < 2) return;
      let length = 0;
      let multiplier = 1;
      let i = 1;
      for (;;) {
        if (i >= this.buffer.length) return;
        const byte = this.buffer[i++] as number;
        length += (byte & 0x7f) * multiplier;
        multiplier *= 128;
        if ((byte & 0x80) === 0) break;
      }
      if (this.buffer.length < i + length) return;
      const first = this.buffer[0] as number;
      this.packets.push({ type: first >> 4, flags: first & 0x0f, body: this.buffer.subarray(i, i + length) });
      this.buffer = this.buffer.subarray(i + length);
    }
  }
}
