// Benchmark scenario: the cost of keeping persistent MQTT sessions' queues where
// they survive their process. Messages published to N offline sessions go through
// the hub's own queue (OfflineQueues: bound, oldest dropped first) into its journal,
// in bursts of 200 per event-loop turn as the hub's commits publish them, as fast as
// the process takes them. Journals in one run: none (memory only, the
// baseline), a SQLite file (a single hub, and what each cluster node had before
// sessions were shared), PostgreSQL (a cluster now: fsync on, batched every 50 ms).
// And, for the choice of shared storage, a simple Redis journal: the same changes
// as one pipelined HSET/HDEL each every 50 ms, with AOF (appendfsync everysec, which
// may lose a second on a crash of Redis), no fencing and no adoption: what the
// simplest Redis journal would cost (not one the hub has), the hub process paying
// one command per change.
// And the hub-wide bound (--mqtt-queue-total) at a quarter of what is queued, so
// that the largest queues are cut again and again, against the same queues without
// it (memory only: the cut's own cost).
// Reported: messages queued per second (publications x sessions), and CPU per
// queued message of this process and of the PostgreSQL or Redis server. The
// broker's fan-out in front of the queue is the same for all and not in it.

import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPostgresPool, ENTRY_BYTES, migratePostgres, OfflineQueues, PgSessionDb, SessionDb } from '@halyard/hub';
import { startPostgres, type TestPostgres } from '@halyard/hub/test/postgres';
import { startRedis, type TestRedis } from '@halyard/hub/test/redis';
import { Redis } from 'ioredis';
import { type BenchRow, parseBenchArgs, report, size } from '../../scripts/bench-lib.js';
import { procUsage } from './lib.js';

const args = parseBenchArgs();
/** Messages queued per case (publications x sessions). */
const QUEUED = size(args, 200_000, 50_000, 2_000);
const SESSIONS = size(args, [10, 100], [10, 100], [10]);
const BURST = 200;
/** A telemetry message as the hub publishes it (SenML JSON, one record). */
const PAYLOAD = Buffer.from(JSON.stringify([{ bn: 'urn:dev:pump-0042:', bt: 1_760_000_000.123, n: 'flow', u: 'l/min', v: 12.5 }]));

type Kind = 'memory' | 'sqlite' | 'postgres' | 'redis';

interface Journal {
  opened(clientId: string): void;
  put(clientId: string, seq: number, p: never): void;
  delete(clientId: string, seq: number): void;
  flush(): unknown;
  close(): Promise<void>;
}

let server: TestPostgres | undefined;
let redisServer: TestRedis | undefined;
try {
  server = await startPostgres({ fsync: true });
  redisServer = await startRedis();
} catch (err) {
  await server?.stop();
  console.log(`mqtt-sessions: skipped, PostgreSQL or Redis not found (${(err as Error).message})`);
  process.exit(0);
}

/** The simplest Redis journal (see the top): a hash per session, changes pipelined every 50 ms. */
class RedisJournal implements Journal {
  private pending = new Map<string, Buffer | null>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  constructor(private readonly redis: Redis) {}
  opened(clientId: string): void {
    this.redis.hset(`s:${clientId}`, 'left', '').catch(() => {});
  }
  put(clientId: string, seq: number, p: never): void {
    const q = p as { topic: string; payload: Buffer; brokerId: string; brokerCounter: number; messageId: number | undefined };
    const head = Buffer.from(JSON.stringify([q.topic, q.brokerId, q.brokerCounter, q.messageId ?? null]));
    this.pending.set(`${clientId}\u0000${seq}`, Buffer.concat([head, Buffer.from([0]), q.payload]));
    this.schedule();
  }
  delete(clientId: string, seq: number): void {
    this.pending.set(`${clientId}\u0000${seq}`, null);
    this.schedule();
  }
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    this.pending = new Map();
    this.running = this.running.then(async () => {
      if (batch.size === 0) return;
      const pipe = this.redis.pipeline();
      for (const [key, v] of batch) {
        const [clientId, seq] = key.split('\u0000') as [string, string];
        if (v === null) pipe.hdel(`m:${clientId}`, seq);
        else pipe.hset(`m:${clientId}`, seq, v);
      }
      await pipe.exec();
    });
    return this.running;
  }
  async close(): Promise<void> {
    await this.flush();
  }
  private schedule(): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush().catch(() => {});
    }, 50);
  }
}

/** CPU seconds of the Redis server (its pid from INFO). */
async function redisCpu(redis: Redis): Promise<number> {
  const pid = Number(/process_id:(\d+)/.exec(await redis.info('server'))?.[1]);
  return Number.isFinite(pid) ? procUsage(pid).cpuSeconds : 0;
}

function serverCpu(): number {
  if (server?.dir === undefined) return 0;
  const pid = Number(readFileSync(join(server.dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (Number(entry) === pid || ppid === pid) total += procUsage(Number(entry)).cpuSeconds;
    } catch {
      // gone between the listing and the read
    }
  }
  return total;
}

const turn = () => new Promise((r) => setImmediate(r));

async function run(
  kind: Kind,
  sessions: number,
  bound: number,
  totalBytes?: number,
): Promise<{ rate: number; cpuUsPerMsg: number; pgUsPerMsg: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'halyard-bench-sessions-'));
  const db = kind === 'postgres' && server !== undefined ? await server.newDatabase() : undefined;
  const pool = db === undefined ? undefined : createPostgresPool(db.url, { max: 3 });
  if (pool !== undefined) await migratePostgres(pool);
  const redis = kind === 'redis' && redisServer !== undefined ? new Redis(redisServer.url) : undefined;
  if (redis !== undefined) {
    await redis.flushall();
    await redis.config('SET', 'appendonly', 'yes');
    await redis.config('SET', 'appendfsync', 'everysec');
  }
  const journal: Journal | undefined =
    kind === 'sqlite'
      ? (new SessionDb(dir) as unknown as Journal)
      : pool !== undefined
        ? (new PgSessionDb(pool, 'bench-node') as unknown as Journal)
        : redis !== undefined
          ? new RedisJournal(redis)
          : undefined;
  if (journal instanceof PgSessionDb) await journal.load();
  const ids = Array.from({ length: sessions }, (_, i) => `bench:s${i}`);
  for (const id of ids) journal?.opened(id);
  await journal?.flush();
  const queues = new OfflineQueues({ messages: bound, bytes: 64 * 1024 * 1024, totalBytes }, journal as never, () => {});
  const publications = Math.ceil(QUEUED / sessions);
  const cpu0 = process.cpuUsage();
  const pg0 = redis === undefined ? serverCpu() : await redisCpu(redis);
  const t0 = performance.now();
  for (let i = 0; i < publications; i++) {
    const packet = {
      topic: 'halyard/devices/pump-0042/telemetry',
      payload: PAYLOAD,
      qos: 1 as const,
      brokerId: 'b',
      brokerCounter: i,
      messageId: undefined,
    };
    for (const id of ids) queues.enqueue(id, { ...packet });
    if (i % BURST === BURST - 1) await turn();
  }
  // Everything written: the rate counts the journal's last write too.
  await journal?.flush();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const pgSeconds = (redis === undefined ? serverCpu() : await redisCpu(redis)) - pg0;
  await journal?.close();
  await redis?.quit();
  await pool?.end();
  await db?.drop();
  rmSync(dir, { recursive: true, force: true });
  const queued = publications * sessions;
  return { rate: queued / seconds, cpuUsPerMsg: (cpu.user + cpu.system) / queued, pgUsPerMsg: (pgSeconds * 1e6) / queued };
}

const rows: BenchRow[] = [];
try {
  const cases: { label: string; sessions: number; full: boolean }[] = [
    ...SESSIONS.map((n) => ({ label: `${n} sessions`, sessions: n, full: false })),
    // Queues at their bound: every message in drops the oldest (a put and a delete).
    { label: `${SESSIONS[0]} sessions, queues full`, sessions: SESSIONS[0] ?? 10, full: true },
  ];
  for (const c of cases) {
    const bound = c.full ? Math.ceil(QUEUED / c.sessions / 4) : QUEUED;
    const results: Partial<Record<Kind, Awaited<ReturnType<typeof run>>>> = {};
    for (const kind of ['memory', 'sqlite', 'postgres', 'redis'] as const) results[kind] = await run(kind, c.sessions, bound);
    const { memory, sqlite, postgres, redis } = results as Record<Kind, Awaited<ReturnType<typeof run>>>;
    const extra = (r: typeof memory) => ({
      cpuUsPerMsg: Number(r.cpuUsPerMsg.toFixed(2)),
      serverUsPerMsg: Number(r.pgUsPerMsg.toFixed(2)),
    });
    rows.push(
      {
        scenario: 'mqtt-sessions',
        case: `${c.label}: SQLite file (single hub; a cluster node before)`,
        value: sqlite.rate,
        unit: 'queued msg/s',
        baseline: 'memory only',
        baselineValue: memory.rate,
        extra: extra(sqlite),
      },
      {
        scenario: 'mqtt-sessions',
        case: `${c.label}: PostgreSQL (a cluster now)`,
        value: postgres.rate,
        unit: 'queued msg/s',
        baseline: 'SQLite file',
        baselineValue: sqlite.rate,
        extra: extra(postgres),
      },
      {
        scenario: 'mqtt-sessions',
        case: `${c.label}: Redis, a simple pipelined journal (AOF everysec, no fencing)`,
        value: redis.rate,
        unit: 'queued msg/s',
        baseline: 'PostgreSQL',
        baselineValue: postgres.rate,
        extra: extra(redis),
      },
      {
        scenario: 'mqtt-sessions',
        case: `${c.label}: CPU µs per queued msg, hub + PostgreSQL server`,
        value: postgres.cpuUsPerMsg + postgres.pgUsPerMsg,
        unit: 'µs',
        baseline: 'SQLite file',
        baselineValue: sqlite.cpuUsPerMsg,
      },
    );
  }
  const many = SESSIONS[SESSIONS.length - 1] ?? 10;
  const entryBytes = 'halyard/devices/pump-0042/telemetry'.length + PAYLOAD.length + ENTRY_BYTES;
  const free = await run('memory', many, QUEUED);
  const capped = await run('memory', many, QUEUED, Math.floor((QUEUED * entryBytes) / 4));
  rows.push({
    scenario: 'mqtt-sessions',
    case: `${many} sessions over --mqtt-queue-total (a quarter of what is queued; memory only)`,
    value: capped.rate,
    unit: 'queued msg/s',
    baseline: 'no total bound',
    baselineValue: free.rate,
  });
} finally {
  await server?.stop();
  await redisServer?.stop();
}
report(rows, args);
