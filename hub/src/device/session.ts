// One device connection (SPEC.md §8): HELLO first, then uplink frames in the
// device's sequence space, command answers; ACKs after commit; ERROR then close on
// anything malformed. Never throws on a peer's input.

import type { Duplex } from 'node:stream';
import {
  CloseCode,
  type DecodedUplink,
  decode,
  encode,
  type Hello,
  type Limits,
  type Message,
  MessageType,
  messageName,
  type PresenceReason,
  type ResolvedRecord,
} from '@halyard/firmware-protocol';
import type { WebSocket } from 'ws';
import type { HubConfig } from '../config.js';
import type { DeviceEntry } from '../fleet.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { TokenBucket, WindowCounter } from '../net/rate-limit.js';

/** What the store hands back with each committed frame. */
export interface FrameMeta {
  entry: DeviceEntry;
  message: DecodedUplink;
  /** performance.now() when the frame arrived, for the ACK latency metric. */
  receivedAt: number;
}

/** A TELEMETRY frame's records as the session decoded them (a store need not decode the frame again). */
export function frameRecords(m: FrameMeta): readonly ResolvedRecord[] | undefined {
  return m.message.type === MessageType.Telemetry ? m.message.records : undefined;
}

/**
 * What a session needs from whoever runs it (the device gateway): settings, where
 * its frames and answers go, and the session's own beginning and end.
 */
export interface DeviceSessionHost {
  readonly config: Pick<Readonly<HubConfig>, 'deviceRate' | 'helloTimeout' | 'maxFrame' | 'pingInterval'>;
  /** Decoding limits, one object for every session. */
  readonly limits: Limits;
  readonly log: Logger;
  readonly metrics: Pick<Metrics, 'rejected' | 'framesOutOf' | 'framesInOf' | 'bytesOut' | 'bytesIn' | 'duplicates' | 'throttled'>;
  /** Reads are paused for the store's backlog: a throttled session must not resume them. */
  readonly storePaused: boolean;
  /** HELLO accepted: the host answers WELCOME. */
  sessionOpened(session: DeviceSession, hello: Hello): void;
  /** The session is over; `wasOpen` if it had passed HELLO. */
  sessionEnded(session: DeviceSession, wasOpen: boolean, reason: PresenceReason, code: number | null): void;
  /** Sends the device's ACK now if one is due. */
  ackNow(entry: DeviceEntry): void;
  /** A new uplink frame (TELEMETRY, EVENT, REPORTED) to store; its ACK comes through `send` once committed. */
  ingest(entry: DeviceEntry, m: DecodedUplink, data: Buffer, now: number): void;
  commandAccepted(entry: DeviceEntry, id: string): void;
  commandResult(entry: DeviceEntry, m: DecodedUplink & { type: typeof MessageType.CmdResult }): void;
  /** A CHUNK_REQUEST of a firmware update (SPEC.md §12.3). */
  chunkRequest(entry: DeviceEntry, session: DeviceSession, m: DecodedUplink & { type: typeof MessageType.ChunkRequest }): void;
  /** Why a TELEMETRY frame must be refused before it is stored, or undefined to take it. */
  admitTelemetry(entry: DeviceEntry, records: readonly ResolvedRecord[]): string | undefined;
}

/** `refusing`: a refused message waits for the commits before it (SPEC.md §8.3). */
type State = 'hello' | 'open' | 'refusing' | 'closed';

/** An ERROR held back until the frames received before the refused message are durable. */
interface Refusal {
  code: number;
  message: string;
  seq: number | undefined;
  /** The device's accepted seq when it was refused: ERROR goes once this is durable. */
  after: number;
  timer: NodeJS.Timeout;
}

/**
 * Longest an ERROR waits for those commits. A commit that fails ends the session
 * with 1011 anyway; this only bounds a store that is stalled, not failing.
 */
const REFUSAL_WAIT_MS = 5_000;

const REASON_BY_CODE: Record<number, PresenceReason> = {
  [CloseCode.Malformed]: 'malformed',
  [CloseCode.Revoked]: 'revoked',
  [CloseCode.HelloTimeout]: 'hello_timeout',
  [CloseCode.Replaced]: 'replaced',
  [CloseCode.TooLarge]: 'too_large',
  [CloseCode.RateLimited]: 'rate_limited',
  [CloseCode.GoingAway]: 'shutdown',
  [CloseCode.InternalError]: 'error',
};

let sessionCounter = 0;

export class DeviceSession {
  readonly id = `s-${Date.now().toString(36)}-${(++sessionCounter).toString(36)}`;
  private state: State = 'hello';
  // Per-connection state is kept small (tens of thousands of sessions): the ping
  // counter and the held queue exist only once used, the HELLO timer only until HELLO,
  // and the decoding limits are the gateway's.
  private helloTimer: NodeJS.Timeout | undefined;
  private readonly bucket: TokenBucket;
  private pings: WindowCounter | undefined;
  private resumeTimer: NodeJS.Timeout | undefined;
  /** Messages read while over the rate, handled in order as tokens return. */
  private held: [Buffer, boolean][] | undefined;
  /** Why the hub ended the session, when it did. */
  private endReason: PresenceReason | undefined;
  private refusal: Refusal | undefined;
  lastHeard: number;
  pingSentAt = 0;
  nextPingAt = 0;

  /** Bytes read from the socket since the last complete message or pong. */
  private rawBytes = 0;

  constructor(
    readonly ws: WebSocket,
    socket: Duplex,
    readonly entry: DeviceEntry,
    private readonly gw: DeviceSessionHost,
    readonly remote: string,
  ) {
    const now = Date.now();
    this.lastHeard = now;
    const { config } = gw;
    this.bucket = new TokenBucket(config.deviceRate, config.deviceRate * 5, now);
    this.helloTimer = setTimeout(() => this.fail(CloseCode.HelloTimeout, `no HELLO within ${config.helloTimeout} ms`), config.helloTimeout);
    // Bytes that never complete a message (100k empty fragments, say) pass every
    // per-message check; bound them here: at most a message's worth plus slack.
    const rawLimit = config.maxFrame * 4 + 65_536;
    socket.on('data', (chunk: Buffer) => {
      this.rawBytes += chunk.length;
      if (this.rawBytes > rawLimit) this.refuse(CloseCode.TooLarge, `more than ${rawLimit} bytes without a complete message`);
    });
    ws.on('message', (data, isBinary) => this.onMessage(data as Buffer, isBinary));
    ws.on('pong', () => this.onPong());
    ws.on('ping', () => this.onPing());
    ws.on('close', (code) => this.onClose(code));
    ws.on('error', (err) => {
      // Protocol violations below our layer (ws closes with 1002/1007/1009 itself).
      this.gw.log.warn(
        { device: entry.record.id, session: this.id, err: err.message, code: (err as { code?: string }).code },
        'device socket error',
      );
      this.gw.metrics.rejected.inc({ reason: (err as { code?: string }).code ?? 'socket' });
      this.endReason ??= 'malformed';
    });
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  /** Sends one message; returns false when the socket is gone. */
  send(message: Message): boolean {
    if (this.ws.readyState !== this.ws.OPEN) return false;
    const bytes = encode(message);
    this.ws.send(bytes);
    this.gw.metrics.framesOutOf(messageName(message.type)).inc();
    this.gw.metrics.bytesOut.inc(bytes.length);
    return true;
  }

  /**
   * ERROR then close (SPEC.md §8.4), with a log line, now. The ACK of what is durable
   * goes first if it is still queued, so the device does not take the ERROR for a
   * frame the hub holds.
   */
  fail(code: number, message: string, seq?: number): void {
    if (this.state === 'closed') return;
    const reason = REASON_BY_CODE[code] ?? 'error';
    this.gw.metrics.rejected.inc({ reason });
    this.gw.log.warn(
      { device: this.entry.record.id, session: this.id, code, seq, remote: this.remote },
      `closing device session: ${message}`,
    );
    if (this.entry.session === this) this.gw.ackNow(this.entry);
    this.send({ type: MessageType.Error, code, message: message.slice(0, 500), ...(seq === undefined ? {} : { seq }) });
    this.end(code, reason, message);
  }

  /**
   * The device sent something the hub refuses: ERROR then close, but only after the
   * ACKs of frames received before it, whose commit may still be in flight (SPEC.md
   * §8.3). Meanwhile nothing more is read.
   */
  private refuse(code: number, message: string, seq?: number): void {
    if (this.state === 'refusing') return;
    const e = this.entry;
    if (this.state !== 'open' || e.session !== this || e.durableSeq >= e.acceptedSeq) {
      this.fail(code, message, seq);
      return;
    }
    this.state = 'refusing';
    this.ws.pause();
    this.held = undefined;
    if (this.resumeTimer) clearTimeout(this.resumeTimer);
    this.resumeTimer = undefined;
    const timer = setTimeout(() => this.fail(code, message, seq), REFUSAL_WAIT_MS);
    this.refusal = { code, message, seq, after: e.acceptedSeq, timer };
  }

  /** A commit of this device's frames landed: a held ERROR may go now. */
  committed(): void {
    const r = this.refusal;
    if (r !== undefined && this.state === 'refusing' && this.entry.durableSeq >= r.after) this.fail(r.code, r.message, r.seq);
  }

  /** Closes without an ERROR: for endings that are not the device's fault (shutdown, replaced, revoked). */
  end(code: number, reason: PresenceReason, text = ''): void {
    if (this.state === 'closed') return;
    this.endReason = reason;
    this.finish(code);
    // Read again (a refusing or store-paused session stopped): the device's close
    // reply must be read, or the handshake waits for the cut-off below.
    this.ws.resume();
    // Close reasons are limited to 123 bytes by RFC 6455.
    this.ws.close(code, Buffer.from(text).subarray(0, 120).toString());
    // A peer that never completes the close handshake is cut off.
    setTimeout(() => this.ws.terminate(), 2_000).unref();
  }

  /** Drops the connection at once (a silent peer). */
  terminate(reason: PresenceReason): void {
    if (this.state === 'closed') return;
    this.endReason = reason;
    this.gw.log.info({ device: this.entry.record.id, session: this.id }, `device ${reason}`);
    this.finish(1006);
    this.ws.terminate();
  }

  private finish(code: number): void {
    const wasOpen = this.state === 'open' || this.state === 'refusing';
    this.state = 'closed';
    clearTimeout(this.helloTimer);
    this.helloTimer = undefined;
    clearTimeout(this.refusal?.timer);
    this.refusal = undefined;
    if (this.resumeTimer) clearTimeout(this.resumeTimer);
    this.gw.sessionEnded(this, wasOpen, this.endReason ?? 'closed', code);
  }

  private onClose(code: number): void {
    // Ended by the device or the network (a hub-initiated end has already finished).
    if (this.state !== 'closed') this.finish(code);
  }

  private onPong(): void {
    this.rawBytes = 0;
    const now = Date.now();
    if (this.pingSentAt > 0 && this.lastHeard < this.pingSentAt) {
      this.entry.rtt = now - this.pingSentAt;
      this.entry.dirty = true;
    }
    this.heard(now);
  }

  private onPing(): void {
    // ws answers pings itself; a flood of them is ours to stop (SPEC.md §9).
    this.pings ??= new WindowCounter(Math.max(this.gw.config.pingInterval, 1000));
    if (this.pings.hit(Date.now()) > 5) this.refuse(CloseCode.RateLimited, 'ping flood: at most 5 pings per ping interval');
  }

  private heard(now: number): void {
    this.lastHeard = now;
    this.entry.lastSeen = now;
    this.entry.dirty = true;
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    this.rawBytes = 0;
    // Refusing: what the device sent after the refused message is not read (SPEC.md §8.3).
    if (this.state === 'closed' || this.state === 'refusing') return;
    const now = Date.now();
    this.heard(now);
    this.gw.metrics.bytesIn.inc(data.length);
    // Over the rate (or already holding messages, to keep their order): hold it.
    if ((this.held !== undefined && this.held.length > 0) || this.bucket.take(now) > 0) {
      this.held ??= [];
      this.held.push([data, isBinary]);
      this.throttle();
      return;
    }
    this.handle(data, isBinary, now);
  }

  private handle(data: Buffer, isBinary: boolean, now: number): void {
    if (!isBinary) {
      this.refuse(CloseCode.Malformed, 'text messages are not allowed; send binary CBOR');
      return;
    }
    const r = decode(data, { accept: 'uplink', limits: this.gw.limits, now });
    if (!r.ok) {
      this.refuse(r.error.closeCode, `${r.error.code}: ${r.error.message}`, r.error.seq);
      return;
    }
    const m = r.message as DecodedUplink;
    this.gw.metrics.framesInOf(messageName(m.type)).inc();
    if (this.state === 'hello') {
      if (m.type !== MessageType.Hello) {
        this.fail(CloseCode.Malformed, `expected HELLO first, got ${messageName(m.type)}`);
        return;
      }
      clearTimeout(this.helloTimer);
      this.helloTimer = undefined;
      this.state = 'open';
      this.gw.sessionOpened(this, m);
      return;
    }
    switch (m.type) {
      case MessageType.Hello:
        this.refuse(CloseCode.Malformed, 'HELLO is only allowed as the first message');
        return;
      case MessageType.Telemetry:
      case MessageType.Event:
      case MessageType.Reported:
      case MessageType.UpdateStatus:
        this.uplink(m, data, now);
        return;
      case MessageType.ChunkRequest:
        this.gw.chunkRequest(this.entry, this, m);
        return;
      case MessageType.CmdAccepted:
        this.gw.commandAccepted(this.entry, m.id);
        return;
      case MessageType.CmdResult:
        this.gw.commandResult(this.entry, m);
        return;
    }
  }

  /** TELEMETRY, EVENT and REPORTED share the sequence space (SPEC.md §5.5). */
  private uplink(m: DecodedUplink & { seq: number }, data: Buffer, now: number): void {
    const e = this.entry;
    if (m.seq <= e.acceptedSeq) {
      // A resend: acknowledged (now if durable, else by the pending commit), not stored again.
      this.gw.metrics.duplicates.inc();
      if (m.seq <= e.durableSeq) this.send({ type: MessageType.Ack, seq: e.durableSeq });
      return;
    }
    // A frame that breaks a per-device limit is refused whole, before anything of it is stored.
    const refused = m.type === MessageType.Telemetry ? this.gw.admitTelemetry(e, m.records) : undefined;
    if (refused !== undefined) {
      this.refuse(CloseCode.Malformed, refused, m.seq);
      return;
    }
    e.acceptedSeq = m.seq;
    this.gw.ingest(e, m, data, now);
  }

  /**
   * Over the rate: stop reading the socket (TCP pushes back on the device) and
   * handle held messages as tokens return, in order; read again once none are held.
   */
  private throttle(): void {
    if (this.resumeTimer !== undefined) return;
    if (!this.ws.isPaused) {
      this.gw.metrics.throttled.inc();
      this.ws.pause();
    }
    const drain = () => {
      this.resumeTimer = undefined;
      const held = this.held ?? [];
      while (held.length > 0 && this.state !== 'closed' && this.state !== 'refusing') {
        const now = Date.now();
        const wait = this.bucket.take(now);
        if (wait > 0) {
          this.resumeTimer = setTimeout(drain, wait);
          return;
        }
        const [data, isBinary] = held.shift() as [Buffer, boolean];
        this.handle(data, isBinary, now);
      }
      if (this.state !== 'closed' && this.state !== 'refusing' && !this.gw.storePaused) this.ws.resume();
    };
    this.resumeTimer = setTimeout(drain, Math.ceil(1000 / this.gw.config.deviceRate));
  }

  /** Pauses or resumes reading for store backpressure (the rate throttle has its own timer). */
  setReading(on: boolean): void {
    if (this.state === 'closed' || this.state === 'refusing') return;
    if (on && this.resumeTimer === undefined) this.ws.resume();
    else if (!on) this.ws.pause();
  }
}
