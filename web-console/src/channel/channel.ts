// The console channel client (SPEC.md §10): one WebSocket to the hub that reconnects
// on its own with full-jitter backoff capped at a few seconds (CONSOLE_BACKOFF),
// re-sends every subscription after each welcome, matches replies to requests by
// `req`, and reports its state for the connection dot. Close 4401 ends it for good
// (the session is over: show the login).

import {
  type BackoffOptions,
  backoffDelay,
  type ConsoleRequest,
  type ConsoleStream,
  type ConsoleUpdate,
  MAX_CONSOLE_DEVICES,
} from '@halyard/firmware-protocol';
import { decodeUpdate, encodeRequest } from './codec.ts';
import type { Connect, SocketLike } from './socket.ts';

export type ChannelState =
  | { kind: 'connecting'; attempt: number; downSince: number | undefined; reason: string | undefined }
  | { kind: 'live'; since: number; generation: number }
  | { kind: 'waiting'; attempt: number; retryAt: number; downSince: number; reason: string }
  | { kind: 'ended'; reason: string };

export type UpdateOf<T extends ConsoleUpdate['t']> = Extract<ConsoleUpdate, { t: T }>;
export type Welcome = UpdateOf<'welcome'>;
type ActionRequest = Extract<ConsoleRequest, { req: number }>;
/** An action as callers write it; the channel adds `req`. */
export type Action = { [K in ActionRequest['t']]: Omit<Extract<ActionRequest, { t: K }>, 'req'> }[ActionRequest['t']];
type Reply = UpdateOf<'reply'>;
/** A reply, or the channel's own failure in the same shape (codes CONSOLE_*), so callers handle one thing. */
export type ActionResult =
  | Omit<Extract<Reply, { ok: true }>, 't' | 'req'>
  | { ok: false; error: { code: string; message: string; field?: string } };

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface ChannelOptions {
  url: string;
  connect: Connect;
  backoff?: BackoffOptions;
  random?: () => number;
  timers?: Timers;
  now?: () => number;
  /** How long a request waits for its reply, ms. */
  requestTimeoutMs?: number;
  /**
   * Asked when a connection fails before opening (the browser hides the HTTP status of
   * a refused upgrade): false means the session is gone, so the channel ends.
   */
  sessionValid?: () => Promise<boolean>;
}

/** Close codes in words (SPEC.md §10.5), for the connection dot. */
export function closeReason(code: number, hubMessage?: string): string {
  if (hubMessage) return hubMessage;
  switch (code) {
    case 1000:
      return 'the connection was closed';
    case 1001:
      return 'the hub is restarting';
    case 1006:
      return 'the hub cannot be reached';
    case 1011:
      return 'the hub had an internal error';
    case 4400:
      return 'the hub refused a malformed message';
    case 4401:
      return 'your session has ended; log in again';
    case 4429:
      return 'the console fell behind or sent too much';
    default:
      return `the connection closed (code ${code})`;
  }
}

/**
 * The console's reconnect backoff: full jitter like the protocol's, but capped at 4 s.
 * A person is watching: after a hub restart the console should be live within seconds,
 * and a few consoles retrying every few seconds cost the hub nothing.
 */
export const CONSOLE_BACKOFF: Readonly<BackoffOptions> = Object.freeze({ baseMs: 500, capMs: 4_000 });

const defaultTimers: Timers = {
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (h) => globalThis.clearTimeout(h as ReturnType<typeof globalThis.setTimeout>),
};

/** Streams whose device list is a set of names (telemetry, twins); others may be "all". */
const NAMED_ONLY: ReadonlySet<ConsoleStream> = new Set(['telemetry', 'twins']);

export class ConsoleChannel {
  private socket: SocketLike | undefined;
  private st: ChannelState = { kind: 'connecting', attempt: 0, downSince: undefined, reason: undefined };
  private welcome: Welcome | undefined;
  private retryTimer: unknown;
  private attempt = 0;
  private generation = 0;
  private downSince: number | undefined;
  private lastError: string | undefined;
  private nextReq = 1;
  private nextWant = 1;
  private readonly pending = new Map<number, { resolve: (r: ActionResult) => void; timer: unknown }>();
  /** Every consumer's wish per stream; merged into the one `sub` the hub sees. */
  private readonly wants = new Map<ConsoleStream, Map<number, readonly string[] | undefined>>();
  /** What the hub was last told per stream (a key of the merged wish), to send only changes. */
  private readonly told = new Map<ConsoleStream, string>();
  private readonly listeners = new Map<string, Set<(u: ConsoleUpdate) => void>>();
  private readonly stateListeners = new Set<(s: ChannelState) => void>();
  private readonly opts: Required<Omit<ChannelOptions, 'sessionValid'>> & Pick<ChannelOptions, 'sessionValid'>;
  private stopped = false;

  constructor(options: ChannelOptions) {
    this.opts = {
      backoff: CONSOLE_BACKOFF,
      random: Math.random,
      timers: defaultTimers,
      now: Date.now,
      requestTimeoutMs: 30_000,
      ...options,
    };
  }

  get state(): ChannelState {
    return this.st;
  }

  /** The hub's welcome on the current (or last) connection. */
  get hello(): Welcome | undefined {
    return this.welcome;
  }

  start(): void {
    this.stopped = false;
    this.open();
  }

  /** Closes for good (logout); no reconnect. */
  stop(): void {
    this.stopped = true;
    this.opts.timers.clearTimeout(this.retryTimer);
    const s = this.socket;
    this.socket = undefined;
    s?.close(1000, 'logged out');
    this.failPending('CONSOLE_CLOSED', 'the console was closed');
  }

  /** Skips the rest of the backoff wait (the page became visible, the browser went online, a click). */
  retryNow(): void {
    if (this.st.kind !== 'waiting') return;
    this.opts.timers.clearTimeout(this.retryTimer);
    this.open();
  }

  onState(fn: (s: ChannelState) => void): () => void {
    this.stateListeners.add(fn);
    return () => this.stateListeners.delete(fn);
  }

  on<T extends ConsoleUpdate['t']>(t: T, fn: (u: UpdateOf<T>) => void): () => void {
    let set = this.listeners.get(t);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(t, set);
    }
    const f = fn as (u: ConsoleUpdate) => void;
    set.add(f);
    return () => set.delete(f);
  }

  /**
   * Asks for a stream (for `devices` only, where the stream allows). Several consumers
   * may want the same stream: the hub gets the union. Returns the way to let go.
   */
  subscribe(stream: ConsoleStream, devices?: readonly string[]): () => void {
    const id = this.nextWant++;
    let m = this.wants.get(stream);
    if (m === undefined) {
      m = new Map();
      this.wants.set(stream, m);
    }
    m.set(id, devices);
    this.sync(stream);
    return () => {
      const mm = this.wants.get(stream);
      if (mm?.delete(id) && mm.size === 0) this.wants.delete(stream);
      this.sync(stream);
    };
  }

  /** Sends an action and resolves with its reply; never rejects. */
  request(action: Action): Promise<ActionResult> {
    if (this.st.kind !== 'live' || this.socket === undefined) {
      return Promise.resolve({
        ok: false,
        error: { code: 'CONSOLE_OFFLINE', message: 'not connected to the hub; wait for the dot to turn green and try again' },
      });
    }
    const req = this.nextReq++;
    const socket = this.socket;
    return new Promise((resolve) => {
      const timer = this.opts.timers.setTimeout(() => {
        this.pending.delete(req);
        resolve({ ok: false, error: { code: 'CONSOLE_TIMEOUT', message: 'the hub did not answer in time; check before retrying' } });
      }, this.opts.requestTimeoutMs);
      this.pending.set(req, { resolve, timer });
      socket.send(encodeRequest({ ...action, req } as ActionRequest));
    });
  }

  private setState(s: ChannelState): void {
    this.st = s;
    for (const fn of this.stateListeners) fn(s);
  }

  private open(): void {
    if (this.stopped) return;
    this.lastError = undefined;
    this.setState({
      kind: 'connecting',
      attempt: this.attempt,
      downSince: this.downSince,
      reason: this.st.kind === 'waiting' ? this.st.reason : undefined,
    });
    let opened = false;
    const socket = this.opts.connect(this.opts.url, {
      open: () => {
        opened = true;
      },
      message: (bytes) => {
        if (this.socket === socket) this.onBytes(bytes);
      },
      close: (code, reason) => {
        if (this.socket !== socket) return;
        this.socket = undefined;
        this.onClose(code, this.lastError ?? reason, opened);
      },
    });
    this.socket = socket;
  }

  private onBytes(bytes: Uint8Array): void {
    const u = decodeUpdate(bytes);
    if (u?.t === 'fleet') globalThis.performance?.mark?.('halyard:fleet-decoded', { detail: bytes.length });
    if (u === undefined) return;
    if (u.t === 'welcome') this.onWelcome(u);
    else if (u.t === 'reply') {
      const p = this.pending.get(u.req);
      if (p !== undefined) {
        this.pending.delete(u.req);
        this.opts.timers.clearTimeout(p.timer);
        const { t: _t, req: _req, ...result } = u;
        p.resolve(result);
      }
    } else if (u.t === 'error') this.lastError = u.message;
    const set = this.listeners.get(u.t);
    if (set !== undefined) for (const fn of set) fn(u);
  }

  private onWelcome(w: Welcome): void {
    // Marks for the browser's performance timeline (and the scale test): how long the first paint takes.
    globalThis.performance?.mark?.('halyard:welcome');
    this.welcome = w;
    this.attempt = 0;
    this.downSince = undefined;
    this.generation++;
    this.told.clear();
    // Listeners learn the state first, so a consumer that refetches on reconnect sees the new generation.
    this.setState({ kind: 'live', since: this.opts.now(), generation: this.generation });
    for (const stream of this.wants.keys()) this.sync(stream);
  }

  private onClose(code: number, reason: string, opened: boolean): void {
    this.failPending('CONSOLE_DROPPED', 'the connection dropped before the hub answered; check the outcome before retrying');
    if (this.stopped) return;
    const words = closeReason(code, reason || undefined);
    if (code === 4401) {
      this.setState({ kind: 'ended', reason: words });
      return;
    }
    this.downSince ??= this.opts.now();
    const schedule = () => {
      const delay = backoffDelay(this.attempt, this.opts.backoff, this.opts.random);
      this.attempt++;
      this.setState({
        kind: 'waiting',
        attempt: this.attempt,
        retryAt: this.opts.now() + delay,
        downSince: this.downSince as number,
        reason: words,
      });
      this.retryTimer = this.opts.timers.setTimeout(() => this.open(), delay);
    };
    if (opened || this.opts.sessionValid === undefined) {
      schedule();
      return;
    }
    // A connection that never opened may have been refused for want of a session.
    this.opts.sessionValid().then(
      (valid) => {
        if (this.stopped) return;
        if (valid) schedule();
        else this.setState({ kind: 'ended', reason: closeReason(4401) });
      },
      () => schedule(),
    );
  }

  private failPending(code: string, message: string): void {
    for (const [req, p] of this.pending) {
      this.opts.timers.clearTimeout(p.timer);
      this.pending.delete(req);
      p.resolve({ ok: false, error: { code, message } });
    }
  }

  /** The union of every consumer's wish for a stream; undefined when nobody wants it. */
  private merged(stream: ConsoleStream): { devices: string[] | undefined } | undefined {
    const m = this.wants.get(stream);
    if (m === undefined || m.size === 0) return undefined;
    const all = [...m.values()];
    if (!NAMED_ONLY.has(stream) && all.some((d) => d === undefined)) return { devices: undefined };
    const union = new Set<string>();
    for (const d of all) for (const id of d ?? []) union.add(id);
    // The hub takes at most 50 names; the newest consumers' come last, so keep the tail.
    return { devices: [...union].slice(-MAX_CONSOLE_DEVICES) };
  }

  private sync(stream: ConsoleStream): void {
    if (this.st.kind !== 'live' || this.socket === undefined) return;
    const want = this.merged(stream);
    const key = want === undefined ? 'none' : JSON.stringify(want.devices ?? 'all');
    if ((this.told.get(stream) ?? 'none') === key) return;
    this.told.set(stream, key);
    if (want === undefined) this.socket.send(encodeRequest({ t: 'unsub', stream }));
    else if (want.devices === undefined) this.socket.send(encodeRequest({ t: 'sub', stream }));
    else this.socket.send(encodeRequest({ t: 'sub', stream, devices: want.devices }));
  }
}
