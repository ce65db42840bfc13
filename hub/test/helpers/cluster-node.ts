// One hub in this process as a cluster node (docs/architecture.md § Cluster): startHub
// with its own node id and free ports on a shared PostgreSQL database and Redis, the
// first admin logged in. The in-process cluster tests (hub/test/cluster*.external.test.ts,
// mqtt-cluster.external.test.ts) start their nodes here; ./cluster.ts starts hub
// processes behind HAProxy instead.
//
//   const a = await startClusterNode('node-a', db.url, redis, { password: PASSWORD });
//   a.api, a.ws, a.mqtt, a.logs; await a.hub.close();

import { Writable } from 'node:stream';
import { loadConfig } from '../../src/config.js';
import { type Hub, type StartOptions, startHub } from '../../src/hub.js';
import { createLogger } from '../../src/log.js';
import { Api, type LogLine } from './hub.js';
import type { TestRedis } from './redis.js';

export interface ClusterNodeOptions {
  /** The first admin's password (--admin-password); `api` is logged in with it. */
  password: string;
  /** More flags, before the node's own (e.g. `--data-dir`, `--webhook-allow`). */
  flags?: readonly string[];
  /** --log-level (default info); the JSON lines land in `logs`. */
  logLevel?: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** startHub's test options (alarm tick, webhook retry, …). */
  start?: StartOptions;
}

export interface InProcessNode {
  /** --node-id. */
  id: string;
  hub: Hub;
  /** http://127.0.0.1:port, ws://… and mqtt://… of this node. */
  http: string;
  ws: string;
  mqtt: string;
  api: Api;
  /** Every log line the node wrote, parsed. */
  logs: LogLine[];
}

export async function startClusterNode(id: string, pgUrl: string, redis: TestRedis, o: ClusterNodeOptions): Promise<InProcessNode> {
  const config = loadConfig(
    [
      ...(o.flags ?? []),
      ...['--port', '0', '--host', '127.0.0.1', '--mqtt-port', '0'],
      ...['--store', pgUrl, '--cluster', `${redis.url}?prefix=${redis.prefix}`, '--node-id', id],
      ...[`--admin-password=${o.password}`, '--log-format', 'json', '--log-level', o.logLevel ?? 'info'],
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
  const hub = await startHub(config, createLogger(config, sink), o.start);
  const http = `http://127.0.0.1:${hub.port}`;
  const api = new Api(http);
  await api.login('admin', o.password);
  return { id, hub, http, ws: `ws://127.0.0.1:${hub.port}`, mqtt: `mqtt://127.0.0.1:${hub.mqttPort}`, api, logs };
}
