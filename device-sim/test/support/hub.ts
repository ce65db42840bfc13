// Starts the real hub (hub/dist/src/main.js) as a child process on free ports with a
// temporary data directory, for the simulator's integration tests, and gives them an
// operator-authenticated API client. Never imports the hub: it is a process to us.

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ApiClient, type ApiResponse } from '../../src/provision/api-client.js';

const ROOT = new URL('../../../', import.meta.url).pathname;
const HUB_MAIN = join(ROOT, 'hub/dist/src/main.js');
export const ADMIN_PASSWORD = 'sim-test-password-1';

export interface HubProcess {
  /** ws://127.0.0.1:<port> */
  url: string;
  port: number;
  dataDir: string;
  api: ApiClient;
  /** JSON log lines seen so far. */
  logs: Record<string, unknown>[];
  /** Stops the process (SIGTERM, then SIGKILL after 5 s); keeps the data dir. */
  stop(): Promise<void>;
  /** Stops it and removes the data directory. */
  dispose(): Promise<void>;
}

async function launch(
  dataDir: string,
  port: number,
  extra: readonly string[],
): Promise<{ child: ChildProcess; port: number; logs: Record<string, unknown>[] }> {
  if (!existsSync(HUB_MAIN)) throw new Error(`${HUB_MAIN} is missing: build first (npx tsc -b)`);
  const args = [HUB_MAIN, '--port', String(port), '--host', '127.0.0.1', '--mqtt-port', '0', '--data-dir', dataDir];
  args.push('--admin-password', ADMIN_PASSWORD, '--log-format', 'json', '--log-level', 'info', ...extra);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_ENV: 'test' } });
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const bound = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`hub did not log "listening" within 20 s\n${stderr}`)), 20_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`hub exited with ${code} before listening\n${stderr}`));
    });
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return; // not a log line
      }
      logs.push(entry);
      if (entry.msg === 'listening' && typeof entry.port === 'number') {
        clearTimeout(timer);
        resolve(entry.port);
      }
    });
  });
  return { child, port: bound, logs };
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** The test CA and the hub certificate it signed (for 127.0.0.1 and localhost). */
export const TLS_FIXTURES = {
  ca: join(ROOT, 'device-sim/test/fixtures/ca.pem'),
  cert: join(ROOT, 'device-sim/test/fixtures/hub.pem'),
  key: join(ROOT, 'device-sim/test/fixtures/hub-key.pem'),
};

export interface StartOptions {
  /** Restart a stopped hub: same data directory, same port. */
  reuse?: { dataDir: string; port: number };
  /** Serve https/wss with the fixture certificate. */
  tls?: boolean;
}

/** Starts a hub; `extra` adds flags (e.g. ['--ping-interval', '1s']). */
export async function startHub(extra: readonly string[] = [], opts: StartOptions = {}): Promise<HubProcess> {
  const { reuse, tls = false } = opts;
  const dataDir = reuse?.dataDir ?? (await mkdtemp(join(tmpdir(), 'halyard-sim-hub-')));
  const flags = tls ? [...extra, '--tls-cert', TLS_FIXTURES.cert, '--tls-key', TLS_FIXTURES.key] : extra;
  const { child, port, logs } = await launch(dataDir, reuse?.port ?? 0, flags);
  const api = new ApiClient({
    base: `${tls ? 'https' : 'http'}://127.0.0.1:${port}/api/v1`,
    ...(tls ? { ca: await readFile(TLS_FIXTURES.ca) } : {}),
  });
  await api.login('admin', ADMIN_PASSWORD);
  const stop = () => stopChild(child);
  return {
    url: `${tls ? 'wss' : 'ws'}://127.0.0.1:${port}`,
    port,
    dataDir,
    api,
    logs,
    stop,
    dispose: async () => {
      await stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** A request that must succeed (2xx); returns the body. */
export async function ok<T>(res: Promise<ApiResponse>): Promise<T> {
  const r = await res;
  if (r.status < 200 || r.status > 299) throw new Error(`API answered ${r.status}: ${JSON.stringify(r.body)}`);
  return r.body as T;
}

/** Creates a device and returns its spec (id + token). */
export async function createDevice(hub: HubProcess, id: string, model?: string): Promise<{ id: string; token: string }> {
  const body = await ok<{ token: string }>(hub.api.request('POST', '/devices', { id, ...(model ? { model } : {}) }));
  return { id, token: body.token };
}

export interface Series {
  name: string;
  points: { t: number; v?: number; vs?: string; vb?: boolean }[];
  truncated: boolean;
}

/** Raw stored telemetry of a device (every metric unless `name`), over a wide window. */
export async function storedTelemetry(
  hub: HubProcess,
  id: string,
  opts: { name?: string; from?: number; to?: number } = {},
): Promise<Series[]> {
  const q = new URLSearchParams({
    from: String(opts.from ?? Date.now() - 86_400_000),
    to: String(opts.to ?? Date.now() + 86_400_000),
    limit: '100000',
  });
  if (opts.name !== undefined) q.set('name', opts.name);
  const body = await ok<{ series: Series[] }>(hub.api.request('GET', `/devices/${id}/telemetry?${q}`));
  return body.series;
}
