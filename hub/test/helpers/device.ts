// A protocol-speaking test device: a real ws client using the codec, recording
// every message and the close, with event-driven waits (never sleeps).

import {
  DEVICE_SUBPROTOCOL,
  type DecodedDownlink,
  decode,
  encode,
  type Message,
  MessageType,
  type SenmlRecord,
} from '@halyard/firmware-protocol';
import WebSocket from 'ws';

export interface Closed {
  code: number;
  reason: string;
}

export class TestDevice {
  readonly received: DecodedDownlink[] = [];
  closed: Closed | undefined;
  private readonly waiters = new Set<() => void>();
  seq = 0;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      const r = decode(new Uint8Array(data), { accept: 'downlink' });
      if (!r.ok) throw new Error(`hub sent an invalid message: ${r.error.message}`);
      this.received.push(r.message as DecodedDownlink);
      this.notify();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.notify();
    });
    ws.on('error', () => this.notify());
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }

  /** Opens the socket (no HELLO yet). Rejects with the HTTP status on a refused upgrade. */
  static open(url: string, token: string | undefined, opts: { protocols?: string[]; autoPong?: boolean } = {}): Promise<TestDevice> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`${url}/v1/device`, opts.protocols ?? [DEVICE_SUBPROTOCOL], {
        headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
        autoPong: opts.autoPong ?? true,
      });
      ws.once('open', () => resolve(new TestDevice(ws)));
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c) => {
          body += c;
        });
        res.on('end', () =>
          reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { status: res.statusCode, body, headers: res.headers })),
        );
      });
      ws.once('error', reject);
    });
  }

  /** Opens and says HELLO; resolves with the WELCOME. */
  static async connect(
    url: string,
    token: string,
    hello: { fw?: string; model?: string; boot?: number; caps?: string[]; update?: { job: string; held: number } } = {},
  ): Promise<TestDevice> {
    const d = await TestDevice.open(url, token);
    d.send({
      type: MessageType.Hello,
      proto: 1,
      fw: hello.fw ?? '1.0.0',
      model: hello.model ?? 'test-device',
      ...(hello.boot === undefined ? {} : { boot: hello.boot }),
      ...(hello.caps === undefined ? {} : { caps: hello.caps }),
      ...(hello.update === undefined ? {} : { update: hello.update }),
    });
    const w = await d.waitFor((m) => m.type === MessageType.Welcome);
    d.seq = (w as { acked: number }).acked;
    return d;
  }

  send(m: Message): void {
    this.ws.send(encode(m));
  }

  sendRaw(bytes: Uint8Array | string): void {
    this.ws.send(bytes);
  }

  /** Sends one TELEMETRY with the next sequence number; returns that number. */
  telemetry(pack: SenmlRecord[]): number {
    this.seq++;
    this.send({ type: MessageType.Telemetry, seq: this.seq, pack });
    return this.seq;
  }

  get welcome(): (DecodedDownlink & { type: 2 }) | undefined {
    return this.received.find((m) => m.type === MessageType.Welcome) as (DecodedDownlink & { type: 2 }) | undefined;
  }

  /** Highest ACK received so far. */
  get acked(): number {
    let max = 0;
    for (const m of this.received) if (m.type === MessageType.Ack && m.seq > max) max = m.seq;
    return max;
  }

  /** Waits until `check` is true, re-checking on every message and close. */
  until(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(w);
        reject(
          new Error(
            `timed out waiting for ${what}; received ${JSON.stringify(this.received.map((m) => m.type))}, closed ${JSON.stringify(this.closed)}`,
          ),
        );
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

  /** The first received message (from now on, or already) matching `pred`. */
  async waitFor(pred: (m: DecodedDownlink) => boolean, timeoutMs = 5_000, fromIndex = 0): Promise<DecodedDownlink> {
    let found: DecodedDownlink | undefined;
    await this.until(
      () => {
        found = this.received.slice(fromIndex).find(pred);
        return found !== undefined;
      },
      'a matching message',
      timeoutMs,
    );
    return found as DecodedDownlink;
  }

  waitAck(seq: number, timeoutMs = 5_000): Promise<void> {
    return this.until(() => this.acked >= seq, `ACK ${seq}`, timeoutMs);
  }

  waitClosed(timeoutMs = 5_000): Promise<Closed> {
    return this.until(() => this.closed !== undefined, 'close', timeoutMs).then(() => this.closed as Closed);
  }

  /** The ERROR the hub sent before closing, if any. */
  get error(): { code: number; message: string } | undefined {
    return this.received.find((m) => m.type === MessageType.Error) as { code: number; message: string } | undefined;
  }

  close(): Promise<Closed> {
    if (this.closed) return Promise.resolve(this.closed);
    this.ws.close(1000);
    return this.waitClosed();
  }
}
