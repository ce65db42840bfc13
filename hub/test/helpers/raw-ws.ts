// A raw WebSocket client over a TCP socket, for sending what well-behaved libraries
// refuse to send: unmasked frames, reserved bits and opcodes, absurd lengths.

import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

export interface FrameOptions {
  fin?: boolean;
  rsv?: number;
  mask?: boolean;
  /** Declare this payload length instead of the real one. */
  declaredLength?: bigint;
}

/** One WebSocket frame (RFC 6455 §5.2). */
export function frame(opcode: number, payload: Uint8Array, o: FrameOptions = {}): Buffer {
  const fin = o.fin ?? true;
  const mask = o.mask ?? true;
  const len = o.declaredLength ?? BigInt(payload.length);
  const head: number[] = [(fin ? 0x80 : 0) | ((o.rsv ?? 0) << 4) | opcode];
  const m = mask ? 0x80 : 0;
  if (len < 126n) head.push(m | Number(len));
  else if (len < 65536n) head.push(m | 126, Number(len >> 8n) & 0xff, Number(len) & 0xff);
  else {
    head.push(m | 127);
    for (let i = 7; i >= 0; i--) head.push(Number((len >> BigInt(i * 8)) & 0xffn));
  }
  if (!mask) return Buffer.concat([Buffer.from(head), payload]);
  const key = randomBytes(4);
  const body = Buffer.from(payload.map((b, i) => b ^ (key[i % 4] as number)));
  return Buffer.concat([Buffer.from(head), key, body]);
}

export interface RawResult {
  /** HTTP status of the upgrade answer. */
  status: number;
  /** Close code of the first close frame the server sent, if any. */
  closeCode: number | undefined;
  /** Payloads of binary frames the server sent. */
  binary: Buffer[];
}

export class RawWs {
  private buf = Buffer.alloc(0);
  status = 0;
  closeCode: number | undefined;
  readonly binary: Buffer[] = [];
  ended = false;
  private readonly waiters = new Set<() => void>();

  private constructor(readonly socket: Socket) {
    socket.on('data', (d) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.parse();
      this.notify();
    });
    socket.on('close', () => {
      this.ended = true;
      this.notify();
    });
    socket.on('error', () => {});
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }

  private parse(): void {
    if (this.status === 0) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      this.status = Number(/^HTTP\/1\.1 (\d+)/.exec(this.buf.subarray(0, end).toString())?.[1] ?? 0);
      this.buf = this.buf.subarray(end + 4);
    }
    for (;;) {
      if (this.buf.length < 2) return;
      const op = (this.buf[0] as number) & 0x0f;
      let len = (this.buf[1] as number) & 0x7f;
      let off = 2;
      if (len === 126) {
        if (this.buf.length < 4) return;
        len = this.buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (this.buf.length < 10) return;
        len = Number(this.buf.readBigUInt64BE(2));
        off = 10;
      }
      if (this.buf.length < off + len) return;
      const payload = this.buf.subarray(off, off + len);
      if (op === 2) this.binary.push(Buffer.from(payload));
      if (op === 8 && this.closeCode === undefined) this.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
      this.buf = this.buf.subarray(off + len);
    }
  }

  /** Connects and sends the upgrade request; resolves once the answer's status line arrived. */
  static async open(port: number, token: string, path = '/v1/device', protocol = 'halyard.v1'): Promise<RawWs> {
    const socket = connect(port, '127.0.0.1');
    const raw = new RawWs(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    socket.write(
      [
        `GET ${path} HTTP/1.1`,
        'Host: 127.0.0.1',
        'Upgrade: websocket',
        'Connection: Upgrade',
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
        'Sec-WebSocket-Version: 13',
        `Sec-WebSocket-Protocol: ${protocol}`,
        `Authorization: Bearer ${token}`,
        '',
        '',
      ].join('\r\n'),
    );
    await raw.until(() => raw.status !== 0 || raw.ended, 'the upgrade answer');
    return raw;
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  until(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(w);
        reject(new Error(`timed out waiting for ${what} (status ${this.status}, close ${this.closeCode}, ended ${this.ended})`));
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

  /** Waits for the server's close frame or the end of the socket; returns the close code (1006 if none). */
  async closed(timeoutMs = 5_000): Promise<number> {
    await this.until(() => this.closeCode !== undefined || this.ended, 'close', timeoutMs);
    return this.closeCode ?? 1006;
  }

  destroy(): void {
    this.socket.destroy();
  }
}
