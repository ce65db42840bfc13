// A whole cluster on one machine (README.md, Running a cluster): PostgreSQL, Redis,
// N hub processes sharing them (--store, --cluster, --node-id, --trusted-proxies) and
// HAProxy in front with the shipped configuration (deploy/haproxy.cfg). `npm run
// cluster` (scripts/cluster.mjs) and the cluster tests (hub/test/cluster.external.test.ts)
// both start it here.
//
//   const c = await startTestCluster({ nodes: 3 });
//   c.urls.http, c.urls.device, c.urls.mqtt; c.adminPassword; c.nodes[1].hub.port
//   await c.kill(1);                 // SIGKILL one hub, as a crash
//   await c.stop();                  // every process and temp dir gone
//
// Hubs are compiled JS (hub/dist/src/main.js): build first (npm run build).

import { randomBytes } from 'node:crypto';
import { startHaproxy, type TestHaproxy } from './haproxy.js';
import { startPostgres, type TestPostgres } from './postgres.js';
import { type HubProcess, spawnHub } from './process.js';
import { startRedis, type TestRedis } from './redis.js';

export interface TestClusterOptions {
  /** Hub processes (default 3). */
  nodes?: number;
  /** More flags for every hub (e.g. `--ping-interval 2s`). */
  hubFlags?: readonly string[];
  /** The first admin's password (default: random, in `adminPassword`). */
  adminPassword?: string;
  /** HAProxy's health check interval in ms (default 500). */
  checkIntervalMs?: number;
  /** PostgreSQL with fsync (default true: what production runs). */
  fsync?: boolean;
  /** Hubs in process groups of their own, out of reach of a terminal's Ctrl-C (default false). */
  ownGroups?: boolean;
  /** Progress lines (`postgres up in 1.8 s`, …). */
  progress?: (line: string) => void;
}

export interface ClusterNode {
  /** --node-id: node1, node2, … */
  readonly id: string;
  /** The running process (replaced by `restart`). */
  hub: HubProcess;
  /** False after `kill` until `restart`. */
  alive: boolean;
}

export interface TestCluster {
  readonly pg: TestPostgres;
  readonly redis: TestRedis;
  readonly lb: TestHaproxy;
  readonly nodes: readonly ClusterNode[];
  readonly adminPassword: string;
  /** Through HAProxy: console and API (`http`), device WebSocket (`device`), MQTT (`mqtt`). */
  readonly urls: { http: string; api: string; device: string; console: string; mqtt: string };
  /** The flags node `i` was started with (node-id included). */
  flags(i: number): string[];
  /** SIGKILL to node `i`: no shutdown, as a crash; resolves once it is gone. */
  kill(i: number): Promise<void>;
  /** SIGTERM to node `i`: a clean shutdown. */
  terminate(i: number): Promise<void>;
  /** Stops everything started here, hubs first; safe to call twice. */
  stop(): Promise<void>;
}

export async function startTestCluster(o: TestClusterOptions = {}): Promise<TestCluster> {
  const count = o.nodes ?? 3;
  const progress = o.progress ?? (() => {});
  const adminPassword = o.adminPassword ?? randomBytes(12).toString('base64url');
  const cleanups: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  };
  try {
    const t0 = performance.now();
    const [pg, redis] = await Promise.all([startPostgres({ fsync: o.fsync ?? true }), startRedis()]);
    cleanups.push(
      () => pg.stop(),
      () => redis.stop(),
    );
    progress(`PostgreSQL and Redis up in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const clusterUrl = `${redis.url}?prefix=${encodeURIComponent(redis.prefix)}`;
    const flags = (i: number) => [
      '--store',
      pg.url,
      '--cluster',
      clusterUrl,
      '--node-id',
      `node${i + 1}`,
      // HAProxy reaches the hubs from loopback.
      '--trusted-proxies',
      '127.0.0.1',
      // One argument with `=`: a random password may begin with "-", which the parser would take for an option.
      `--admin-password=${adminPassword}`,
      ...(o.hubFlags ?? []),
    ];
    const nodes: ClusterNode[] = [];
    const stopNodes = async () => {
      await Promise.all(
        nodes.map(async (n) => {
          if (!n.alive) return;
          n.alive = false;
          n.hub.proc.kill('SIGTERM');
          await n.hub.exited;
        }),
      );
    };
    cleanups.push(stopNodes);
    // The first node creates the schema and the first admin; the others then join at once.
    const start = async (i: number) => {
      const hub = await spawnHub(flags(i), {}, { ownGroup: o.ownGroups === true });
      nodes[i] = { id: `node${i + 1}`, hub, alive: true };
      progress(`hub node${i + 1}: http 127.0.0.1:${hub.port}, mqtt 127.0.0.1:${hub.mqttPort}`);
    };
    await start(0);
    await Promise.all(Array.from({ length: count - 1 }, (_, k) => start(k + 1)));
    const lb = await startHaproxy({
      backends: nodes.map((n) => ({ host: '127.0.0.1', port: n.hub.port })),
      mqttBackends: nodes.map((n) => ({ host: '127.0.0.1', port: n.hub.mqttPort })),
      mqttSendProxy: true,
      checkIntervalMs: o.checkIntervalMs ?? 500,
    });
    cleanups.push(() => lb.stop());
    progress(`HAProxy up: http 127.0.0.1:${lb.httpPort}, mqtt 127.0.0.1:${lb.mqttPort}`);
    const http = `http://127.0.0.1:${lb.httpPort}`;
    const ws = `ws://127.0.0.1:${lb.httpPort}`;
    const signal = async (i: number, sig: NodeJS.Signals) => {
      const n = nodes[i];
      if (n === undefined) throw new Error(`no node ${i}`);
      if (!n.alive) return;
      n.alive = false;
      n.hub.proc.kill(sig);
      await n.hub.exited;
    };
    return {
      pg,
      redis,
      lb,
      nodes,
      adminPassword,
      urls: {
        http,
        api: `${http}/api/v1`,
        device: `${ws}/v1/device`,
        console: `${ws}/v1/console`,
        mqtt: `mqtt://127.0.0.1:${lb.mqttPort}`,
      },
      flags,
      kill: (i) => signal(i, 'SIGKILL'),
      terminate: (i) => signal(i, 'SIGTERM'),
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
