// This node's connections to the cluster's Redis (docs/architecture.md § Cluster):
// one for commands (leases, publishes), one for subscriptions (a subscribed
// connection can issue nothing else). ioredis reconnects by itself; this adds the
// backoff (full jitter, as the PostgreSQL probe), one state the hub reports
// (/healthz, one log line per change) and 'up' / 'down' events, so that what lives
// in Redis (leases, subscriptions) is announced again after an outage or a Redis
// restart: Redis holds hints that the nodes can rebuild, never the truth.

import { EventEmitter } from 'node:events';
import { Redis, type RedisOptions } from 'ioredis';
import { redact } from '../config.js';
import type { Logger } from '../log.js';
import { backoffDelay } from '../store/postgres/connection-state.js';

/** Whether this node reaches Redis, for /healthz and logs. */
export interface RedisState {
  up: boolean;
  /** ms since the epoch of the last change. */
  since: number;
  /** The last connection error (password removed), if any. */
  error: string | null;
}

export interface ClusterLinkOptions {
  /** `redis://[:password@]host:port[/db][?prefix=...]` (--cluster). */
  url: string;
  /** This node's id (--node-id). */
  nodeId: string;
  log: Logger;
  /** How long the first connection may take before the hub refuses to start, ms (default 10 s). */
  connectTimeoutMs?: number;
  /** Longest pause between reconnect attempts, ms (default 2 s). */
  maxBackoffMs?: number;
}

/** Keys and channels start with this unless the URL says `?prefix=`: several clusters can share one Redis. */
export const DEFAULT_PREFIX = 'halyard:';

interface LinkEvents {
  /** Both connections are ready again after being down (not emitted for the first connection). */
  up: [];
  down: [];
}

export class ClusterLink extends EventEmitter<LinkEvents> {
  /** For commands: GET/SET/EVAL, PUBLISH. Commands fail at once while Redis is unreachable (no offline queue): they are hints, recomputed after. */
  readonly cmd: Redis;
  /** For SUBSCRIBE only; ioredis subscribes again by itself after a reconnect. */
  readonly sub: Redis;
  readonly nodeId: string;
  readonly prefix: string;
  private current: RedisState;
  private readonly shownUrl: string;
  private closed = false;
  /** The first connection is made: from now on every change is logged and emitted. */
  private joined = false;

  private constructor(private readonly options: ClusterLinkOptions) {
    super();
    this.nodeId = options.nodeId;
    const url = new URL(options.url);
    this.prefix = url.searchParams.get('prefix') ?? DEFAULT_PREFIX;
    url.searchParams.delete('prefix');
    this.shownUrl = redact(options.url);
    const maxMs = options.maxBackoffMs ?? 2_000;
    const base: RedisOptions = {
      lazyConnect: true,
      connectionName: `halyard-${options.nodeId}`,
      connectTimeout: 5_000,
      // Never give up: the node stays degraded (and says so) until Redis answers again.
      retryStrategy: (times) => backoffDelay(times - 1, { initialMs: 100, maxMs }),
      maxRetriesPerRequest: 1,
    };
    this.cmd = new Redis(url.toString(), { ...base, enableOfflineQueue: false });
    this.sub = new Redis(url.toString(), { ...base, connectionName: `halyard-${options.nodeId}-sub` });
    this.current = { up: false, since: Date.now(), error: null };
    for (const conn of [this.cmd, this.sub]) {
      conn.on('ready', () => this.check());
      conn.on('close', () => this.check());
      // ioredis reports each failed attempt; the state carries the latest, logged once per change.
      conn.on('error', (err: Error) => {
        this.current = { ...this.current, error: this.scrub(err.message) };
      });
    }
  }

  /** Connects both, or throws after connectTimeoutMs naming the URL (password hidden). */
  static async connect(options: ClusterLinkOptions): Promise<ClusterLink> {
    const link = new ClusterLink(options);
    const limit = options.connectTimeoutMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        Promise.all([link.cmd.connect(), link.sub.connect()]),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${limit} ms`)), limit);
        }),
      ]);
    } catch (err) {
      await link.close();
      const why = link.current.error ?? (err instanceof Error ? err.message : String(err));
      throw new Error(`--cluster ${link.shownUrl}: cannot reach Redis (${link.scrub(why)})`);
    } finally {
      clearTimeout(timer);
    }
    link.joined = true;
    link.check();
    options.log.info({ node: link.nodeId, redis: link.shownUrl, prefix: link.prefix }, 'cluster: joined through Redis');
    return link;
  }

  get state(): RedisState {
    return { ...this.current };
  }

  get up(): boolean {
    return this.current.up;
  }

  /** A key under this cluster's prefix: key('own', 'd1') -> 'halyard:own:d1'. */
  key(...parts: string[]): string {
    return this.prefix + parts.join(':');
  }

  /** The channel only `node` subscribes to (takeover requests, deliveries for devices it holds). */
  nodeChannel(node: string): string {
    return this.key('node', node);
  }

  /** Sends what is queued (QUIT waits for earlier replies), then disconnects; at most a second. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const quit = (conn: Redis) => (conn.status === 'ready' ? conn.quit().catch(() => {}) : conn.disconnect());
    const timer = new Promise<void>((resolve) => setTimeout(resolve, 1_000).unref());
    await Promise.race([Promise.all([quit(this.cmd), quit(this.sub)]), timer]);
    this.cmd.disconnect();
    this.sub.disconnect();
  }

  private check(): void {
    if (this.closed) return;
    const up = this.cmd.status === 'ready' && this.sub.status === 'ready';
    if (up === this.current.up) return;
    this.current = { up, since: Date.now(), error: up ? null : this.current.error };
    if (!this.joined) return;
    if (up) {
      this.options.log.info({ node: this.nodeId }, 'cluster: Redis reachable again');
      this.emit('up');
    } else {
      this.options.log.warn(
        { node: this.nodeId, error: this.current.error },
        'cluster: Redis unreachable; live updates between nodes paused',
      );
      this.emit('down');
    }
  }

  private scrub(message: string): string {
    let out = message;
    try {
      const password = decodeURIComponent(new URL(this.options.url).password);
      if (password.length > 0) out = out.split(password).join('***');
    } catch {
      // Validated by config.ts; nothing to take out otherwise.
    }
    return out;
  }
}
