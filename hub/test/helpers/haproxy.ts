// A real HAProxy in front of the hubs of a cluster test, with the configuration the
// repo ships (deploy/haproxy.cfg, through haproxyConfig): HTTP, the device and console WebSockets and the API
// on one port, balanced by open connections and health-checked on /readyz; MQTT as
// plain TCP on another. A stats listener tells tests what HAProxy thinks of each
// backend (UP/DOWN), so a test can wait for "hub 2 is out" instead of sleeping.
//
//   const lb = await startHaproxy({ backends: [{ host: '127.0.0.1', port: hubA }], mqttBackends: [...] });
//   fetch(`http://127.0.0.1:${lb.httpPort}/healthz`); mqtt.connect(`mqtt://127.0.0.1:${lb.mqttPort}`)
//   await lb.untilStatus('hub0', 'DOWN');
//   await lb.stop();                           // the process and its temp dir are gone
//
// No override variable: the configuration names this test's backends, so there is
// no running HAProxy a test could share.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { EngineProcess, findOnPath, holdDir, isExecutable, releaseDir } from './engine-process.js';
import { freePort } from './free-port.js';

export interface Backend {
  host: string;
  port: number;
}

export interface HaproxyConfigInput {
  /** Hubs' HTTP ports (API, console, /v1/device and /v1/console WebSockets). */
  backends: readonly Backend[];
  /** Hubs' MQTT ports; none means no MQTT frontend. */
  mqttBackends?: readonly Backend[];
  bind: string;
  httpPort: number;
  mqttPort?: number;
  /** A stats page (CSV at /stats;csv) on this port, when given. */
  statsPort?: number;
  maxconn: number;
  /** Health check interval in ms: production can afford seconds, tests want a dead hub noticed fast. */
  checkIntervalMs: number;
  /** Keep deploy/haproxy.cfg's `send-proxy-v2` to the MQTT backends (hubs started with --trusted-proxies). */
  mqttSendProxy?: boolean;
}

/** deploy/haproxy.cfg, found from here in the source tree or in dist. */
export function deployConfigPath(): string {
  for (let dir = import.meta.dirname; dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, 'deploy', 'haproxy.cfg');
    if (existsSync(file)) return file;
  }
  throw new Error(`deploy/haproxy.cfg not found above ${import.meta.dirname}`);
}

/**
 * The configuration the repo ships (deploy/haproxy.cfg), with this host's ports,
 * backends, maxconn and check interval swapped in: every test through HAProxy tests
 * the deploy file. Sections: `backend hubs` and `backend mqtt` get `servers` named
 * hub0.. and mqtt0..; without MQTT backends the mqtt sections go; `send-proxy-v2`
 * stays only when `mqttSendProxy` (hubs must then trust the proxy).
 */
export function haproxyConfig(c: HaproxyConfigInput, source = readFileSync(deployConfigPath(), 'utf8')): string {
  const withMqtt = c.mqttBackends !== undefined && c.mqttBackends.length > 0 && c.mqttPort !== undefined;
  const out: string[] = [];
  let section = '';
  const servers = (list: readonly Backend[], prefix: string) => list.map((b, i) => `  server ${prefix}${i} ${b.host}:${b.port} check`);
  // A section's servers go at its end, before the blank line that ends it.
  const flush = () => {
    const blank = out.at(-1) === '' ? out.pop() : undefined;
    if (section === 'backend hubs') out.push(...servers(c.backends, 'hub'));
    if (section === 'backend mqtt' && withMqtt) out.push(...servers(c.mqttBackends ?? [], 'mqtt'));
    if (blank !== undefined) out.push(blank);
  };
  for (const raw of source.split('\n')) {
    const line = raw.trimEnd();
    if (/^\S/.test(line) && !line.startsWith('#')) {
      flush();
      section = line.trim();
    }
    const mqttSection = section === 'frontend mqtt' || section === 'backend mqtt';
    if (mqttSection && !withMqtt) continue;
    const t = line.trim();
    if (t.startsWith('server ')) continue;
    if (section === 'global' && t.startsWith('maxconn ')) out.push(`  maxconn ${c.maxconn}`);
    else if (section === 'frontend http' && t.startsWith('bind ')) out.push(`  bind ${c.bind}:${c.httpPort}`);
    else if (section === 'frontend mqtt' && t.startsWith('bind ')) out.push(`  bind ${c.bind}:${c.mqttPort}`);
    else if (t.startsWith('default-server ')) {
      let ds = line.replace(/\binter \S+/, `inter ${c.checkIntervalMs}ms`);
      if (!c.mqttSendProxy) ds = ds.replace(/ send-proxy(-v2)?\b/, '');
      out.push(ds);
    } else out.push(line);
  }
  flush();
  const lines = out
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd()
    .split('\n');
  if (c.statsPort !== undefined) {
    lines.push('', 'listen stats', `  bind ${c.bind}:${c.statsPort}`, '  stats enable', '  stats uri /stats');
  }
  return `${lines.join('\n')}\n`;
}

/** This process's soft descriptor limit, which HAProxy inherits. */
function descriptorLimit(): number {
  const out = execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim();
  return out === 'unlimited' ? 1_048_576 : Number(out);
}

/** Half the descriptor limit, less some for listeners, checks and the stats page. */
export function maxconnFor(limit: number): number {
  return Math.max(100, Math.floor(limit / 2) - 100);
}

export interface HaproxyOptions {
  backends: readonly Backend[];
  mqttBackends?: readonly Backend[];
  /** Health check interval in ms (default 500). */
  checkIntervalMs?: number;
  /** PROXY protocol to the MQTT backends, as deploy/haproxy.cfg ships (default false: plain TCP, for backends that do not trust the proxy). */
  mqttSendProxy?: boolean;
  /** Wait until every backend passes its check before resolving (default true). */
  awaitHealthy?: boolean;
}

export interface ServerState {
  /** `hubs` or `mqtt` */
  backend: string;
  /** `hub0`, `hub1`, …, `mqtt0`, … in the order given */
  server: string;
  /** HAProxy's word: `UP`, `DOWN`, `UP 1/2` (going down), `DOWN 1/2` (going up), `MAINT`, … */
  status: string;
}

export interface TestHaproxy {
  readonly httpPort: number;
  /** undefined without mqttBackends */
  readonly mqttPort: number | undefined;
  readonly statsUrl: string;
  readonly config: string;
  readonly dir: string;
  /** From spawn to the stats page answering, in ms (not counting the wait for healthy backends). */
  readonly startMs: number;
  log(): string;
  /** What HAProxy thinks of each backend server now. */
  servers(): Promise<ServerState[]>;
  /** Waits until `server` (`hub0`, `mqtt1`, …) has exactly `status`. */
  untilStatus(server: string, status: 'UP' | 'DOWN', timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

function haproxyBinary(): string {
  // Debian installs it in /usr/sbin, which is not on a non-root PATH.
  const bin = findOnPath('haproxy') ?? ['/usr/sbin/haproxy', '/usr/local/sbin/haproxy'].find(isExecutable);
  if (!bin) throw new Error('haproxy not found (PATH, /usr/sbin): install the Debian package haproxy (.ci/run does)');
  return bin;
}

export async function startHaproxy(options: HaproxyOptions): Promise<TestHaproxy> {
  const bin = haproxyBinary();
  const dir = mkdtempSync(join(tmpdir(), 'halyard-haproxy-'));
  holdDir(dir);
  const maxconn = maxconnFor(descriptorLimit());
  const withMqtt = (options.mqttBackends?.length ?? 0) > 0;
  let proc: EngineProcess | undefined;
  let config = '';
  let ports = { http: 0, mqtt: 0, stats: 0 };
  const t0 = performance.now();
  try {
    // Free ports may be taken by another process before HAProxy binds them: try others.
    for (let attempt = 1; ; attempt++) {
      ports = { http: await freePort(), mqtt: withMqtt ? await freePort() : 0, stats: await freePort() };
      config = haproxyConfig({
        backends: options.backends,
        mqttBackends: options.mqttBackends ?? [],
        bind: '127.0.0.1',
        httpPort: ports.http,
        ...(withMqtt ? { mqttPort: ports.mqtt } : {}),
        statsPort: ports.stats,
        maxconn,
        checkIntervalMs: options.checkIntervalMs ?? 500,
        mqttSendProxy: options.mqttSendProxy ?? false,
      });
      const file = join(dir, 'haproxy.cfg');
      writeFileSync(file, config);
      // -db: foreground, alerts and server state changes on stderr.
      proc = EngineProcess.spawn({ name: 'haproxy', command: bin, args: ['-db', '-f', file], cwd: dir });
      const statsPort = ports.stats;
      try {
        await proc.untilReady(async () => (await fetch(`http://127.0.0.1:${statsPort}/stats;csv`)).ok, 10_000);
        break;
      } catch (err) {
        await proc.stop();
        if (attempt >= 3 || !proc.portTaken()) throw err;
      }
    }
  } catch (err) {
    releaseDir(dir);
    throw err;
  }
  const startMs = performance.now() - t0;
  const running = proc;
  const statsUrl = `http://127.0.0.1:${ports.stats}/stats`;

  const servers = async (): Promise<ServerState[]> => {
    const csv = await (await fetch(`${statsUrl};csv`)).text();
    const [header = '', ...rows] = csv.split('\n');
    const cols = header.replace(/^# /, '').split(',');
    const at = (name: string) => cols.indexOf(name);
    return rows
      .map((r) => r.split(','))
      .filter((r) => r.length > 1 && r[at('svname')] !== 'FRONTEND' && r[at('svname')] !== 'BACKEND' && r[at('pxname')] !== 'stats')
      .map((r) => ({ backend: r[at('pxname')] ?? '', server: r[at('svname')] ?? '', status: r[at('status')] ?? '' }));
  };

  const untilStatus = async (server: string, status: 'UP' | 'DOWN', timeoutMs = 10_000): Promise<void> => {
    const probe = async () => (await servers()).some((s) => s.server === server && s.status === status);
    try {
      await running.untilReady(probe, timeoutMs, `reporting ${server} ${status}`);
    } catch (err) {
      throw new Error(`${(err as Error).message}\nservers now: ${JSON.stringify(await servers().catch(() => []))}`);
    }
  };

  const lb: TestHaproxy = {
    httpPort: ports.http,
    mqttPort: withMqtt ? ports.mqtt : undefined,
    statsUrl,
    config,
    dir,
    startMs,
    log: () => running.log,
    servers,
    untilStatus,
    stop: async () => {
      // SIGTERM is HAProxy's hard stop; SIGUSR1 would wait for every tunnel to close.
      await running.stop('SIGTERM');
      releaseDir(dir);
    },
  };
  if (options.awaitHealthy !== false) {
    try {
      for (const s of await servers()) await untilStatus(s.server, 'UP');
    } catch (err) {
      const states = await servers().catch(() => []);
      await lb.stop();
      throw new Error(`not every backend became healthy: ${JSON.stringify(states)}\n${(err as Error).message}`);
    }
  }
  return lb;
}
