// The console channel (/v1/console, SPEC.md §10): the web console's live view.
// Authenticates upgrades (session cookie or Bearer, Origin check), runs one
// ConsoleConnection per socket, and fans bus events out to the consoles that
// subscribed, encoding each update once however many consoles receive it.

import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  CloseCode,
  CONSOLE_LIMITS,
  CONSOLE_SUBPROTOCOL,
  type ConsoleStream,
  type DeviceInfo,
  type HubStats,
} from '@halyard/firmware-protocol';
import { Counter } from 'prom-client';
import { WebSocketServer } from 'ws';
import { sameOrigin } from '../auth/origin.js';
import { requestToken } from '../auth/request-token.js';
import type { BusEvents } from '../bus.js';
import type { HubContext } from '../context.js';
import { HubError, HubErrorCode } from '../errors.js';
import { requestClient } from '../net/client-address.js';
import { answerHandshakeErrors, logRefusal, rejectUpgrade } from '../net/reject-upgrade.js';
import type { StatsFeed } from '../stats-feed.js';
import { HUB_VERSION } from '../version.js';
import { type ConsoleCaller, ConsoleConnection, type ConsoleHost } from './connection.js';
import type { OutboxOptions } from './outbox.js';
import { ConsoleSlots } from './slots.js';
import { encodeUpdate, toPoints } from './updates.js';

export interface ConsoleGatewayOptions {
  /** Slow-console handling (SPEC.md §10.4); defaults in outbox.ts. */
  outbox: Partial<OutboxOptions>;
  /** How often online devices' last-seen times and RTTs are re-sent to fleet subscribers, ms. */
  refreshIntervalMs: number;
  /** Ping period; a console that misses one ping is dropped, ms. */
  pingIntervalMs: number;
  /** Console -> hub messages per second on average, and in a burst; more closes with 4429. */
  rate: { perSecond: number; burst: number };
  /** Most consoles at once; more get HTTP 503. */
  maxConsoles: number;
  /** Most consoles one operator may hold open; more get HTTP 429. */
  maxConsolesPerOperator: number;
  /** Most consoles from one client address; more get HTTP 429. */
  maxConsolesPerAddress: number;
}

export const CONSOLE_GATEWAY_DEFAULTS: Readonly<ConsoleGatewayOptions> = Object.freeze({
  outbox: {},
  refreshIntervalMs: 5_000,
  pingIntervalMs: 30_000,
  rate: { perSecond: 50, burst: 200 },
  maxConsoles: 1_000,
  // A person rarely has more than a few tabs open; an office behind one NAT may hold a few dozen.
  maxConsolesPerOperator: 20,
  maxConsolesPerAddress: 50,
});

/** An upgrade refused, and by whom once known (for the log line). */
interface Refusal {
  error: HubError;
  operator?: string;
}

/** Shown in the console's welcome; the hub's API reports the same. */

export class ConsoleGateway implements ConsoleHost {
  readonly version = HUB_VERSION;
  readonly outboxOptions: Partial<OutboxOptions>;
  readonly rate: ConsoleGatewayOptions['rate'];
  private readonly opts: ConsoleGatewayOptions;
  private readonly wss: WebSocketServer;
  private readonly conns = new Set<ConsoleConnection>();
  /** The address each console came from, for its slot. */
  private readonly addresses = new Map<ConsoleConnection, string>();
  private readonly slots: ConsoleSlots;
  private readonly unsubscribers: (() => void)[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  /** Last-seen time and RTT last sent for each device, so refreshes carry only changes. */
  private readonly sent = new Map<string, { lastSeen: number | null; rtt: number | null }>();
  private readonly coalesced: Counter;
  private closing = false;

  constructor(
    readonly ctx: HubContext,
    readonly stats: StatsFeed,
    options: Partial<ConsoleGatewayOptions> = {},
  ) {
    this.opts = { ...CONSOLE_GATEWAY_DEFAULTS, ...options } satisfies ConsoleGatewayOptions;
    this.outboxOptions = this.opts.outbox;
    this.rate = this.opts.rate;
    this.slots = new ConsoleSlots({ perOperator: this.opts.maxConsolesPerOperator, perAddress: this.opts.maxConsolesPerAddress });
    this.wss = new WebSocketServer({
      noServer: true,
      // Larger frames are malformed by SPEC.md §10.1; ws stops them before buffering (1009).
      maxPayload: CONSOLE_LIMITS.maxFrame,
      // Browsers offer permessage-deflate; compressing the fleet snapshot costs CPU for every console.
      perMessageDeflate: false,
      handleProtocols: (protocols) => (protocols.has(CONSOLE_SUBPROTOCOL) ? CONSOLE_SUBPROTOCOL : false),
    });
    answerHandshakeErrors(this.wss, ctx.log, 'console');
    const name = 'halyard_console_coalesced_total';
    // A second gateway on the same hub (tests) shares the counter instead of failing to register it.
    this.coalesced =
      (ctx.metrics.registry.getSingleMetric(name) as Counter | undefined) ??
      new Counter({ name, help: 'Updates coalesced away for slow consoles (SPEC.md §10.4)', registers: [ctx.metrics.registry] });
    this.listen();
    this.timers.push(
      setInterval(() => this.refresh(), this.opts.refreshIntervalMs),
      setInterval(() => {
        for (const c of this.conns) c.heartbeat();
      }, this.opts.pingIntervalMs),
    );
    for (const t of this.timers) t.unref();
  }

  get connections(): number {
    return this.conns.size;
  }

  /** HTTP upgrade on /v1/console: check everything before accepting (SPEC.md §10.1). */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, refreshed = false): void {
    const admitted = this.admit(req);
    if (!('caller' in admitted)) {
      const { error, operator } = admitted;
      // Cluster mode: the session may be another node's, not loaded here yet; look once, then decide.
      const found = requestToken(req.headers.authorization, req.headers.cookie);
      if (!refreshed && error.code === HubErrorCode.Unauthenticated && found !== undefined && this.ctx.sessions.refreshes) {
        void this.ctx.sessions.resolveFresh(found.token, found.via).finally(() => this.handleUpgrade(req, socket, head, true));
        return;
      }
      logRefusal(this.ctx.log, 'console', req, error, operator === undefined ? {} : { operator });
      rejectUpgrade(socket, error);
      return;
    }
    const { caller } = admitted;
    const address = requestClient(req);
    const remote = `${address}:${req.socket.remotePort}`;
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const conn = new ConsoleConnection(ws, caller, this, remote);
      this.conns.add(conn);
      this.addresses.set(conn, address);
      this.slots.take(caller.username, address);
      this.ctx.log.debug({ console: conn.id, operator: caller.username, remote }, 'console connected');
    });
  }

  /** The operator behind an upgrade request, or why it is refused. */
  private admit(req: IncomingMessage): { caller: ConsoleCaller } | Refusal {
    if (this.closing) return { error: new HubError(HubErrorCode.Unavailable, 'the hub is shutting down', { retryAfter: 5 }) };
    const origin = req.headers.origin;
    // Browsers always send Origin; without this check any site could open the socket with the operator's cookie.
    if (origin !== undefined && !sameOrigin(origin, req.headers.host, this.ctx.config.tlsCert !== undefined)) {
      return { error: new HubError(HubErrorCode.Forbidden, 'cross-site console connection refused: Origin must be this hub') };
    }
    const found = requestToken(req.headers.authorization, req.headers.cookie);
    const caller = found === undefined ? undefined : this.ctx.sessions.resolve(found.token, found.via);
    if (caller === undefined) {
      return {
        error: new HubError(HubErrorCode.Unauthenticated, 'log in first: send the session cookie or Authorization: Bearer <token>'),
      };
    }
    const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
    if (!offered.includes(CONSOLE_SUBPROTOCOL)) {
      return { error: new HubError(HubErrorCode.BadRequest, `offer the WebSocket subprotocol ${CONSOLE_SUBPROTOCOL}`) };
    }
    const tooMany = this.slots.refusal(caller.username, requestClient(req));
    if (tooMany !== undefined) {
      return { error: new HubError(HubErrorCode.RateLimited, tooMany, { retryAfter: 30 }), operator: caller.username };
    }
    if (this.conns.size >= this.opts.maxConsoles) {
      return { error: new HubError(HubErrorCode.Unavailable, 'too many consoles are connected', { retryAfter: 30 }) };
    }
    return { caller };
  }

  /** Consoles whose updates are being coalesced right now (SPEC.md §10.4). */
  get backedUp(): number {
    let n = 0;
    for (const c of this.conns) if (c.outbox.backedUp) n++;
    return n;
  }

  fleetSnapshot(): DeviceInfo[] {
    // `sent` is left alone: it tracks what the other fleet consoles were last told.
    const devices: DeviceInfo[] = [];
    for (const e of this.ctx.fleet.entries()) devices.push(this.ctx.fleet.info(e));
    return devices;
  }

  statsHistory(): readonly HubStats[] {
    return this.stats.history;
  }

  removed(conn: ConsoleConnection): void {
    if (!this.conns.delete(conn)) return;
    this.slots.release(conn.caller.username, this.addresses.get(conn) ?? 'unknown');
    this.addresses.delete(conn);
    this.coalesced.inc(conn.outbox.droppedTotal);
    this.ctx.log.debug({ console: conn.id }, 'console disconnected');
  }

  /** Closes every console with 1001 and stops accepting. */
  async close(): Promise<void> {
    this.closing = true;
    for (const t of this.timers) clearInterval(t);
    for (const u of this.unsubscribers) u();
    const closed = [...this.conns].map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.ws.readyState === c.ws.CLOSED) return resolve();
          c.ws.once('close', () => resolve());
          c.fail(CloseCode.GoingAway, 'the hub is shutting down');
        }),
    );
    await Promise.race([Promise.all(closed), new Promise((r) => setTimeout(r, 2_000).unref())]);
    for (const c of this.conns) c.ws.terminate();
    for (const client of this.wss.clients) client.terminate();
    this.wss.close();
  }

  /**
   * Hands one update to every console that wants it, encoding it only if someone
   * does. `key` names the state it replaces for coalescing (undefined: an event).
   */
  private fanout(stream: ConsoleStream, device: string, key: string | undefined, build: () => Uint8Array): void {
    let bytes: Uint8Array | undefined;
    for (const c of this.conns) {
      if (!c.subs.wants(stream, device)) continue;
      bytes ??= build();
      c.outbox.offer(stream, key, bytes);
    }
  }

  private on<K extends keyof BusEvents>(topic: K, handler: (p: BusEvents[K]) => void): void {
    this.unsubscribers.push(this.ctx.bus.subscribe(topic, handler));
  }

  private listen(): void {
    this.on('presence', (p) => {
      const id = p.presence.device;
      this.sent.set(id, { lastSeen: p.lastSeen, rtt: p.rtt });
      this.fanout('fleet', id, `presence:${id}`, () => encodeUpdate({ t: 'presence', ...p }));
    });
    this.on('device', ({ device }) => this.fanout('fleet', device.id, `device:${device.id}`, () => encodeUpdate({ t: 'device', device })));
    this.on('device.removed', ({ id }) => {
      this.sent.delete(id);
      this.fanout('fleet', id, `device:${id}`, () => encodeUpdate({ t: 'device.removed', id }));
    });
    this.on('telemetry', ({ device, records }) => {
      let points: ReturnType<typeof toPoints> | undefined;
      let bytes: Uint8Array | undefined;
      for (const c of this.conns) {
        if (!c.subs.wants('telemetry', device)) continue;
        points ??= toPoints(records);
        if (points.length === 0) return;
        bytes ??= encodeUpdate({ t: 'telemetry', device, points });
        c.outbox.offerTelemetry(device, points, bytes);
      }
    });
    this.on('event', ({ event }) => this.fanout('events', event.device, undefined, () => encodeUpdate({ t: 'event', event })));
    this.on('command', ({ command }) => {
      this.fanout('commands', command.device, `command:${command.id}`, () => encodeUpdate({ t: 'command', command }));
      // A device's pending-command count changes with its commands, but no `device` event says so.
      const e = this.ctx.fleet.get(command.device);
      if (e !== undefined)
        this.fanout('fleet', command.device, `device:${command.device}`, () =>
          encodeUpdate({ t: 'device', device: this.ctx.fleet.info(e) }),
        );
    });
    this.on('alarm', ({ alarm }) => this.fanout('alarms', alarm.device, `alarm:${alarm.id}`, () => encodeUpdate({ t: 'alarm', alarm })));
    this.on('twin', ({ twin }) => this.fanout('twins', twin.device, `twin:${twin.device}`, () => encodeUpdate({ t: 'twin', twin })));
    // A job's progress replaces the last one (coalesced per job for a slow console); `jobs` is one whole stream.
    this.on('job', ({ progress }) =>
      this.fanout('jobs', progress.id, `job:${progress.id}`, () => encodeUpdate({ t: 'job', job: progress })),
    );
    this.on('session.ended', ({ username, tokenHash, keepTokenHash }) => {
      for (const c of [...this.conns]) {
        if (c.caller.username !== username) continue;
        const hex = Buffer.from(c.caller.tokenHash).toString('hex');
        if (tokenHash !== undefined && hex !== tokenHash) continue;
        if (keepTokenHash !== undefined && hex === keepTokenHash) continue;
        c.fail(CloseCode.Unauthorized, 'your session has ended; log in again');
      }
    });
    this.unsubscribers.push(
      this.stats.onTick((stats) => {
        let bytes: Uint8Array | undefined;
        for (const c of this.conns) {
          if (!c.subs.has('stats')) continue;
          bytes ??= encodeUpdate({ t: 'stats', stats });
          c.outbox.offer('stats', 'stats', bytes);
        }
      }),
    );
  }

  /**
   * Last-seen times and RTTs change with every frame and pong but are not bus events;
   * fleet subscribers get them as `presence` re-statements of online devices, batched.
   * Also ends consoles whose session expired while they were quiet.
   */
  private refresh(): void {
    const now = Date.now();
    for (const c of [...this.conns]) c.currentRole(now);
    let fleetConsoles = 0;
    for (const c of this.conns) if (c.subs.has('fleet')) fleetConsoles++;
    if (fleetConsoles === 0) return;
    for (const e of this.ctx.fleet.entries()) {
      if (!e.session?.isOpen) continue;
      const id = e.record.id;
      const last = this.sent.get(id);
      if (last !== undefined && last.lastSeen === e.lastSeen && last.rtt === e.rtt) continue;
      this.sent.set(id, { lastSeen: e.lastSeen, rtt: e.rtt });
      const presence = { device: id, online: true, reason: 'connected' as const, code: null, at: e.connectedAt ?? now };
      this.fanout('fleet', id, `presence:${id}`, () => encodeUpdate({ t: 'presence', presence, rtt: e.rtt, lastSeen: e.lastSeen }));
    }
  }
}
