// A real Mosquitto (Debian's mosquitto 2.0.x) for external tests: started on a
// free port with a password file and no persistence, stopped and restarted on the
// same port; and its command-line clients, mosquitto_sub and mosquitto_pub, run as
// independent processes.

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './free-port.js';

const run = promisify(execFile);

export class Mosquitto {
  private proc: ChildProcess | undefined;
  /** Everything Mosquitto logged, for assertions and failure messages. */
  log = '';

  private constructor(
    readonly port: number,
    readonly dir: string,
  ) {}

  /** Starts Mosquitto with one account per entry of `users` (and `extra` config lines); resolves once it is listening. */
  static async start(users: Record<string, string>, extra: readonly string[] = []): Promise<Mosquitto> {
    const dir = mkdtempSync(join(tmpdir(), 'halyard-mosquitto-'));
    const passwd = join(dir, 'passwd');
    writeFileSync(passwd, '');
    for (const [user, password] of Object.entries(users)) await run('mosquitto_passwd', ['-b', passwd, user, password]);
    const m = new Mosquitto(await freePort(), dir);
    writeFileSync(
      join(dir, 'mosquitto.conf'),
      [
        `listener ${m.port} 127.0.0.1`,
        'allow_anonymous false',
        `password_file ${passwd}`,
        // Restarts come back empty: the hub must republish its retained state.
        'persistence false',
        // Started as root in CI containers; the temp dir is root's.
        'user root',
        'log_dest stderr',
        // Every packet logged helps a failing test; a benchmark passes its own log_type.
        ...(extra.some((l) => l.startsWith('log_type')) ? [] : ['log_type all']),
        ...extra,
        '',
      ].join('\n'),
    );
    await m.launch();
    return m;
  }

  private launch(): Promise<void> {
    const proc = spawn('mosquitto', ['-c', join(this.dir, 'mosquitto.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`mosquitto did not start:\n${this.log}`)), 10_000);
      const onData = (chunk: Buffer) => {
        this.log += chunk.toString();
        if (/mosquitto version [\d.]+ running/.test(this.log.slice(-4096))) {
          clearTimeout(timer);
          resolve();
        }
      };
      proc.stdout?.on('data', onData);
      proc.stderr?.on('data', onData);
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`mosquitto exited with ${code}:\n${this.log}`));
      });
      proc.once('error', reject);
    });
  }

  async stop(): Promise<void> {
    const proc = this.proc;
    this.proc = undefined;
    if (proc === undefined || proc.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGTERM');
    await exited;
  }

  /** Stops and starts again on the same port, empty (no persistence). */
  async restart(): Promise<void> {
    await this.stop();
    this.log += '\n--- restart ---\n';
    await this.launch();
  }

  async close(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface SubLine {
  retain: boolean;
  topic: string;
  payload: string;
}

/**
 * mosquitto_sub as a separate process, printing `topic payload` lines; `lines`
 * fills as they arrive, `until` waits for a condition, `stop` ends it.
 */
export class MosquittoSub {
  readonly lines: SubLine[] = [];
  stderr = '';
  exit: number | null | undefined;
  private readonly waiters = new Set<() => void>();

  private constructor(private readonly proc: ChildProcess) {
    let buf = '';
    proc.stdout?.on('data', (chunk: Buffer) => {
      buf += chunk.toString();
      let nl = buf.indexOf('\n');
      while (nl >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        // -F '%r %t %p': retain flag, topic, payload.
        const m = /^([01]) (\S+) ?(.*)$/.exec(line);
        if (m) this.lines.push({ retain: m[1] === '1', topic: m[2] as string, payload: m[3] as string });
        nl = buf.indexOf('\n');
      }
      this.notify();
    });
    proc.stderr?.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
    proc.once('exit', (code) => {
      this.exit = code;
      this.notify();
    });
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }

  /** `args`: connection options (-h, -p, -u, -P ...) and -t filters; the output format is added. */
  static start(args: string[]): MosquittoSub {
    return new MosquittoSub(spawn('mosquitto_sub', ['-F', '%r %t %p', ...args], { stdio: ['ignore', 'pipe', 'pipe'] }));
  }

  until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(w);
        reject(
          new Error(
            `timed out waiting for ${what}; mosquitto_sub got:\n  ${this.lines
              .slice(-10)
              .map((l) => `${l.topic} ${l.payload.slice(0, 100)}`)
              .join('\n  ')}\nstderr: ${this.stderr}`,
          ),
        );
      }, timeoutMs);
      const w = () => {
        if (check()) {
          clearTimeout(timer);
          this.waiters.delete(w);
          resolve();
        }
      };
      this.waiters.add(w);
    });
  }

  async next(topic: string, pred: (l: SubLine) => boolean = () => true, from = 0, timeoutMs = 10_000): Promise<SubLine> {
    let found: SubLine | undefined;
    await this.until(
      () => {
        found = this.lines.slice(from).find((l) => l.topic === topic && pred(l));
        return found !== undefined;
      },
      `${topic}`,
      timeoutMs,
    );
    return found as SubLine;
  }

  /** Resolves with the exit code (for clients expected to fail). */
  exited(timeoutMs = 10_000): Promise<number | null> {
    return this.until(() => this.exit !== undefined, 'mosquitto_sub to exit', timeoutMs).then(() => this.exit ?? null);
  }

  stop(): void {
    if (this.exit === undefined) this.proc.kill('SIGTERM');
  }
}

/** Runs mosquitto_pub; rejects with its stderr if it fails. */
export async function mosquittoPub(args: string[]): Promise<void> {
  await run('mosquitto_pub', args, { timeout: 10_000 });
}
