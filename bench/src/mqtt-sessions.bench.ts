// Benchmark scenario: the cost of keeping persistent MQTT sessions' queues where
// they survive their process. Messages published to N offline sessions go through
// the hub's own queue (OfflineQueues: bound, oldest dropped first) into its journal,
// in bursts of 200 per event-loop turn as the hub's commits publish them, as fast as
// the process takes them. Three journals in one run: none (memory only, the
// baseline), a SQLite file (a single hub, and what each cluster node had before
// sessions were shared), PostgreSQL (a cluster now: fsync on, batched every 50 ms).
// Reported: messages queued per second (publications x sessions), and CPU per
// million queued messages of this process and of the PostgreSQL server. The
// broker's fan-out in front of the queue is the same for all three and not in it.

import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPostgresPool, migratePostgres, OfflineQueues, PgSessionDb, SessionDb } from '@halyard/hub';
import { startPostgres, type TestPostgres } from '@halyard/hub/test/postgres';
import { type BenchRow, parseBenchArgs, report, size } from '../../scripts/bench-lib.js';
import { procUsage } from './lib.js';

const args = parseBenchArgs();
/** Messages queued per case (publications x sessions). */
const QUEUED = size(args, 200_000, 50_000, 2_000);
const SESSIONS = size(args, [10, 100], [10, 100], [10]);
const BURST = 200;
/** A telemetry message as the hub publishes it (SenML JSON, one record). */
const PAYLOAD = Buffer.from(JSON.stringify([{ bn: 'urn:dev:pump-0042:', bt: 1_760_000_000.123, n: 'flow', u: 'l/min', v: 12.5 }]));

type Kind = 'memory' | 'sqlite' | 'postgres';

interface Journal {
  opened(clientId: string): void;
  put(clientId: string, seq: number, p: never): void;
  delete(clientId: string, seq: number): void;
  flush(): unknown;
  close(): Promise<void>;
}

let server: TestPostgres | undefined;
try {
  server = await startPostgres({ fsync: true });
} catch (err) {
  console.log(`PostgreSQL not available (${(err as Error).message}): scenario skipped`);
  process.exit(0);
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

async function run(kind: Kind, sessions: number, bound: number): Promise<{ rate: number; cpuUsPerMsg: number; pgUsPerMsg: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'halyard-bench-sessions-'));
  const db = kind === 'postgres' && server !== undefined ? await server.newDatabase() : undefined;
  const pool = db === undefined ? undefined : createPostgresPool(db.url, { max: 3 });
  if (pool !== undefined) await migratePostgres(pool);
  const journal: Journal | undefined =
    kind === 'sqlite'
      ? (new SessionDb(dir) as unknown as Journal)
      : pool !== undefined
        ? (new PgSessionDb(pool, 'bench-node') as unknown as Journal)
        : undefined;
  if (journal instanceof PgSessionDb) await journal.load();
  const ids = Array.from({ length: sessions }, (_, i) => `bench:s${i}`);
  for (const id of ids) journal?.opened(id);
  await journal?.flush();
  const queues = new OfflineQueues({ messages: bound, bytes: 64 * 1024 * 1024 }, journal as never, () => {});
  const publications = Math.ceil(QUEUED / sessions);
  const cpu0 = process.cpuUsage();
  const pg0 = serverCpu();
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
  const pgSeconds = serverCpu() - pg0;
  await journal?.close();
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
    for (const kind of ['memory', 'sqlite', 'postgres'] as const) results[kind] = await run(kind, c.sessions, bound);
    const { memory, sqlite, postgres } = results as Record<Kind, Awaited<ReturnType<typeof run>>>;
    const extra = (r: typeof memory) => ({ cpuUsPerMsg: Number(r.cpuUsPerMsg.toFixed(2)), pgUsPerMsg: Number(r.pgUsPerMsg.toFixed(2)) });
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
        case: `${c.label}: CPU µs per queued msg, hub + PostgreSQL server`,
        value: postgres.cpuUsPerMsg + postgres.pgUsPerMsg,
        unit: 'µs',
        baseline: 'SQLite file',
        baselineValue: sqlite.cpuUsPerMsg,
      },
    );
  }
} finally {
  await server?.stop();
}
report(rows, args);
