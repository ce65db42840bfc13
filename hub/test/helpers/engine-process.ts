// One external engine (PostgreSQL, Redis, HAProxy) as a child process of a test:
// its log kept for failure messages, readiness awaited by polling a real client
// rather than sleeping, stopped with the engine's own "shut down" signal or
// killed outright (with the processes it forked) for crash tests. Whatever a test
// leaves running is killed, and its temp dir removed, when the test process exits.

import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, readdirSync, readFileSync, rmSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { freePort } from './free-port.js';

/** Keep the end of an engine's log: enough to explain a failure, bounded for chatty engines. */
const LOG_LIMIT = 64 * 1024;

export interface EngineSpawn {
  /** For messages: "postgres", "redis-server", ... */
  name: string;
  command: string;
  args: readonly string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Run as this user (PostgreSQL refuses to run as root). */
  uid?: number;
  gid?: number;
  /** Sent when the test process exits with the engine still running; the default is SIGKILL. */
  exitSignal?: NodeJS.Signals;
}

const live = new Set<EngineProcess>();
const dirs = new Set<string>();

// A test that fails before its `after` hook must not leave engines holding ports and
// temp dirs behind. Only synchronous work is possible here.
process.once('exit', () => {
  for (const e of live) e.signalAll(e.exitSignal);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Removes `dir` when the test process exits, unless `releaseDir` removed it before. */
export function holdDir(dir: string): void {
  dirs.add(dir);
}

export function releaseDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  dirs.delete(dir);
}

export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The absolute path of `command` on PATH, or undefined. */
export function findOnPath(command: string): string | undefined {
  return (process.env.PATH ?? '')
    .split(delimiter)
    .filter((d) => d !== '')
    .map((d) => join(d, command))
    .find(isExecutable);
}

/** Direct children of `pid` (from /proc): PostgreSQL's backends, which outlive a killed postmaster for a moment. */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // "pid (comm) state ppid ...": comm may contain spaces and parentheses.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(name));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/**
 * Calls `launch` with a free port; when it fails because the engine found the port taken
 * (another process bound it first), tries another free port, three tries in all.
 */
export async function launchOnFreePort(launch: (port: number) => Promise<void>, portTaken: () => boolean): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      await launch(port);
      return;
    } catch (err) {
      if (attempt >= 3 || !portTaken()) throw err;
    }
  }
}

export class EngineProcess {
  /** The end of what the engine wrote to stdout and stderr. */
  log = '';
  readonly exitSignal: NodeJS.Signals;
  /** Resolves when the process has ended, with its exit code or signal. */
  readonly exited: Promise<string>;
  private ended = false;

  private constructor(
    readonly name: string,
    private readonly proc: ChildProcess,
    exitSignal: NodeJS.Signals | undefined,
  ) {
    this.exitSignal = exitSignal ?? 'SIGKILL';
    const onData = (chunk: Buffer) => {
      this.log += chunk.toString();
      if (this.log.length > 2 * LOG_LIMIT) this.log = this.log.slice(-LOG_LIMIT);
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    this.exited = new Promise((resolve) => {
      const done = (how: string) => {
        if (this.ended) return;
        this.ended = true;
        live.delete(this);
        resolve(how);
      };
      proc.once('exit', (code, signal) => done(signal ?? `code ${code}`));
      // spawn failures (the binary vanished, a bad uid) come as 'error' without 'exit'.
      proc.once('error', (err) => {
        this.log += `\n${this.name}: ${err.message}\n`;
        done(`error ${err.message}`);
      });
    });
    live.add(this);
  }

  static spawn(spec: EngineSpawn): EngineProcess {
    const proc = spawn(spec.command, [...spec.args], {
      cwd: spec.cwd,
      env: spec.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(spec.uid === undefined ? {} : { uid: spec.uid }),
      ...(spec.gid === undefined ? {} : { gid: spec.gid }),
    });
    return new EngineProcess(spec.name, proc, spec.exitSignal);
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  /** The engine no longer keeps the test process alive; it is still signalled when the process exits. */
  unref(): void {
    this.proc.unref();
    (this.proc.stdout as { unref?: () => void } | null)?.unref?.();
    (this.proc.stderr as { unref?: () => void } | null)?.unref?.();
  }

  get running(): boolean {
    return !this.ended;
  }

  /** The log with a line saying how this run finished, kept when the engine is launched again. */
  endedLog(): string {
    return `${this.log}\n--- ${this.running ? 'stopped' : 'ended'} ---\n`;
  }

  /** Sends `signal` (the engine's own shutdown signal) and waits for the exit; SIGKILL after `graceMs`. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 15_000): Promise<void> {
    if (this.ended) return;
    this.proc.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), graceMs);
    });
    const how = await Promise.race([this.exited, late]);
    clearTimeout(timer);
    if (how === 'late') await this.kill();
  }

  /** A crash: SIGKILL to the engine and every process it forked, at once; resolves when the engine is gone. */
  async kill(): Promise<void> {
    if (this.ended) return;
    this.signalAll('SIGKILL');
    await this.exited;
  }

  /** Signals the engine and its direct children (synchronously, so it also works in an exit handler). */
  signalAll(signal: NodeJS.Signals): void {
    const pid = this.proc.pid;
    if (this.ended || pid === undefined) return;
    const children = signal === 'SIGKILL' ? childrenOf(pid) : [];
    for (const p of [pid, ...children]) {
      try {
        process.kill(p, signal);
      } catch {
        // already gone
      }
    }
  }

  /** Whether the log shows the engine could not bind its port (another process took the free port first). */
  portTaken(): boolean {
    return /address already in use|could not (bind|create listen socket)|cannot bind socket/i.test(this.log);
  }

  /**
   * Polls `probe` every 50 ms until it returns true (`what` names the condition in errors). Rejects with the engine's log when
   * the engine exits first or `timeoutMs` passes (probe errors count as "not yet").
   */
  async untilReady(probe: () => Promise<boolean>, timeoutMs = 20_000, what = 'ready'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let lastError = '';
    for (;;) {
      if (this.ended) throw new Error(`${this.name} exited (${await this.exited}) before it was ${what}:\n${this.log}`);
      try {
        if (await probe()) return;
      } catch (err) {
        lastError = (err as Error).message;
      }
      if (Date.now() > deadline) {
        throw new Error(`${this.name} was not ${what} after ${timeoutMs} ms (last probe: ${lastError || 'no'}):\n${this.log}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
