// A real hub in this process for tests: temp data dir, port 0, quiet log, a logged-in admin.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { type HubConfig, loadConfig } from '../../src/config.js';
import { type Hub, type StartOptions, startHub } from '../../src/hub.js';
import { createLogger } from '../../src/log.js';
import { releaseStore, storeFlags } from './test-store.js';

export const ADMIN_PASSWORD = 'admin-password-123';

export interface LogLine {
  level: number;
  msg: string;
  [k: string]: unknown;
}

export interface TestHub {
  hub: Hub;
  config: Readonly<HubConfig>;
  dir: string;
  http: string;
  ws: string;
  logs: LogLine[];
  api: Api;
  /** Stops the hub; keeps the data dir unless `remove`. */
  stop(): Promise<void>;
  close(): Promise<void>;
}

// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON answers
type Json = any;

export class Api {
  token: string | undefined;

  constructor(readonly base: string) {}

  async call(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: Json; headers: Headers }> {
    const res = await fetch(`${this.base}/api/v1${path}`, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
        ...headers,
      },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON
    }
    return { status: res.status, body: parsed, headers: res.headers };
  }

  get(path: string) {
    return this.call('GET', path);
  }
  post(path: string, body?: unknown, headers?: Record<string, string>) {
    return this.call('POST', path, body ?? {}, headers);
  }
  patch(path: string, body: unknown, headers?: Record<string, string>) {
    return this.call('PATCH', path, body, headers);
  }
  delete(path: string) {
    return this.call('DELETE', path);
  }

  async login(username: string, password: string): Promise<void> {
    const r = await this.post('/login', { username, password });
    if (r.status !== 200) throw new Error(`login failed: ${r.status} ${JSON.stringify(r.body)}`);
    this.token = r.body.token;
  }

  /** Provisions a device; returns its token. */
  async provision(id: string, extra: Record<string, unknown> = {}): Promise<string> {
    const r = await this.post('/devices', { id, ...extra });
    if (r.status !== 201) throw new Error(`provision ${id}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.token as string;
  }

  as(token: string): Api {
    const a = new Api(this.base);
    a.token = token;
    return a;
  }
}

/**
 * A hub on the test store (test-store.ts: SQLite in `dir`, or with
 * HALYARD_TEST_STORE=postgres the PostgreSQL database standing for `dir`); the same
 * `dir` again restarts on the same data.
 */
export async function startTestHub(flags: string[] = [], dir?: string, options: StartOptions = {}): Promise<TestHub> {
  const dataDir = dir ?? mkdtempSync(join(tmpdir(), 'halyard-hub-'));
  const store = await storeFlags(dataDir, flags);
  const config = loadConfig(
    [
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--mqtt-port',
      '0',
      '--data-dir',
      dataDir,
      '--admin-password',
      ADMIN_PASSWORD,
      '--log-format',
      'json',
      '--log-level',
      'debug',
      ...store,
      ...flags,
    ],
    {},
  );
  const logs: LogLine[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n')) if (line.trim()) logs.push(JSON.parse(line) as LogLine);
      cb();
    },
  });
  const hub = await startHub(config, createLogger(config, sink), options);
  const http = `http://127.0.0.1:${hub.port}`;
  const api = new Api(http);
  await api.login('admin', ADMIN_PASSWORD);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await hub.close();
  };
  return {
    hub,
    config,
    dir: dataDir,
    http,
    ws: `ws://127.0.0.1:${hub.port}`,
    logs,
    api,
    stop,
    async close() {
      await stop();
      rmSync(dataDir, { recursive: true, force: true });
      await releaseStore(dataDir);
    },
  };
}

/** A test hub with a viewer ("vi", "viewer-pass") and an operator ("op", "operator-pass"), each logged in on its own Api. */
export async function startHubWithRoles(
  flags: string[] = [],
  options: StartOptions = {},
): Promise<{ t: TestHub; viewer: Api; operator: Api }> {
  const t = await startTestHub(flags, undefined, options);
  await t.api.post('/operators', { username: 'vi', password: 'viewer-pass', role: 'viewer' });
  await t.api.post('/operators', { username: 'op', password: 'operator-pass', role: 'operator' });
  const viewer = new Api(t.http);
  await viewer.login('vi', 'viewer-pass');
  const operator = new Api(t.http);
  await operator.login('op', 'operator-pass');
  return { t, viewer, operator };
}

/** One sample from /metrics, e.g. `halyard_mqtt_dropped_total{reason="x"}`; 0 when absent (a counter not yet counted). */
export async function metricSample(t: TestHub, sample: string): Promise<number> {
  const text = await fetch(`${t.http}/metrics`).then((r) => r.text());
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
  return line === undefined ? 0 : Number(line.slice(sample.length + 1));
}
