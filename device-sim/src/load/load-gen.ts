// A lean load generator for benchmarks: many device connections from one process,
// TELEMETRY at a target total rate (or as fast as each connection's window of
// unacknowledged frames allows), ACK latency in an HDR histogram, optional answers
// to commands, optional reconnects. It speaks the real protocol, like the profiles,
// but skips their physics so the generator costs the machine as little as it can.

import { backoffDelay, DEVICE_SUBPROTOCOL, decode, encode, MessageType } from '@halyard/firmware-protocol';
import { build, type Histogram } from 'hdr-histogram-js';
import WebSocket from 'ws';
import { FrameFactory } from './frames.js';

export interface LoadOptions {
  hub: string;
  tokens: readonly string[];
  /** SenML records per TELEMETRY. */
  records: number;
  /** Frames each device may have unacknowledged. */
  window: number;
  /** Total frames per second; 0 = as fast as windows allow. */
  rate: number;
  /** `ack`: count acknowledged frames (a hub); `open`: count sent frames (a server that never acks). */
  mode: 'ack' | 'open';
  /** Answer every COMMAND with CMD_ACCEPTED and a succeeded CMD_RESULT. */
  responder: boolean;
  /** Reconnect after a close, with full-jitter backoff (base 250 ms, cap 5 s). */
  reconnect: boolean;
  /** Spread the first connections over this long, ms. */
  rampMs: number;
  /** Local addresses to spread connections over (127.0.0.x), for more than ~28k sockets. */
  sourceAddresses: readonly string[];
}

export interface LoadStats {
  devices: number;
  online: number;
  refused: number;
  sent: number;
  acked: number;
  /** Frames the target rate asked for that no window could take. */
  behind: number;
  /** Frames sent on live connections and not yet acknowledged. */
  inFlight: number;
  commands: number;
  closes: Record<string, number>;
  connects: number;
  latency: { count: number; p50: number; p99: number; max: number };
}

/** Above this much unsent data on a socket, a device waits: the connection is the bottleneck. */
const MAX_BUFFERED = 256 * 1024;
/** Most frames one pump sends before yielding, so ACKs and commands get read. */
const PUMP_BUDGET = 1_000;

class LoadDevice {
  ws: WebSocket | undefined;
  online = false;
  seq = 0;
  acked = 0;
  attempts = 0;
  private readonly sentAt: Float64Array;

  constructor(
    readonly token: string,
    readonly index: number,
    private readonly gen: LoadGenerator,
  ) {
    this.sentAt = new Float64Array(gen.options.window);
  }

  connect(): void {
    const o = this.gen.options;
    const localAddress = o.sourceAddresses.length ? o.sourceAddresses[this.index % o.sourceAddresses.length] : undefined;
    const ws = new WebSocket(`${o.hub}/v1/device`, [DEVICE_SUBPROTOCOL], {
      headers: { authorization: `Bearer ${this.token}` },
      perMessageDeflate: false,
      ...(localAddress ? { localAddress } : {}),
    });
    this.ws = ws;
    this.gen.connects++;
    ws.on('open', () => ws.send(encode({ type: MessageType.Hello, proto: 1, fw: 'load-1.0', model: 'load' })));
    ws.on('message', (data: Buffer) => this.onMessage(data));
    ws.on('close', (code) => this.onClose(code));
    ws.on('error', () => {});
  }

  private onMessage(data: Buffer): void {
    const r = decode(new Uint8Array(data), { accept: 'downlink' });
    if (!r.ok) return;
    const m = r.message;
    if (m.type === MessageType.Welcome) {
      this.online = true;
      this.attempts = 0;
      this.seq = Math.max(this.seq, m.acked);
      this.acked = m.acked;
      this.gen.online++;
    } else if (m.type === MessageType.Ack) {
      const now = performance.now();
      const h = this.gen.histogram;
      const w = this.sentAt.length;
      for (let s = this.acked + 1; s <= m.seq && s <= this.seq; s++)
        h.recordValue(Math.round((now - (this.sentAt[s % w] as number)) * 1000));
      if (m.seq > this.acked) {
        this.gen.ackedTotal += Math.min(m.seq, this.seq) - this.acked;
        this.acked = m.seq;
      }
    } else if (m.type === MessageType.Command && this.gen.options.responder) {
      this.ws?.send(encode({ type: MessageType.CmdResult, id: m.id, status: 0 }));
      this.gen.commands++;
    }
  }

  private onClose(code: number): void {
    if (!this.online && !this.gen.options.reconnect) this.gen.refused++;
    if (this.online) this.gen.online--;
    this.online = false;
    this.gen.closes[code] = (this.gen.closes[code] ?? 0) + 1;
    // In flight frames were never acknowledged: send those numbers again (the hub dedupes).
    this.seq = this.acked;
    if (this.gen.options.reconnect && !this.gen.stopped) {
      setTimeout(() => this.connect(), backoffDelay(this.attempts++, { baseMs: 250, capMs: 5_000 }));
    }
  }

  canSend(open: boolean): boolean {
    const ws = this.ws;
    if (!this.online || ws === undefined || ws.bufferedAmount > MAX_BUFFERED) return false;
    return open || this.seq - this.acked < this.sentAt.length;
  }

  send(frames: FrameFactory): void {
    this.seq++;
    this.sentAt[this.seq % this.sentAt.length] = performance.now();
    this.ws?.send(frames.telemetry(this.seq));
  }
}

export class LoadGenerator {
  readonly devices: LoadDevice[];
  histogram: Histogram = build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });
  online = 0;
  /** Devices that closed before ever getting a WELCOME (refused, with reconnects off). */
  refused = 0;
  ackedTotal = 0;
  sentTotal = 0;
  behind = 0;
  commands = 0;
  connects = 0;
  closes: Record<string, number> = {};
  stopped = false;
  /** Devices asked to connect so far (connect() goes in steps). */
  private connected = 0;
  private readonly frames: FrameFactory;
  private timer: NodeJS.Timeout | undefined;
  private rateStart = 0;
  private rateSent = 0;
  private cursor = 0;

  constructor(readonly options: LoadOptions) {
    this.frames = new FrameFactory(options.records);
    this.devices = options.tokens.map((t, i) => new LoadDevice(t, i, this));
  }

  /** Opens connections up to device `count` (all by default), spread over rampMs; resolves when they are online (or `timeoutMs` passes). */
  async connect(count = this.devices.length, timeoutMs = 300_000): Promise<void> {
    const { rampMs } = this.options;
    const first = this.connected;
    const n = Math.min(count, this.devices.length);
    this.connected = n;
    await new Promise<void>((resolve) => {
      let i = first;
      const step = () => {
        const due = rampMs > 0 ? Math.min(n, first + Math.ceil(((performance.now() - start) / rampMs) * (n - first))) : n;
        for (; i < due; i++) this.devices[i]?.connect();
        if (i < n) setTimeout(step, 5);
        else resolve();
      };
      const start = performance.now();
      step();
    });
    const deadline = Date.now() + timeoutMs;
    // Done when every device asked for is online or was refused for good.
    while (this.online + this.refused < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  }

  /** Sets the total rate (frames/s, 0 = unlimited) and starts sending. */
  setRate(rate: number): void {
    this.options.rate = rate;
    this.rateStart = performance.now();
    this.rateSent = 0;
    this.timer ??= setInterval(() => this.pump(), 2);
  }

  private pump(): void {
    const open = this.options.mode === 'open';
    const rate = this.options.rate;
    let due = rate > 0 ? Math.floor(((performance.now() - this.rateStart) * rate) / 1000) - this.rateSent : Number.POSITIVE_INFINITY;
    const n = this.connected;
    if (n === 0) return;
    let idle = 0;
    let budget = PUMP_BUDGET;
    while (due > 0 && idle < n && budget-- > 0) {
      const d = this.devices[this.cursor] as LoadDevice;
      this.cursor = (this.cursor + 1) % n;
      if (d.canSend(open)) {
        d.send(this.frames);
        this.sentTotal++;
        this.rateSent++;
        due--;
        idle = 0;
      } else idle++;
    }
    // Asked-for frames that no connection could take: the offered rate is not being met.
    if (rate > 0 && due > 0 && budget > 0) {
      this.behind += due;
      this.rateSent += due;
    }
  }

  /** Pauses sending. */
  pause(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  resetCounters(): void {
    this.histogram.reset();
    this.ackedTotal = 0;
    this.sentTotal = 0;
    this.behind = 0;
    this.commands = 0;
    this.closes = {};
  }

  stats(): LoadStats {
    const h = this.histogram;
    const ms = (us: number) => Math.round(us) / 1000;
    return {
      devices: this.devices.length,
      online: this.online,
      refused: this.refused,
      sent: this.sentTotal,
      acked: this.ackedTotal,
      behind: this.behind,
      inFlight: this.devices.reduce((n, d) => n + (d.online ? d.seq - d.acked : 0), 0),
      commands: this.commands,
      closes: { ...this.closes },
      connects: this.connects,
      latency: { count: h.totalCount, p50: ms(h.getValueAtPercentile(50)), p99: ms(h.getValueAtPercentile(99)), max: ms(h.maxValue) },
    };
  }

  /** Closes every connection (no reconnects). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.pause();
    await Promise.all(
      this.devices.map(
        (d) =>
          new Promise<void>((resolve) => {
            const ws = d.ws;
            if (ws === undefined || ws.readyState === ws.CLOSED) return resolve();
            ws.once('close', () => resolve());
            ws.close(1000);
            setTimeout(() => {
              ws.terminate();
              resolve();
            }, 2_000).unref();
          }),
      ),
    );
  }
}
