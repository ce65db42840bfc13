// A device that behaves like good firmware for fault tests: an outbox of every
// uplink message until acknowledged, resend after WELCOME, reconnects until told
// to stop, commands deduplicated by id and answered once. It records what it saw
// so a test can check the hub against it.

import { type Command, DEVICE_SUBPROTOCOL, decode, encode, type Message, MessageType, type SenmlRecord } from '@halyard/firmware-protocol';
import WebSocket from 'ws';

export class ReliableDevice {
  seq = 0;
  acked = 0;
  /** Every seq the hub ever acknowledged (cumulatively). */
  ackedMax = 0;
  readonly outbox = new Map<number, Message>();
  /** COMMAND deliveries per id (the hub may deliver more than once). */
  readonly deliveries = new Map<string, number>();
  /** Commands run (once per id). */
  readonly executed = new Set<string>();
  sessions = 0;
  private ws: WebSocket | undefined;
  private stopped = false;
  private online = false;

  constructor(
    readonly id: string,
    private readonly token: string,
    private url: string,
    /** Reconnect jitter's source: a test passes a seeded one (helpers/random.ts) to replay a run. */
    private readonly random: () => number = Math.random,
  ) {}

  setUrl(url: string): void {
    this.url = url;
  }

  get isOnline(): boolean {
    return this.online;
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  private connect(): void {
    if (this.stopped) return;
    const ws = new WebSocket(`${this.url}/v1/device`, [DEVICE_SUBPROTOCOL], { headers: { authorization: `Bearer ${this.token}` } });
    this.ws = ws;
    ws.on('open', () => ws.send(encode({ type: MessageType.Hello, proto: 1, fw: '1.0', model: 'reliable' })));
    ws.on('message', (data: Buffer) => this.onMessage(data));
    ws.on('close', () => {
      this.online = false;
      if (!this.stopped) setTimeout(() => this.connect(), 50 + this.random() * 100);
    });
    ws.on('error', () => {});
  }

  private onMessage(data: Buffer): void {
    const r = decode(new Uint8Array(data), { accept: 'downlink' });
    if (!r.ok) return;
    const m = r.message;
    if (m.type === MessageType.Welcome) {
      this.sessions++;
      this.ack(m.acked);
      // SPEC.md §5.5: a counter behind the hub continues after it.
      if (this.seq < m.acked) this.seq = m.acked;
      this.online = true;
      for (const msg of [...this.outbox.values()]) this.ws?.send(encode(msg));
    } else if (m.type === MessageType.Ack) {
      this.ack(m.seq);
    } else if (m.type === MessageType.Command) {
      this.onCommand(m);
    }
  }

  private ack(n: number): void {
    if (n > this.ackedMax) this.ackedMax = n;
    if (n <= this.acked) return;
    for (const s of this.outbox.keys()) if (s <= n) this.outbox.delete(s);
    this.acked = n;
  }

  private onCommand(c: Command): void {
    this.deliveries.set(c.id, (this.deliveries.get(c.id) ?? 0) + 1);
    // SPEC.md §6.4: run once per id; answer repeats from the record.
    this.executed.add(c.id);
    this.ws?.send(encode({ type: MessageType.CmdResult, id: c.id, status: 0, body: { ran: c.id } }));
  }

  /** Queues (and sends, if online) one TELEMETRY; returns its seq. */
  telemetry(pack: SenmlRecord[]): number {
    this.seq++;
    const m: Message = { type: MessageType.Telemetry, seq: this.seq, pack };
    this.outbox.set(this.seq, m);
    if (this.online && this.ws?.readyState === WebSocket.OPEN) this.ws.send(encode(m));
    return this.seq;
  }

  stop(): void {
    this.stopped = true;
    this.ws?.terminate();
    this.online = false;
  }
}
