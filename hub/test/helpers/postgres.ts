// A real PostgreSQL for external tests: its own cluster (initdb) in a temp dir, on a
// free port bound to 127.0.0.1, the socket in that dir, trust auth for the
// `postgres` superuser. Every handle hands out fresh, uniquely named databases, so
// tests that share a server (HALYARD_TEST_PG_URL, or one server per test file) never
// see each other's tables.
//
//   const pg = await startPostgres();          // ~1.5-2 s: start once per file (before)
//   const db = await pg.newDatabase();         // ~0.1 s: one per test, db.drop() after
//   await pg.restart(); await pg.kill();       // fault tests (own server only)
//   await pg.stop();                           // the server and its temp dir are gone
//
// HALYARD_TEST_PG_URL=postgres://user:pass@host:port/db uses a running server instead
// (the user needs CREATEDB); then `external` is true and restart/kill throw, so fault
// tests check `external` and skip. A test process that dies before `stop` leaves its
// databases there, named halyard_t<pid>_…

import { execFile } from 'node:child_process';
import { chownSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { EngineProcess, findOnPath, holdDir, isExecutable, launchOnFreePort, releaseDir } from './engine-process.js';

const run = promisify(execFile);

export const PG_URL_ENV = 'HALYARD_TEST_PG_URL';

export interface PostgresOptions {
  /**
   * fsync on (the default) tests durability against what production runs; off saves
   * a few ms per commit for tests that never crash the server.
   */
  fsync?: boolean;
  /** More server settings, passed as `-c name=value`. */
  settings?: Record<string, string | number>;
  /**
   * The server does not keep the test process alive (no `stop` needed): for a server
   * shared by every test of a process (test-store.ts); it goes when the process exits.
   */
  background?: boolean;
}

export interface TestDatabase {
  readonly name: string;
  /** postgres://… of this database alone. */
  readonly url: string;
  /** Drops it, closing connections left open. */
  drop(): Promise<void>;
}

export interface TestPostgres {
  /** A fresh database of this handle's own (created at start, dropped at stop). */
  readonly url: string;
  /** The server's maintenance database, for CREATE DATABASE and other admin work. */
  readonly adminUrl: string;
  /** True when HALYARD_TEST_PG_URL points at a server this helper did not start. */
  readonly external: boolean;
  /** The temp dir holding the data directory and the socket (undefined when external). */
  readonly dir: string | undefined;
  /** initdb and start-up to the first answered query, in ms (0 when external). */
  readonly startMs: number;
  /** What the server logged (empty when external). */
  log(): string;
  /** Another fresh database on the same server. */
  newDatabase(): Promise<TestDatabase>;
  /** Fast shutdown (clients are disconnected) and start again on the same port, same data. */
  restart(): Promise<void>;
  /** SIGKILL to the postmaster and its backends at once, as a crash; `restart` brings it back through crash recovery. */
  kill(): Promise<void>;
  /** Drops the databases it created; stops its own server and removes the temp dir. */
  stop(): Promise<void>;
}

/** Starts a server of its own (or uses HALYARD_TEST_PG_URL) and creates a fresh database on it. */
export async function startPostgres(options: PostgresOptions = {}): Promise<TestPostgres> {
  const override = process.env[PG_URL_ENV];
  const server = override ? undefined : await PostgresServer.start(options);
  const adminUrl = override ?? (server as PostgresServer).adminUrl;
  const databases = new Set<TestDatabase>();
  const newDatabase = async (): Promise<TestDatabase> => {
    const db = await createDatabase(adminUrl);
    databases.add(db);
    return {
      name: db.name,
      url: db.url,
      drop: async () => {
        databases.delete(db);
        await db.drop();
      },
    };
  };
  let first: TestDatabase;
  try {
    first = await newDatabase();
  } catch (err) {
    await server?.stop();
    throw err;
  }
  const needsOwn = (what: string) =>
    new Error(`cannot ${what} the PostgreSQL at ${PG_URL_ENV}: it is not this test's own server (check \`external\` and skip)`);
  return {
    url: first.url,
    adminUrl,
    external: server === undefined,
    dir: server?.dir,
    startMs: server?.startMs ?? 0,
    log: () => server?.log() ?? '',
    newDatabase,
    restart: async () => {
      if (!server) throw needsOwn('restart');
      await server.restart();
    },
    kill: async () => {
      if (!server) throw needsOwn('kill');
      await server.kill();
    },
    stop: async () => {
      if (server) {
        // The databases go with the cluster; no need to drop them one by one.
        databases.clear();
        await server.stop();
        return;
      }
      for (const db of [...databases]) await db.drop();
      databases.clear();
    },
  };
}

let counter = 0;

/** A database name unique across test processes sharing one server. */
function uniqueName(): string {
  counter += 1;
  return `halyard_t${process.pid}_${Date.now().toString(36)}_${counter}`;
}

async function adminQuery(adminUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 10_000 });
  // A server going away mid-query rejects the query; the 'error' event must not also crash the test.
  client.on('error', () => {});
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

async function createDatabase(adminUrl: string): Promise<TestDatabase> {
  const name = uniqueName();
  await adminQuery(adminUrl, `CREATE DATABASE "${name}"`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    name,
    url: url.toString(),
    drop: async () => {
      if (dropped) return;
      dropped = true;
      // FORCE: a test that forgot to end its pool must not make the drop (and the next test) hang.
      await adminQuery(adminUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
}

/** Where initdb and postgres are: Debian keeps them off PATH, in /usr/lib/postgresql/<version>/bin. */
async function binDir(): Promise<string> {
  try {
    const versions = readdirSync('/usr/lib/postgresql')
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    for (const v of versions) {
      const dir = `/usr/lib/postgresql/${v}/bin`;
      if (findIn(dir, 'postgres') && findIn(dir, 'initdb')) return dir;
    }
  } catch {
    // not Debian's layout
  }
  const onPath = findOnPath('postgres');
  if (onPath && findIn(dirname(onPath), 'initdb')) return dirname(onPath);
  if (findOnPath('pg_config')) {
    const { stdout } = await run('pg_config', ['--bindir']);
    const dir = stdout.trim();
    if (findIn(dir, 'postgres') && findIn(dir, 'initdb')) return dir;
  }
  throw new Error(
    `PostgreSQL not found (looked in /usr/lib/postgresql/*/bin, PATH and pg_config --bindir): ` +
      `install the Debian package postgresql (.ci/run does), or set ${PG_URL_ENV} to a running server`,
  );
}

function findIn(dir: string, command: string): boolean {
  return isExecutable(join(dir, command));
}

/** The uid and gid PostgreSQL runs as: ourselves, or the `postgres` user when we are root (postgres refuses root). */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (uid === undefined || gid === undefined) {
    throw new Error(
      `PostgreSQL refuses to run as root and there is no postgres user: install the Debian package postgresql ` +
        `(it creates the user), run the tests as another user, or set ${PG_URL_ENV}`,
    );
  }
  return { uid: Number(uid), gid: Number(gid) };
}

/** A cluster of our own: initdb once, then the postmaster, which restart and kill act on. */
class PostgresServer {
  private proc: EngineProcess | undefined;
  private logs = '';
  startMs = 0;

  private constructor(
    readonly dir: string,
    private readonly bin: string,
    private readonly user: { uid: number; gid: number } | undefined,
    private readonly options: PostgresOptions,
    private port = 0,
  ) {}

  get adminUrl(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  log(): string {
    return this.logs + (this.proc?.log ?? '');
  }

  static async start(options: PostgresOptions): Promise<PostgresServer> {
    const t0 = performance.now();
    const bin = await binDir();
    const user = runAs();
    const dir = mkdtempSync(join(tmpdir(), 'halyard-pg-'));
    holdDir(dir);
    if (user) chownSync(dir, user.uid, user.gid);
    const s = new PostgresServer(dir, bin, user, options);
    try {
      // --no-sync: only initdb's own final flush; the server below runs with fsync as asked.
      await run(
        join(bin, 'initdb'),
        ['-D', s.dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions'],
        { cwd: dir, ...(user ?? {}), env: { PATH: process.env.PATH ?? '', LANG: 'C' } },
      ).catch((err: Error & { stderr?: string }) => {
        throw new Error(`initdb failed: ${err.message}\n${err.stderr ?? ''}`);
      });
      // The free port may be taken by another process before postgres binds it: try another.
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

  private get dataDir(): string {
    return join(this.dir, 'data');
  }

  private async launch(): Promise<void> {
    if (this.proc) this.logs += this.proc.endedLog();
    const settings: Record<string, string | number> = {
      listen_addresses: '127.0.0.1',
      unix_socket_directories: this.dir,
      fsync: this.options.fsync === false ? 'off' : 'on',
      // Several hubs of a cluster test, each with a pool, plus the test's own clients.
      max_connections: 200,
      ...this.options.settings,
    };
    this.proc = EngineProcess.spawn({
      name: 'postgres',
      command: join(this.bin, 'postgres'),
      args: ['-D', this.dataDir, '-p', String(this.port), ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])],
      cwd: this.dir,
      env: { PATH: process.env.PATH ?? '', LANG: 'C' },
      ...(this.user ?? {}),
      // Immediate shutdown: the postmaster takes its backends down with it.
      exitSignal: 'SIGQUIT',
    });
    if (this.options.background) this.proc.unref();
    const admin = this.adminUrl;
    await this.proc.untilReady(async () => {
      // A real query, not only an open port: "the database system is starting up" is not ready.
      const client = new pg.Client({ connectionString: admin, connectionTimeoutMillis: 2_000 });
      // A refused connection rejects connect(); the client must not also emit an unhandled 'error'.
      client.on('error', () => {});
      try {
        await client.connect();
        await client.query('select 1');
        return true;
      } finally {
        await client.end().catch(() => {});
      }
    });
  }

  async restart(): Promise<void> {
    // SIGINT is PostgreSQL's fast shutdown: it disconnects clients instead of waiting for them (SIGTERM would).
    await this.proc?.stop('SIGINT');
    await this.launch();
  }

  async kill(): Promise<void> {
    await this.proc?.kill();
  }

  async stop(): Promise<void> {
    await this.proc?.stop('SIGINT');
    releaseDir(this.dir);
  }
}
