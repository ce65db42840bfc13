// One simulated device: a long-lived object holding the device's protocol state
// (sequence counter and offline buffer, command memory, twin version, clock offset)
// across connections, and the connection state machine of SPEC.md §8:
//
//   idle -> connecting -> online -> backoff -> connecting ...
//                     \-> stopped (401, 403, 4403, 4409, stop())
//   online -> rebooting -> connecting (the `reboot` command)
//
// It keeps no timers of its own beyond a wake-up for its next reading and its next
// reconnect: the fleet's sweep drives watchdogs and chaos for every device at once.

import {
  backoffDelay,
  type Command,
  type DataMap,
  DEFAULT_LIMITS,
  type DecodedDownlink,
  decode,
  encode,
  MessageType,
  PROTOCOL_VERSION,
  UPDATE_CAPABILITY,
  type UplinkMessage,
  type Welcome,
} from '@halyard/firmware-protocol';
import WebSocket from 'ws';
import { faultRate, pickFault } from '../chaos/chaos.js';
import { malformedFrame } from '../chaos/malformed.js';
import type { Profile } from '../profiles/profile.js';
import { type Disposition, dispositionForClose, dispositionForStatus, type StopReason } from './close-policy.js';
import type { CommandOutcome } from './command-log.js';
import { type CommandHost, CommandRunner } from './command-runner.js';
import { type Ending, HANDSHAKE_TIMEOUT_MS, openDeviceSocket } from './connection.js';
import type { DeviceSpec, FleetContext } from './context.js';
import { Outbox } from './outbox.js';
import { exponentialMs } from './random.js';
import { ReadingLoop, type ReadingsHost } from './readings.js';
import { SlowReader } from './slow-reader.js';
import { bump, type DeviceState } from './stats.js';
import { FirmwareUpdater, type UpdaterHost } from './updater.js';

/** A rebooting device is down this long, ms. */
const REBOOT_DOWNTIME_MS = 1_500;
/** Stop sending while this much is queued in the socket, bytes: the hub is throttling (§9). */
const SEND_HIGH_WATER = 256 * 1024;
/** Capabilities announced in HELLO besides the commands (SPEC.md §5.1). */
const CAPS = ['commands', 'twin', UPDATE_CAPABILITY];
/** Commands every simulated device carries out (engine/command-runner.ts). */
const BUILT_IN_COMMANDS = ['ping', 'reboot'];

/** HELLO caps: the features, then each command as `cmd:<name>` (SPEC.md §5.1). */
export function helloCaps(profile: Pick<Profile, 'commands'>): string[] {
  return [...CAPS, ...[...BUILT_IN_COMMANDS, ...profile.commands].map((c) => `cmd:${c}`)];
}

/** Why the current connection is being closed from this side. */
type CloseIntent = 'reboot' | 'storm' | 'chaos' | 'watchdog' | 'protocol' | 'stop';

export class SimDevice implements CommandHost, ReadingsHost, UpdaterHost {
  state: DeviceState = 'idle';
  /** The version in the running slot: the profile's until an update installs another. */
  private fw: string;
  /** Created at the first UPDATE_OFFER (SPEC.md §12), so devices that never update cost nothing. */
  private updater: FirmwareUpdater | undefined;
  stopReason: StopReason | undefined;
  /** Boot counter reported in HELLO: increments on each `reboot`. */
  private bootCount = 1;
  private bootedAt = performance.now();
  private readonly outbox: Outbox;
  private readonly runner: CommandRunner;
  private ws: WebSocket | undefined;
  private attempts = 0;
  private backoffAttempt = 0;
  private sessionStart = 0;
  private lastHeard = 0;
  private handshakeDeadline = 0;
  /** The hub's clock minus this device's clock, from WELCOME (§6.1), ms. */
  private offsetMs = 0;
  private pingMs = 30_000;
  private maxFrame = DEFAULT_LIMITS.maxFrame;
  private desiredVersion = 0;
  private reportedThisBoot = false;
  private errorCode: number | undefined;
  /** The seq the hub's ERROR named, if it named one (SPEC.md §8.3). */
  private errorSeq: number | undefined;
  private intent: CloseIntent | undefined;
  private silent = false;
  private sentMalformed = false;
  private malformedCount = 0;
  /** After a refusal: drop the message of this seq after WELCOME. */
  private refusedSeq: number | undefined;
  private reprovisioned = false;
  private readonly readings: ReadingLoop;
  private nextChaosAt = Number.POSITIVE_INFINITY;
  private retryTimer: NodeJS.Timeout | undefined;
  private slow: SlowReader | undefined;
  private stopped: (() => void) | undefined;

  constructor(
    readonly spec: DeviceSpec,
    readonly index: number,
    readonly profile: Profile,
    private readonly ctx: FleetContext,
    /** Misbehaves under --chaos-* (the --chaos-devices share). */
    readonly chaotic: boolean,
    /** This device's clock error, ms (--chaos-skew); 0 for an accurate clock. */
    readonly skewMs: number,
  ) {
    this.outbox = new Outbox(ctx.buffer);
    this.runner = new CommandRunner(this);
    this.readings = new ReadingLoop(this, ctx);
    this.fw = profile.fw;
  }

  get model(): string {
    return this.profile.model;
  }

  runningFw(): string {
    return this.fw;
  }

  get id(): string {
    return this.spec.id;
  }

  /** Messages buffered and not acknowledged. */
  get pending(): number {
    return this.outbox.size;
  }

  /** The next sequence number (for tests and diagnostics). */
  get nextSeq(): number {
    return this.outbox.nextSeq;
  }

  /** The device's own clock: wall time plus its skew, ms. */
  clock(): number {
    return Date.now() + this.skewMs;
  }

  start(): void {
    if (this.state !== 'idle') return;
    this.readings.start();
    this.connect();
  }

  /** Closes the connection (1000) and stops for good. Resolves once the socket is closed. */
  stop(): Promise<void> {
    this.readings.stop();
    this.updater?.stop();
    clearTimeout(this.retryTimer);
    if (this.state === 'stopped') return Promise.resolve();
    const ws = this.ws;
    if (ws === undefined) {
      this.setStopped('stopped');
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.stopped = resolve;
      this.intent = 'stop';
      if (ws.readyState === WebSocket.OPEN) {
        ws.close(1000, 'simulator stopping');
        // A hub that never answers the close must not hold up the fleet's stop.
        setTimeout(() => ws.terminate(), 2_000).unref();
      } else {
        ws.terminate();
      }
    });
  }

  // ---- the fleet's sweep -------------------------------------------------------

  /** Called by the fleet a few times a second: watchdogs and chaos. */
  sweep(now: number): void {
    const ws = this.ws;
    if (ws === undefined) return;
    if (this.state === 'connecting' && now > this.handshakeDeadline) {
      bump(this.ctx.stats.counters.errors, 'HANDSHAKE_TIMEOUT');
      this.drop('watchdog');
      return;
    }
    if (this.state !== 'online') return;
    this.updater?.sweep(now);
    // §8.2: nothing from the hub for 2 x ping + 10 s means the connection is dead.
    if (now - this.lastHeard > 2 * this.pingMs + 10_000) {
      bump(this.ctx.stats.counters.errors, 'HUB_SILENT');
      this.drop('watchdog');
      return;
    }
    if (now >= this.nextChaosAt && !this.silent && this.ctx.producing) this.injectChaos(now);
  }

  /** Drops the connection abruptly and reconnects at once, without backoff (--chaos-storm). */
  storm(): void {
    if (this.state === 'online') this.drop('storm');
  }

  private drop(intent: CloseIntent): void {
    this.intent = intent;
    this.ws?.terminate();
  }

  private injectChaos(now: number): void {
    const { stats, events } = this.ctx;
    const kind = pickFault(this.ctx.chaos, this.ctx.random);
    events.emit('chaos', { id: this.id, kind });
    if (kind === 'disconnect') {
      stats.counters.chaos.disconnects++;
      this.drop('chaos');
    } else if (kind === 'silent') {
      // Frozen firmware: no pongs, no frames; the hub's liveness check must notice.
      stats.counters.chaos.silences++;
      this.silent = true;
    } else {
      const frame = malformedFrame(this.malformedCount++);
      stats.counters.chaos.malformed++;
      this.sentMalformed = true;
      if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(frame.data, { binary: frame.binary });
    }
    this.scheduleChaos(now);
  }

  private scheduleChaos(now: number): void {
    this.nextChaosAt = now + exponentialMs(this.ctx.random, this.chaotic ? faultRate(this.ctx.chaos) : 0);
  }

  // ---- connecting ----------------------------------------------------------------

  private connect(): void {
    this.retryTimer = undefined;
    if (this.attempts++ > 0) this.ctx.stats.counters.reconnects++;
    this.setState('connecting');
    this.errorCode = undefined;
    this.errorSeq = undefined;
    this.intent = undefined;
    this.silent = false;
    this.sentMalformed = false;
    this.handshakeDeadline = performance.now() + HANDSHAKE_TIMEOUT_MS;
    const ws = openDeviceSocket(this.ctx, this.spec.token, this.ctx.localAddress(this.index), {
      open: () => {
        this.lastHeard = performance.now();
        ws.send(
          encode({
            type: MessageType.Hello,
            proto: PROTOCOL_VERSION,
            fw: this.fw,
            model: this.profile.model,
            boot: this.bootCount,
            caps: helloCaps(this.profile),
            update: this.updater?.helloUpdate(),
          }),
        );
      },
      ping: (data) => {
        this.lastHeard = performance.now();
        if (!this.silent) ws.pong(data);
      },
      message: (data, binary) => this.onMessage(ws, data, binary),
      error: (code) => {
        // Aborting a handshake on stop() raises an error too, which is no failure.
        if (this.intent !== 'stop') bump(this.ctx.stats.counters.errors, code);
      },
      end: (ending) => {
        if (this.ws === ws) this.ws = undefined;
        this.onEnded(ending);
      },
    });
    this.ws = ws;
  }

  private onEnded(ending: Ending): void {
    const { stats, events } = this.ctx;
    const wasOnline = this.state === 'online';
    const intent = this.intent;
    this.intent = undefined;
    this.silent = false;
    this.slow?.clear();
    this.slow = undefined;
    this.outbox.resetConnection();
    this.updater?.disconnected();
    this.nextChaosAt = Number.POSITIVE_INFINITY;

    if (intent === 'stop' || this.stopped !== undefined) {
      this.setStopped('stopped');
      return;
    }
    let disposition: Disposition;
    let code: number | undefined;
    if (ending.kind === 'http') {
      bump(stats.counters.upgradeFailures, ending.status);
      disposition = dispositionForStatus(ending.status, ending.retryAfter);
    } else {
      // The ERROR before a close names the code even if the close frame got lost (1006).
      code = this.errorCode ?? ending.code;
      bump(stats.counters.closes, code);
      disposition = dispositionForClose(code);
    }
    if (intent === 'reboot') {
      this.setState('rebooting');
      events.emit('offline', { id: this.id, code, retryInMs: REBOOT_DOWNTIME_MS });
      this.retryTimer = setTimeout(() => this.connect(), REBOOT_DOWNTIME_MS);
      return;
    }
    if (intent === 'storm') {
      this.setState('backoff');
      events.emit('offline', { id: this.id, code, retryInMs: 0 });
      this.retryTimer = setTimeout(() => this.connect(), 0);
      return;
    }
    if (disposition.action === 'stop') {
      events.emit('offline', { id: this.id, code, status: ending.kind === 'http' ? ending.status : undefined });
      if (disposition.reason === 'unauthorized' && this.ctx.onUnauthorized !== undefined && !this.reprovisioned) {
        this.reprovision(this.ctx.onUnauthorized);
        return;
      }
      this.setStopped(disposition.reason);
      return;
    }
    // §8.3: the refused message would fail again; malformed chaos frames were never buffered.
    // Without a seq the hub could not name a message of ours: nothing is dropped (§8.3).
    if (disposition.dropRefused && !this.sentMalformed) this.refusedSeq = this.errorSeq;
    if (wasOnline && performance.now() - this.sessionStart > this.ctx.backoff.capMs) this.backoffAttempt = 0;
    const delay = Math.max(backoffDelay(this.backoffAttempt++, this.ctx.backoff, this.ctx.random), disposition.minDelayMs);
    this.setState('backoff');
    events.emit('offline', { id: this.id, code, status: ending.kind === 'http' ? ending.status : undefined, retryInMs: delay });
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  /** After a 401: new credentials (the fleet re-provisions) are not an automatic retry of the old ones. */
  private reprovision(get: (id: string) => Promise<string | undefined>): void {
    this.reprovisioned = true;
    this.setState('backoff');
    get(this.id).then(
      (token) => {
        if (this.state !== 'backoff') return;
        if (token === undefined) return this.setStopped('unauthorized');
        this.spec.token = token;
        this.connect();
      },
      (err: Error & { code?: string }) => {
        bump(this.ctx.stats.counters.errors, err.code ?? 'REPROVISION_FAILED');
        if (this.state === 'backoff') this.setStopped('unauthorized');
      },
    );
  }

  // ---- downlink ------------------------------------------------------------------

  private onMessage(ws: WebSocket, data: Buffer, binary: boolean): void {
    this.lastHeard = performance.now();
    if (this.silent) return; // a hung device reads nothing
    const slowMs = this.chaotic ? this.ctx.chaos.slowMs : 0;
    if (slowMs > 0) {
      this.slow ??= new SlowReader(ws, slowMs, (d, b) => {
        if (this.ws === ws) this.receive(ws, d, b);
      });
      this.slow.push(data, binary);
      return;
    }
    this.receive(ws, data, binary);
  }

  private receive(ws: WebSocket, data: Buffer, binary: boolean): void {
    if (!binary) {
      this.hubBrokeProtocol(ws, 'text message');
      return;
    }
    const decoded = decode(data, { accept: 'downlink' });
    if (!decoded.ok) {
      this.hubBrokeProtocol(ws, decoded.error.code);
      return;
    }
    const m = decoded.message as DecodedDownlink;
    if (m.type === MessageType.Error) {
      this.errorCode = m.code;
      this.errorSeq = m.seq;
    } else if (m.type === MessageType.Welcome) {
      if (this.state === 'connecting') this.onWelcome(m);
      else this.hubBrokeProtocol(ws, 'second WELCOME');
    } else if (this.state !== 'online') {
      this.hubBrokeProtocol(ws, 'message before WELCOME');
    } else if (m.type === MessageType.Ack) {
      const { stats } = this.ctx;
      const n = this.outbox.ack(m.seq, performance.now(), (ms) => stats.recordLatency(ms));
      stats.counters.acked += n;
      stats.pending -= n;
      this.pump();
    } else if (m.type === MessageType.Command) {
      this.ctx.stats.counters.commands.received++;
      this.runner.handle(m);
    } else if (m.type === MessageType.Desired) {
      this.onDesired(m.version, m.desired);
    } else if (m.type === MessageType.UpdateOffer) {
      this.updater ??= new FirmwareUpdater(this, this.ctx.updates(this.chaotic, this.spec.updateFault));
      this.updater.onOffer(m);
    } else if (m.type === MessageType.Chunk) {
      this.updater?.onChunk(m);
    } else {
      this.updater?.onCancel(m.job);
    }
  }

  private hubBrokeProtocol(ws: WebSocket, what: string): void {
    const { stats } = this.ctx;
    stats.counters.hubProtocolErrors++;
    bump(stats.counters.errors, `HUB_PROTOCOL:${what}`);
    this.intent = 'protocol';
    ws.close(1002, 'protocol error');
  }

  private onWelcome(w: Welcome): void {
    const { stats, events } = this.ctx;
    this.offsetMs = w.time - this.clock();
    this.pingMs = w.ping * 1_000;
    this.maxFrame = w.maxFrame;
    const out = this.outbox.welcome(w.acked);
    stats.counters.acked += out.dropped;
    stats.pending -= out.dropped;
    if (this.refusedSeq !== undefined) {
      const seq = this.refusedSeq;
      this.refusedSeq = undefined;
      if (this.outbox.dropRefused(seq) !== undefined) {
        stats.counters.refused++;
        stats.pending--;
      }
    }
    this.sessionStart = performance.now();
    stats.counters.sessions++;
    this.setState('online');
    this.scheduleChaos(this.sessionStart);
    events.emit('online', { id: this.id, session: w.session, acked: w.acked, boot: this.bootCount, fw: this.fw });
    this.updater?.welcomed();
    if (!this.reportedThisBoot) {
      this.reportedThisBoot = true;
      this.report(this.profile.state());
    }
    this.pump();
  }

  private onDesired(version: number, desired: DataMap): void {
    // §7.1: only a newer version than the last applied one counts.
    if (version <= this.desiredVersion) return;
    this.desiredVersion = version;
    const reported = this.profile.applyDesired(desired);
    this.ctx.stats.counters.desiredApplied++;
    if (Object.keys(reported).length > 0) this.report(reported);
    this.ctx.events.emit('desired', { id: this.id, version, reported });
  }

  // ---- uplink --------------------------------------------------------------------

  /** Encodes a sequenced message into the outbox and sends what the window allows. */
  enqueue(make: (seq: number) => UplinkMessage): void {
    const { stats } = this.ctx;
    const seq = this.outbox.allocate();
    const bytes = encode(make(seq));
    if (bytes.length > this.maxFrame) {
      // §5.5: never send more than maxFrame; the number is skipped (gaps are allowed).
      stats.counters.refused++;
      return;
    }
    const dropped = this.outbox.push(seq, bytes);
    stats.counters.dropped += dropped;
    stats.pending += 1 - dropped;
    this.pump();
  }

  private pump(): void {
    const ws = this.ws;
    // Not OPEN: a socket being torn down drops what is sent on it without a word.
    if (ws === undefined || ws.readyState !== WebSocket.OPEN || this.state !== 'online' || this.silent) return;
    const { stats } = this.ctx;
    for (let e = this.outbox.peekUnsent(); e !== undefined; e = this.outbox.peekUnsent()) {
      // The hub throttles a fast device by not reading (§9); the next ACK resumes us.
      if (ws.bufferedAmount > SEND_HIGH_WATER) return;
      if (this.outbox.markSent(performance.now())) stats.counters.resent++;
      ws.send(e.bytes);
    }
  }

  sendDirect(message: UplinkMessage): void {
    const ws = this.ws;
    if (ws === undefined || ws.readyState !== WebSocket.OPEN || this.state !== 'online' || this.silent) return;
    ws.send(encode(message));
  }

  report(patch: DataMap): void {
    this.ctx.stats.counters.reported++;
    this.enqueue((seq) => ({ type: MessageType.Reported, seq, patch }));
  }

  measuring(): boolean {
    return this.state !== 'rebooting' && this.state !== 'stopped' && this.ctx.producing;
  }

  // ---- CommandHost ---------------------------------------------------------------

  hubNow(): number {
    return this.clock() + this.offsetMs;
  }

  boot(): number {
    return this.bootCount;
  }

  uptimeMs(): number {
    return performance.now() - this.bootedAt;
  }

  alive(): boolean {
    return this.state !== 'stopped';
  }

  // ---- UpdaterHost -----------------------------------------------------------------

  rebootInto(fw: string): void {
    this.fw = fw;
    this.reboot();
  }

  dropConnection(): void {
    if (this.ws !== undefined) this.drop('chaos');
  }

  updated(job: string, state: string, reason: string | undefined, progress: number): void {
    this.ctx.events.emit('update', { id: this.id, job, state, ...(reason === undefined ? {} : { reason }), progress });
  }

  reboot(): void {
    this.bootCount++;
    this.bootedAt = performance.now();
    this.reportedThisBoot = false;
    if (this.ws === undefined) return;
    this.intent = 'reboot';
    this.ws.close(1000, 'rebooting');
  }

  done(command: Command, outcome: CommandOutcome): void {
    const c = this.ctx.stats.counters.commands;
    if (outcome.status === 0) c.succeeded++;
    else if (outcome.status === 1) c.failed++;
    else c.rejected++;
    this.ctx.events.emit('command', { id: this.id, command: { id: command.id, name: command.name }, outcome });
  }

  duplicate(): void {
    this.ctx.stats.counters.commands.duplicates++;
  }

  /**
   * A power cut on firmware that keeps nothing in flash: the connection drops, the
   * counter restarts at 1, the buffer is lost, and the device boots again. Its next
   * WELCOME puts the counter back after `acked` (SPEC.md §5.5).
   */
  forgetMemory(): void {
    const lost = this.outbox.forget();
    this.ctx.stats.counters.lost += lost;
    this.ctx.stats.pending -= lost;
    this.bootCount++;
    this.bootedAt = performance.now();
    this.reportedThisBoot = false;
    if (this.ws !== undefined) this.drop('reboot');
  }

  // ---- state -----------------------------------------------------------------------

  private setState(to: DeviceState): void {
    if (this.state === to) return;
    this.ctx.stats.move(this.state, to);
    this.state = to;
  }

  private setStopped(reason: StopReason): void {
    this.readings.stop();
    clearTimeout(this.retryTimer);
    this.stopReason = reason;
    this.setState('stopped');
    bump(this.ctx.stats.counters.stopReasons, reason);
    this.ctx.events.emit('stopped', { id: this.id, reason });
    const resolve = this.stopped;
    this.stopped = undefined;
    resolve?.();
  }
}
