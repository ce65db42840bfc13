// Leader election through PostgreSQL (README.md, Running a cluster): the leader is the
// node whose dedicated connection holds a session advisory lock. PostgreSQL releases
// session locks when the backend ends, so a leader that dies (process killed, host
// gone, connection cut) frees the lock without anyone's help, and another node's next
// attempt takes it. No home-made consensus: the database decides.
//
// Bounds (defaults): another node takes over at most `retryMs` (2 s) after the lock is
// released, plus one connection set-up. A process that dies closes its socket and the
// lock goes at once; a host that vanishes without closing is noticed by the server's
// TCP keepalives (set per session below: 5 s idle, then 3 probes 2 s apart, so about
// 11 s). A leader that cannot reach PostgreSQL steps down after at most `retryMs` plus
// `checkTimeoutMs` (one failed check), before the server lets another node in.

import pg from 'pg';
import { LeaderState, type Leadership } from './leadership.js';

/** The advisory lock's key pair ('hlyd' 'lead'); other hub locks use 'hlyd' with other second halves. */
export const LEADER_LOCK: readonly [number, number] = [0x686c7964, 0x6c656164];

export interface PgLeadershipOptions {
  /** PostgreSQL URL (the --store one). */
  url: string;
  /** This node's name, shown to other nodes and in pg_stat_activity as `halyard-leader:<nodeId>`. */
  nodeId: string;
  /** ms between attempts to take the lock, and between checks that the held connection is alive (default 2 s). */
  retryMs?: number;
  /** ms a connection attempt or a check may take before it counts as lost (default 2 s). */
  checkTimeoutMs?: number;
  /** Connection trouble and listener errors, one line per change of state (never the password). */
  log?: (level: 'info' | 'warn' | 'error', msg: string, err?: unknown) => void;
}

export const PG_LEADERSHIP_DEFAULTS = { retryMs: 2_000, checkTimeoutMs: 2_000 } as const;

export class PgLeadership implements Leadership {
  private readonly state: LeaderState;
  private readonly options: Required<Omit<PgLeadershipOptions, 'log'>> & Pick<PgLeadershipOptions, 'log'>;
  private client: pg.Client | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private busy: Promise<void> = Promise.resolve();
  /** The last problem logged, so an outage is one line, not one per attempt. */
  private lastProblem: string | undefined;

  constructor(options: PgLeadershipOptions) {
    this.options = { ...PG_LEADERSHIP_DEFAULTS, ...options };
    this.state = new LeaderState((err) => this.log('error', 'a leadership listener threw', err));
  }

  /** Starts trying at once; resolves after the first attempt (leader or not). */
  static async start(options: PgLeadershipOptions): Promise<PgLeadership> {
    const l = new PgLeadership(options);
    await l.tick();
    return l;
  }

  get isLeader(): boolean {
    return this.state.isLeader;
  }

  onChange(listener: (leader: boolean) => void): () => void {
    return this.state.onChange(listener);
  }

  /** The node holding the leadership now, as PostgreSQL sees it (undefined: none, or unreachable). */
  async leader(): Promise<string | undefined> {
    const client = this.client;
    if (client === undefined) return undefined;
    try {
      const r = await client.query<{ name: string }>(
        `SELECT a.application_name AS name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
          WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1 AND l.objid = $2 AND l.objsubid = 2
            AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
        [...LEADER_LOCK].map((k) => k >>> 0),
      );
      const name = r.rows[0]?.name;
      return name?.startsWith('halyard-leader:') ? name.slice('halyard-leader:'.length) : undefined;
    } catch {
      return undefined;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.busy;
    // Ending the session releases the lock: no explicit unlock needed.
    await this.drop();
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => void this.tick(), this.options.retryMs);
    this.timer.unref();
  }

  private tick(): Promise<void> {
    this.busy = this.attempt().finally(() => this.schedule());
    return this.busy;
  }

  /** Takes the lock if free; while held, checks the connection still answers. */
  private async attempt(): Promise<void> {
    if (this.closed) return;
    try {
      const client = this.client ?? (await this.connect());
      if (this.state.isLeader) {
        await client.query('SELECT 1');
      } else {
        const r = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [...LEADER_LOCK]);
        if (r.rows[0]?.ok === true) {
          this.log('info', `took the leadership (lock ${LEADER_LOCK.join('/')})`);
          this.state.set(true);
        }
      }
      if (this.lastProblem !== undefined) this.log('info', 'PostgreSQL answers again (leadership)');
      this.lastProblem = undefined;
    } catch (err) {
      const problem = err instanceof Error ? err.message : String(err);
      if (problem !== this.lastProblem) this.log('warn', `leadership: PostgreSQL unreachable: ${problem}`, err);
      this.lastProblem = problem;
      await this.lost();
    }
  }

  private async connect(): Promise<pg.Client> {
    const { url, nodeId, checkTimeoutMs } = this.options;
    const client = new pg.Client({
      connectionString: url,
      connectionTimeoutMillis: checkTimeoutMs,
      query_timeout: checkTimeoutMs,
      keepAlive: true,
      keepAliveInitialDelayMillis: 5_000,
      application_name: `halyard-leader:${nodeId}`.slice(0, 63),
    });
    // The server going away rejects the next query too; the event alone must not crash the hub.
    client.on('error', (err) => void this.lostWith(client, err));
    client.on('end', () => void this.lostWith(client, new Error('connection ended')));
    this.client = client;
    try {
      await client.connect();
      // The server's own keepalives on this session: a vanished host frees the lock in about 11 s.
      await client.query('SET tcp_keepalives_idle = 5; SET tcp_keepalives_interval = 2; SET tcp_keepalives_count = 3');
    } catch (err) {
      await this.drop();
      throw err;
    }
    return client;
  }

  /** The connection died under us (not during an attempt): step down at once, retry on schedule. */
  private async lostWith(client: pg.Client, err: Error): Promise<void> {
    if (client !== this.client) return;
    const problem = err.message;
    if (problem !== this.lastProblem && !this.closed) this.log('warn', `leadership: connection lost: ${problem}`, err);
    this.lastProblem = problem;
    await this.lost();
  }

  private async lost(): Promise<void> {
    if (this.state.isLeader) this.log('warn', 'stepped down: the connection holding the leader lock is gone');
    await this.drop();
  }

  private async drop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    // Stepping down first: nothing may act as leader once the lock may be another node's.
    this.state.set(false);
    if (client === undefined) return;
    client.removeAllListeners('end');
    await Promise.race([client.end().catch(() => {}), new Promise((r) => setTimeout(r, 1_000).unref())]);
  }

  private log(level: 'info' | 'warn' | 'error', msg: string, err?: unknown): void {
    this.options.log?.(level, msg, err);
  }
}
