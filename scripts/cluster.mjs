#!/usr/bin/env node
// `npm run cluster`: a Halyard cluster on this machine, from Debian packages
// (postgresql, redis-server, haproxy): PostgreSQL and Redis in temp dirs, three hubs
// sharing them, HAProxy in front with deploy/haproxy.cfg. Prints where everything is
// and the first admin's password; Ctrl-C stops it all and removes the temp dirs.
// The start code is the cluster tests' own (hub/test/helpers/cluster.ts).
//
//   npm run cluster                   three hubs
//   npm run cluster -- --nodes 2      two
//   npm run cluster -- --show info    hub log lines from this level on, on stderr (default warn)

import { parseArgs } from 'node:util';
import { startTestCluster } from '@halyard/hub/test/cluster';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '3' },
    show: { type: 'string', default: 'warn' },
  },
});
const nodes = Number(values.nodes);
/** pino's level numbers. */
const LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };
const shown = LEVELS[values.show];
if (shown === undefined) {
  console.error(`--show must be one of ${Object.keys(LEVELS).join(', ')}`);
  process.exit(2);
}
if (!Number.isInteger(nodes) || nodes < 1 || nodes > 16) {
  console.error('--nodes must be 1-16');
  process.exit(2);
}

const say = (line) => console.error(`cluster: ${line}`);
say(`starting PostgreSQL, Redis, ${nodes} hubs and HAProxy…`);
let cluster;
try {
  cluster = await startTestCluster({
    nodes,
    checkIntervalMs: 2_000,
    // Ctrl-C reaches this script, which stops the hubs once, cleanly.
    ownGroups: true,
    progress: say,
  });
} catch (err) {
  say(`could not start: ${err instanceof Error ? err.message : String(err)}`);
  say('needs the Debian packages postgresql, redis-server and haproxy, and a build (npm run build)');
  process.exit(1);
}

// The hubs' log lines (JSON) from --show on go to stderr as they come, tagged with the node.
const levelOf = (line) => {
  try {
    return JSON.parse(line).level ?? 0;
  } catch {
    return LEVELS.warn;
  }
};
for (const n of cluster.nodes) {
  n.hub.proc.stdout?.on('data', (d) => {
    for (const line of String(d).split('\n')) if (line.trim() && levelOf(line) >= shown) process.stderr.write(`${n.id} ${line}\n`);
  });
  // HubProcess keeps every line for tests; a long-running cluster should not.
  n.hub.proc.stdout?.on('data', () => n.hub.stdout.splice(0));
  void n.hub.exited.then(({ code, signal }) => {
    if (n.alive) say(`${n.id} exited (${signal ?? code}); the others carry on`);
  });
}

const { urls } = cluster;
console.log(`
Halyard cluster: ${nodes} hubs behind HAProxy

  console         ${urls.http}/
  API             ${urls.api}
  device channel  ${urls.device}
  console channel ${urls.console}
  MQTT            ${urls.mqtt}
  HAProxy stats   ${cluster.lb.statsUrl}

  log in as       admin / ${cluster.adminPassword}

  hubs (direct):
${cluster.nodes.map((n) => `    ${n.id.padEnd(8)} http://127.0.0.1:${n.hub.port}  mqtt://127.0.0.1:${n.hub.mqttPort}  (pid ${n.hub.proc.pid})`).join('\n')}
  PostgreSQL      ${cluster.pg.url}
  Redis           ${cluster.redis.url} (keys under ${cluster.redis.prefix})

A simulated fleet through the balancer:
  npm run sim -- --hub ws://127.0.0.1:${cluster.lb.httpPort} --provision --password '${cluster.adminPassword}' --count 100 --profile mixed

Try a failover: kill -9 one hub's pid above; its devices reconnect to the others.
Ctrl-C stops everything.
`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  say('stopping hubs, HAProxy, Redis and PostgreSQL…');
  await cluster.stop();
  say('stopped');
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
