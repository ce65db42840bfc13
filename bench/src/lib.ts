// Pieces the benchmark scenarios share: child processes driven by JSON lines, the
// hub started as in production (compiled JS), devices seeded straight into a fresh
// database, and CPU/RSS readings from /proc.

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { LoadOptions } from '@halyard/device-sim';
import { migrate, openDatabase, PostgresStore, sha256 } from '@halyard/hub';
import type { TestPostgres } from '@halyard/hub/test/postgres';
import pg from 'pg';

// Scenario scripts run from source (through tsx); what they measure runs compiled,
// as in production: the hub, the baseline server and the load generator.
const repo = (p: string) => fileURLToPath(new URL(`../../${p}`, import.meta.url));
export const HUB_MAIN = repo('hub/dist/src/main.js');
export const BASELINE_MAIN = repo('bench/dist/src/baseline-ws.js');
export const LOADGEN_MAIN = repo('device-sim/dist/src/load/main.js');

/** One shared secret for seeded devices: tokens are `<id>.<BENCH_SECRET>`. */
export const BENCH_SECRET = 'bench-secret-0123456789abcdef0123456789';
export const ADMIN_PASSWORD = 'bench-admin-password';

export type Json = Record<string, unknown>;

/** A child process speaking JSON lines. */
export class Child {
  readonly proc: ChildProcess;
  private readonly waiting: { pred: (m: Json) => boolean; resolve: (m: Json) => void }[] = [];
  readonly lines: Json[] = [];

  constructor(args: string[], opts: { fdLimit?: number } = {}) {
    // A raised open-file limit for processes that hold many sockets.
    const cmd = `ulimit -n ${opts.fdLimit ?? 65_536} 2>/dev/null || ulimit -n $(ulimit -Hn); exec "$0" "$@"`;
    this.proc = spawn('bash', ['-c', cmd, process.execPath, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
    const rl = createInterface({ input: this.proc.stdout as NodeJS.ReadableStream });
    rl.on('line', (line) => {
      let m: Json;
      try {
        m = JSON.parse(line) as Json;
      } catch {
        return;
      }
      this.lines.push(m);
      for (const w of [...this.waiting]) {
        if (w.pred(m)) {
          this.waiting.splice(this.waiting.indexOf(w), 1);
          w.resolve(m);
        }
      }
    });
  }

  get pid(): number {
    return this.proc.pid ?? 0;
  }

  send(msg: Json): void {
    this.proc.stdin?.write(`${JSON.stringify(msg)}\n`);
  }

  /** The next line matching `pred` (or one already seen, when `past`). */
  next(pred: (m: Json) => boolean, timeoutMs = 300_000, past = false): Promise<Json> {
    if (past) {
      const seen = this.lines.find(pred);
      if (seen) return Promise.resolve(seen);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('benchmark child did not answer in time')), timeoutMs);
      this.waiting.push({
        pred,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      });
    });
  }

  async request(msg: Json, event: string): Promise<Json> {
    const p = this.next((m) => m.event === event);
    this.send(msg);
    return p;
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const done = new Promise((r) => this.proc.once('exit', r));
    this.proc.kill(signal);
    await done;
  }
}

/** device-sim's load generator options, but for where the hub is and the tokens (a file here). */
export type LoadgenOptions = Omit<LoadOptions, 'hub' | 'tokens'>;

/**
 * Starts device-sim's load generator against ws://127.0.0.1:`port`, resolved once it
 * is ready. Defaults: 1-record frames, a window of 1, no rate yet, counting ACKs, no
 * answers to commands, no reconnects.
 */
export async function startLoadgen(port: number, tokensFile: string, options: Partial<LoadgenOptions> = {}): Promise<Child> {
  const o: LoadgenOptions = {
    records: 1,
    window: 1,
    rate: 0,
    mode: 'ack',
    responder: false,
    reconnect: false,
    rampMs: 0,
    sourceAddresses: [],
    ...options,
  };
  const gen = new Child([LOADGEN_MAIN, JSON.stringify({ hub: `ws://127.0.0.1:${port}`, tokensFile, ...o })]);
  await gen.next((m) => m.event === 'ready');
  return gen;
}

/** A fresh data dir with `count` devices (ids `bench-000000`...) and the admin; returns the tokens. */
export function seedDevices(
  count: number,
  dir = mkdtempSync(join(tmpdir(), 'halyard-bench-')),
): { dir: string; tokens: string[]; tokensFile: string } {
  const db = openDatabase(join(dir, 'halyard.db'));
  migrate(db);
  const hash = sha256(BENCH_SECRET);
  const ins = db.prepare('INSERT INTO devices (id, tags, secret_hash, created_at) VALUES (?, ?, ?, ?)');
  const tokens: string[] = [];
  db.transaction(() => {
    for (let i = 0; i < count; i++) {
      const id = `bench-${String(i).padStart(6, '0')}`;
      ins.run(id, '["bench"]', hash, Date.now());
      tokens.push(`${id}.${BENCH_SECRET}`);
    }
  })();
  db.close();
  const tokensFile = join(dir, 'tokens.json');
  writeFileSync(tokensFile, JSON.stringify(tokens));
  return { dir, tokens, tokensFile };
}

/** A fresh database on `server` with the schema and the `count` devices of seedDevices (the same ids and secret). */
export async function seedPostgres(server: TestPostgres, count: number): Promise<{ url: string; drop: () => Promise<void> }> {
  const db = await server.newDatabase();
  const store = await PostgresStore.open({
    url: db.url,
    commitIntervalMs: 5,
    maxBatchFrames: 1000,
    maxFrame: 65_536,
    retentionMs: 0,
    maintenanceIntervalMs: 0,
  });
  await store.close();
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  await client.query(
    `INSERT INTO devices (id, tags, secret_hash, created_at)
     SELECT 'bench-' || lpad(i::text, 6, '0'), '["bench"]', $1, $2 FROM generate_series(0, $3 - 1) i ORDER BY i`,
    [Buffer.from(sha256(BENCH_SECRET)), Date.now(), count],
  );
  await client.end();
  return db;
}

export interface HubHandle {
  child: Child;
  port: number;
  mqttPort: number;
  dir: string;
}

/** Extra Node flags for every hub a scenario starts, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile it. */
const HUB_NODE_FLAGS = (process.env.HALYARD_BENCH_HUB_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);

export async function startHub(dir: string, flags: string[] = [], nodeFlags: string[] = []): Promise<HubHandle> {
  const child = new Child([
    // As `npm start` runs it (README: Running in production).
    '--max-semi-space-size=32',
    ...HUB_NODE_FLAGS,
    ...nodeFlags,
    HUB_MAIN,
    '--port',
    '0',
    '--mqtt-port',
    '0',
    '--host',
    '127.0.0.1',
    '--data-dir',
    dir,
    '--admin-password',
    ADMIN_PASSWORD,
    '--log-format',
    'json',
    '--log-level',
    'info',
    '--device-rate',
    '1000000',
    ...flags,
  ]);
  const m = await child.next((l) => l.msg === 'listening', 60_000, true);
  return { child, port: m.port as number, mqttPort: m.mqttPort as number, dir };
}

/** CPU seconds (user + system) and RSS bytes of a process, from /proc. */
export function procUsage(pid: number): { cpuSeconds: number; rssBytes: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  return { cpuSeconds: ticks / 100, rssBytes: rssKb * 1024 };
}

/** The hub's event-loop lag since the previous scrape (prom-client resets it on every collect), ms. */
export async function scrapeLagMs(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const m = /^halyard_process_nodejs_eventloop_lag_max_seconds (\S+)/m.exec(text);
  return m ? Math.round(Number(m[1]) * 1000 * 10) / 10 : Number.NaN;
}

export async function login(port: number): Promise<string> {
  const r = await fetch(`http://127.0.0.1:${port}/api/v1/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }),
  });
  return ((await r.json()) as { token: string }).token;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Resolves with the first value of `check` other than undefined or false, polling every
 * 25 ms; a throw is remembered and retried; past `timeoutMs` it rejects naming `what`.
 * The same signature as hub/test/helpers/eventually.ts and device-sim/test/support/wait.ts
 * (bench reaches the hub only through its package exports, docs/architecture.md).
 */
export async function eventually<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  what: string,
  timeoutMs = 5_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v as T;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await sleep(25);
  }
}
