// One console's channel (SPEC.md §10): decodes each frame strictly, re-checks the
// operator's session and role on every message (not only at connect), keeps the
// console's subscriptions, answers actions with `reply`, and sends live updates
// through an Outbox so a slow console is coalesced, never queued without bound.

import {
  CloseCode,
  type ConsoleRequest,
  type ConsoleUpdate,
  type DeviceInfo,
  decodeConsoleRequest,
  type HubStats,
  type Role,
} from '@halyard/firmware-protocol';
import type { WebSocket } from 'ws';
import { hasRole } from '../auth/roles.js';
import type { HubContext } from '../context.js';
import { HubErrorCode } from '../errors.js';
import { TokenBucket } from '../net/rate-limit.js';
import { Outbox, type OutboxOptions } from './outbox.js';
import { handleAction } from './requests.js';
import { Subscriptions } from './subscriptions.js';
import { encodeUpdate } from './updates.js';

/** Who is on the other end, fixed at upgrade; the session behind it is re-read per message. */
export interface ConsoleCaller {
  username: string;
  role: Role;
  tokenHash: Uint8Array;
}

/** What a connection needs from its gateway. */
export interface ConsoleHost {
  readonly ctx: HubContext;
  readonly version: string;
  readonly outboxOptions: Partial<OutboxOptions>;
  /** Messages per second a console may send on average, and in a burst. */
  readonly rate: { perSecond: number; burst: number };
  fleetSnapshot(): DeviceInfo[];
  statsHistory(): readonly HubStats[];
  removed(conn: ConsoleConnection): void;
}

let counter = 0;

export class ConsoleConnection {
  readonly id = `console-${(++counter).toString(36)}`;
  readonly subs = new Subscriptions();
  readonly outbox: Outbox;
  private readonly bucket: TokenBucket;
  private closed = false;
  /** A pong (or any frame) arrived since the last ping. */
  private alive = true;

  constructor(
    readonly ws: WebSocket,
    readonly caller: ConsoleCaller,
    private readonly host: ConsoleHost,
    readonly remote: string,
  ) {
    this.outbox = new Outbox(
      ws,
      () => this.fail(CloseCode.RateLimited, 'the console could not keep up for too long; reconnect'),
      host.outboxOptions,
    );
    this.bucket = new TokenBucket(host.rate.perSecond, host.rate.burst, Date.now());
    ws.on('message', (data, isBinary) => this.onMessage(data as Buffer, isBinary));
    ws.on('pong', () => {
      this.alive = true;
    });
    ws.on('close', () => this.onClose());
    ws.on('error', (err) => {
      // Frame-level violations (ws closes with 1002/1007/1009 on its own).
      host.ctx.log.info({ console: this.id, err: err.message }, 'console socket error');
    });
    const { config } = host.ctx;
    this.control({
      t: 'welcome',
      operator: { username: caller.username, role: caller.role },
      hub: { name: config.hubName, version: host.version },
      time: Date.now(),
    });
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  control(update: ConsoleUpdate): void {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return;
    this.outbox.control(encodeUpdate(update));
  }

  /** `error`, then close (SPEC.md §10.3, §10.5). */
  fail(code: number, message: string): void {
    if (this.closed) return;
    this.host.ctx.log.info({ console: this.id, operator: this.caller.username, code }, `closing console: ${message}`);
    this.control({ t: 'error', code, message });
    this.end(code, message);
  }

  /** Closes without counting it against the console (shutdown). */
  end(code: number, message: string): void {
    if (this.closed) return;
    this.closed = true;
    this.outbox.close();
    this.host.removed(this);
    // RFC 6455 limits close reasons to 123 bytes.
    this.ws.close(code, Buffer.from(message).subarray(0, 120).toString());
    setTimeout(() => this.ws.terminate(), 2_000).unref();
  }

  /** Called by the gateway's ping timer: drops a console that did not answer the last ping. */
  heartbeat(): void {
    if (this.closed) return;
    if (!this.alive) {
      this.host.ctx.log.info({ console: this.id }, 'console did not answer a ping; dropping it');
      this.closed = true;
      this.outbox.close();
      this.host.removed(this);
      this.ws.terminate();
      return;
    }
    this.alive = false;
    this.ws.ping();
  }

  /**
   * The operator's current role, or undefined after closing with 4401 when the
   * session has ended (logged out, expired, operator disabled, demoted or deleted).
   */
  currentRole(now = Date.now()): Role | undefined {
    const { lookup } = this.host.ctx.sessions;
    const s = lookup.getSession(this.caller.tokenHash);
    const o = s !== undefined && s.expiresAt >= now ? lookup.getOperator(s.username) : undefined;
    if (o === undefined || o.disabled) {
      this.fail(CloseCode.Unauthorized, 'your session has ended; log in again');
      return undefined;
    }
    return o.role;
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    if (this.closed) return;
    this.alive = true;
    if (this.bucket.take(Date.now()) > 0) {
      this.fail(CloseCode.RateLimited, `more than ${this.host.rate.perSecond} messages per second`);
      return;
    }
    if (!isBinary) {
      this.fail(CloseCode.Malformed, 'console messages are binary CBOR maps');
      return;
    }
    const r = decodeConsoleRequest(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    if (!r.ok) {
      this.fail(CloseCode.Malformed, r.error.message);
      return;
    }
    const role = this.currentRole();
    if (role === undefined) return;
    this.handle(r.request, role);
  }

  private handle(m: ConsoleRequest, role: Role): void {
    switch (m.t) {
      case 'sub':
        this.subscribe(m.stream, m.devices);
        return;
      case 'unsub':
        this.subs.delete(m.stream);
        this.outbox.discard(m.stream);
        return;
      default: {
        if (!hasRole(role, 'operator')) {
          this.control({
            t: 'reply',
            req: m.req,
            ok: false,
            error: { code: HubErrorCode.Forbidden, message: `this needs the operator role; you are ${role}` },
          });
          return;
        }
        void handleAction(this.host.ctx, this.caller.username, m).then((reply) => this.control(reply));
      }
    }
  }

  /** Subscribes and sends the stream's current state, so the console never races a separate fetch. */
  private subscribe(stream: Extract<ConsoleRequest, { t: 'sub' }>['stream'], devices: string[] | undefined): void {
    const scope = this.subs.set(stream, devices);
    const { ctx } = this.host;
    // Snapshots go through the outbox like updates: a console that subscribes again and
    // again without reading gets them coalesced, never piled up in its socket.
    if (stream === 'fleet') {
      // The snapshot supersedes every fleet update still waiting for a slow console.
      this.outbox.snapshot('fleet', () => [encodeUpdate({ t: 'fleet', devices: this.host.fleetSnapshot() })]);
    } else if (stream === 'twins' && scope !== 'all') {
      for (const id of scope) {
        if (ctx.fleet.get(id) === undefined) continue;
        // An engine answering after a later twin update went out would send an older
        // snapshot after it; SQLite answers before any other event is handled.
        ctx.twins.get(id).then(
          (twin) => {
            if (!this.closed) this.outbox.offer('twins', `twin:${id}`, encodeUpdate({ t: 'twin', twin }));
          },
          (err: unknown) => ctx.log.error({ err, device: id }, 'could not read the twin for a console'),
        );
      }
    } else if (stream === 'stats') {
      // The last minutes first, so the hub page's charts start full.
      this.outbox.snapshot('stats', () => this.host.statsHistory().map((stats) => encodeUpdate({ t: 'stats', stats })));
    }
  }

  private onClose(): void {
    if (!this.closed) {
      this.closed = true;
      this.outbox.close();
      this.host.removed(this);
    }
  }
}
