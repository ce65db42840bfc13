// A real Redis for external tests: redis-server on a free port bound to 127.0.0.1,
// its working dir a temp dir, no RDB snapshots and no AOF, so a restart comes back
// empty, as the cluster design expects Redis to be able to (it holds hints, never
// the truth). `restart` keeps the port: clients see a dropped connection and must
// reconnect by themselves ("Redis restarted under load" tests).
//
//   const redis = await startRedis();      // ~50 ms
//   new Redis(redis.url) ... keys and channels under redis.prefix
//   await redis.restart(); await redis.kill();
//   await redis.stop();                    // the server and its temp dir are gone
//
// HALYARD_TEST_REDIS_URL=redis://host:port uses a running server instead. Redis has
// no per-test database that also isolates pub/sub (channels ignore SELECT), so code
// under test puts its keys and channels under `prefix`, unique to each handle; stop
// deletes that prefix's keys. `external` is then true and restart/kill throw.

import { mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { EngineProcess, findOnPath, holdDir, launchOnFreePort, releaseDir } from './engine-process.js';

export const REDIS_URL_ENV = 'HALYARD_TEST_REDIS_URL';

export interface TestRedis {
  /** redis://host:port */
  readonly url: string;
  /** Put keys and channels under this (`halyard-t<pid>-<n>:`): unique per handle, for servers shared between tests. */
  readonly prefix: string;
  /** True when HALYARD_TEST_REDIS_URL points at a server this helper did not start. */
  readonly external: boolean;
  /** Its working dir (undefined when external). */
  readonly dir: string | undefined;
  /** From spawn to the first PONG, in ms (0 when external). */
  readonly startMs: number;
  /** What redis-server logged (empty when external). */
  log(): string;
  /** Stops (SIGTERM) and starts again on the same port, empty. */
  restart(): Promise<void>;
  /** SIGKILL, as a crash; `restart` brings it back. */
  kill(): Promise<void>;
  /** Stops its own server and removes the dir; on a shared server, deletes the prefix's keys. */
  stop(): Promise<void>;
}

let counter = 0;

export async function startRedis(): Promise<TestRedis> {
  counter += 1;
  const prefix = `halyard-t${process.pid}-${counter}:`;
  const override = process.env[REDIS_URL_ENV];
  if (override) return externalRedis(override, prefix);
  const server = await RedisServer.start();
  return {
    url: `redis://127.0.0.1:${server.port}`,
    prefix,
    external: false,
    dir: server.dir,
    startMs: server.startMs,
    log: () => server.log(),
    restart: () => server.restart(),
    kill: () => server.kill(),
    stop: () => server.stop(),
  };
}

function externalRedis(url: string, prefix: string): TestRedis {
  const refuse = (what: string) => async () => {
    throw new Error(`cannot ${what} the Redis at ${REDIS_URL_ENV}: it is not this test's own server (check \`external\` and skip)`);
  };
  return {
    url,
    prefix,
    external: true,
    dir: undefined,
    startMs: 0,
    log: () => '',
    restart: refuse('restart'),
    kill: refuse('kill'),
    stop: async () => {
      const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
      await client.connect();
      try {
        let cursor = '0';
        do {
          const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
          cursor = next;
          if (keys.length > 0) await client.del(...keys);
        } while (cursor !== '0');
      } finally {
        client.disconnect();
      }
    },
  };
}

/** PING over a raw socket: ready means answering commands, not only accepting connections. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let reply = '';
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1_000, () => done(false));
    s.once('error', () => done(false));
    s.once('connect', () => s.write('PING\r\n'));
    s.on('data', (d) => {
      reply += d.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

class RedisServer {
  private proc: EngineProcess | undefined;
  private logs = '';
  startMs = 0;

  private constructor(
    readonly dir: string,
    private readonly bin: string,
    public port = 0,
  ) {}

  log(): string {
    return this.logs + (this.proc?.log ?? '');
  }

  static async start(): Promise<RedisServer> {
    const bin = findOnPath('redis-server');
    if (!bin) {
      throw new Error(`redis-server not found on PATH: install the Debian package redis-server (.ci/run does), or set ${REDIS_URL_ENV}`);
    }
    const dir = mkdtempSync(join(tmpdir(), 'halyard-redis-'));
    holdDir(dir);
    const s = new RedisServer(dir, bin);
    const t0 = performance.now();
    try {
      // The free port may be taken by another process before redis binds it: try another.
      await launchOnFreePort(
        (port) => {
          s.port = port;
          return s.launch();
        },
        () => s.proc?.portTaken() ?? false,
      );
    } catch (err) {
      await s.stop();
      throw err;
    }
    s.startMs = performance.now() - t0;
    return s;
  }

  private async launch(): Promise<void> {
    if (this.proc) this.logs += this.proc.endedLog();
    this.proc = EngineProcess.spawn({
      name: 'redis-server',
      command: this.bin,
      // No persistence: a restart is empty, and nothing is written at shutdown.
      args: [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        this.dir,
        '--daemonize',
        'no',
      ],
      cwd: this.dir,
    });
    const port = this.port;
    await this.proc.untilReady(() => ping(port));
  }

  async restart(): Promise<void> {
    await this.proc?.stop('SIGTERM');
    await this.launch();
  }

  async kill(): Promise<void> {
    await this.proc?.kill();
  }

  async stop(): Promise<void> {
    await this.proc?.stop('SIGTERM');
    releaseDir(this.dir);
  }
}
