// A real HAProxy in front of the hubs of a cluster test, with the configuration the
// hub will ship (haproxyConfig): HTTP, the device and console WebSockets and the API
// on one port, balanced by open connections and health-checked on /healthz; MQTT as
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
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
}

/** The configuration, as the hub ships it (with this host, ports and interval). */
export function haproxyConfig(c: HaproxyConfigInput): string {
  const inter = `${c.checkIntervalMs}ms`;
  const lines = [
    'global',
    // HAProxy needs about two descriptors per connection (client and server side) and
    // refuses to start when 2 x maxconn exceeds the descriptor limit: size it to half.
    `  maxconn ${c.maxconn}`,
    '',
    'defaults',
    '  mode http',
    '  timeout connect 5s',
    '  timeout client 60s',
    '  timeout server 60s',
    // An upgraded WebSocket (and an MQTT connection) is a tunnel: quiet devices ping
    // only every few tens of seconds, so the client/server timeouts must not apply.
    '  timeout tunnel 1h',
    // Slow request headers (slowloris) end here, before a hub sees them.
    '  timeout http-request 10s',
    '  timeout check 2s',
    '',
    'frontend http',
    `  bind ${c.bind}:${c.httpPort}`,
    // The hubs see the proxy's address otherwise (audit, per-client limits).
    '  option forwardfor',
    '  default_backend hubs',
    '',
    'backend hubs',
    // Device sessions live for hours: balance by open connections, not by requests.
    '  balance leastconn',
    '  option httpchk',
    // `option httpchk GET /healthz` alone sends HTTP/1.0 without Host, which the hub
    // answers with 400: every hub would be marked down.
    '  http-check send meth GET uri /healthz ver HTTP/1.1 hdr Host hub',
    '  http-check expect status 200',
    `  default-server inter ${inter} fall 2 rise 2`,
    ...c.backends.map((b, i) => `  server hub${i} ${b.host}:${b.port} check`),
  ];
  if (c.mqttBackends && c.mqttBackends.length > 0 && c.mqttPort !== undefined) {
    lines.push(
      '',
      'frontend mqtt',
      '  mode tcp',
      `  bind ${c.bind}:${c.mqttPort}`,
      '  default_backend mqtt',
      '',
      'backend mqtt',
      // MQTT is not HTTP: HAProxy only forwards bytes; the check is a TCP connect.
      '  mode tcp',
      '  balance leastconn',
      `  default-server inter ${inter} fall 2 rise 2`,
      ...c.mqttBackends.map((b, i) => `  server mqtt${i} ${b.host}:${b.port} check`),
    );
  }
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
