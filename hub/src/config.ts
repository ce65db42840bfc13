// The hub's configuration: defaults < environment (HALYARD_*) < command-line flags,
// validated once at start, then frozen. Nothing else in the hub reads process.env.

import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { parseDuration, parseSize } from '@halyard/firmware-protocol';
import { parseQos, type QosByClass } from './mqtt/qos.js';
import { parseCidr } from './net/client-address.js';

export interface HubConfig {
  /** HTTP + WebSocket port; 0 picks a free one. */
  port: number;
  host: string;
  /** Embedded MQTT broker's TCP port; 0 picks a free one. */
  mqttPort: number;
  /** MQTT over TLS, when TLS is configured. */
  mqttsPort: number;
  dataDir: string;
  /** `postgres://user:pass@host:5432/db` to keep everything in PostgreSQL; undefined = SQLite in dataDir. */
  store: string | undefined;
  /** `redis://host:6379[?prefix=halyard:]` to run as one node of a cluster (needs a PostgreSQL store); undefined = a single hub. */
  cluster: string | undefined;
  /** This node's name in the cluster (letters, digits, `.`, `_`, `-`; at most 64); default host name and pid. */
  nodeId: string;
  tlsCert: string | undefined;
  tlsKey: string | undefined;
  /** ms between WebSocket pings to each device. */
  pingInterval: number;
  /** ms without a pong or frame after a ping before a device is dropped. */
  pingTimeout: number;
  /** ms a new connection has to send HELLO. */
  helloTimeout: number;
  /** Longest ms WELCOME waits for frames of the device's earlier connection to be stored (then 1011). */
  welcomeWait: number;
  /** Largest device message, bytes. */
  maxFrame: number;
  /** Messages per second per device (token bucket; bursts to 5 s worth). */
  deviceRate: number;
  /** Most concurrent device connections; further upgrades get 503. */
  maxConnections: number;
  /** Most distinct telemetry series (metric names) per device; a frame that would add more is refused (4400). */
  maxSeriesPerDevice: number;
  /** ms of raw telemetry to keep; 0 keeps everything. */
  retention: number;
  /** ms of telemetry rollups (1-minute and 1-hour buckets) to keep; 0 keeps everything. */
  retentionRollups: number;
  /** Outbound MQTT bridges, `mqtt[s]://user:pass@host:port[?prefix=...&qos=1]`. */
  bridge: string[];
  mqttPrefix: string;
  /** ms a new MQTT connection has to send CONNECT before it is closed; 100 ms to 10 min (0 is refused: every connection must speak sometime). */
  mqttConnectTimeout: number;
  /** MQTT connections from one address that have not finished logging in (count); 0 = no limit. */
  mqttPendingPerIp: number;
  /** QoS 2 publishes awaiting PUBREL per client id, connected or not (count, at least 1); beyond it the client is disconnected. */
  mqttMaxInflight: number;
  /** QoS 2 publishes awaiting PUBREL across all client ids (count, at least mqttMaxInflight; about 300 bytes each: payloads are not kept); beyond it the publisher is disconnected. */
  mqttInflightTotal: number;
  /** ms a persistent (clean=false) MQTT session outlives its connection; 0 = it ends with the connection. */
  mqttSessionExpiry: number;
  /** Persistent MQTT sessions one account keeps, connected or away (count; the oldest away ends first); 0 = no limit. */
  mqttMaxSessions: number;
  /** MQTT connections one account holds at once (of the listener's 1,000); 0 = no limit. */
  mqttAccountConns: number;
  /** QoS the hub publishes each topic class at (`--mqtt-qos 1`, `1,telemetry=0`). */
  mqttQos: QosByClass;
  /** QoS 1 messages one persistent session holds for its client, unacknowledged or not yet sent (count, at least 1); the oldest is dropped beyond. */
  mqttQueueMessages: number;
  /** The same bound in bytes of topic and payload (at least 1 KiB). */
  mqttQueueBytes: number;
  mqttQueueTotal: number;
  /** Publish Home Assistant discovery under this prefix; undefined = off. */
  haDiscovery: string | undefined;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** `json` lines, or `pretty` for a terminal. */
  logFormat: 'json' | 'pretty';
  /** Password for the first admin on an empty database; random when unset. */
  adminPassword: string | undefined;
  hubName: string;
  /** Longest a telemetry batch waits to be committed, ms (group commit). */
  commitInterval: number;
  /** Built web console to serve at `/`; undefined serves none. */
  consoleDir: string | undefined;
  /** Load balancers (CIDR ranges or addresses) whose X-Forwarded-For and PROXY protocol headers are believed; none by default. */
  trustedProxies: string[];
  // Firmware updates (docs/firmware.md)
  /** Largest firmware image an upload may hold, bytes. */
  firmwareMaxSize: number;
  /** Most bytes the firmware library holds, all images together (finished and uploading). */
  firmwareMaxTotal: number;
  /** Free disk under --data-dir a firmware upload must leave (SQLite store only). */
  firmwareDiskReserve: number;
  /** The Ed25519 signing key's PEM file; undefined = `<data-dir>/firmware-signing-key.pem`; `off` signs nothing. */
  firmwareSigningKey: string | undefined;
  // Fleet jobs (docs/jobs.md)
  /** ms a job may run when it gives no deadline; then it ends timed_out. */
  jobDeadline: number;
  /** Longest deadline a job may give (ms). */
  jobDeadlineMax: number;
  // Webhooks (README.md § Alarms and notifications)
  /** ms a delivery is retried for (from when it was queued) before it is marked failed. */
  webhookRetryFor: number;
  /** Pending deliveries one webhook may hold (count); further ones are dropped and counted. */
  webhookQueue: number;
  /** Addresses or CIDR ranges webhooks may reach although refused by default (loopback, link-local, cloud metadata...). */
  webhookAllow: string[];
}

interface FlagSpec {
  key: keyof HubConfig;
  flag: string;
  kind: 'string' | 'int' | 'duration' | 'size' | 'list' | 'optional-string' | 'boolean-or-string' | 'qos';
  default: string | undefined;
  help: string;
}

/** Every flag, its variable (HALYARD_ + upper snake case), default and meaning. */
export const FLAGS: readonly FlagSpec[] = [
  { key: 'port', flag: 'port', kind: 'int', default: '8080', help: 'HTTP, WebSocket and console port (0 = any free port)' },
  { key: 'host', flag: 'host', kind: 'string', default: '0.0.0.0', help: 'address to listen on' },
  { key: 'mqttPort', flag: 'mqtt-port', kind: 'int', default: '1883', help: 'embedded MQTT broker port (0 = any free port)' },
  { key: 'mqttsPort', flag: 'mqtts-port', kind: 'int', default: '8883', help: 'MQTT over TLS port, used when --tls-cert is set' },
  { key: 'dataDir', flag: 'data-dir', kind: 'string', default: './data', help: 'directory of the SQLite database (halyard.db)' },
  {
    key: 'store',
    flag: 'store',
    kind: 'optional-string',
    default: undefined,
    help: 'postgres://user:pass@host:5432/db to store in PostgreSQL (default: SQLite in --data-dir)',
  },
  {
    key: 'cluster',
    flag: 'cluster',
    kind: 'optional-string',
    default: undefined,
    help: 'redis://host:6379 to run as one node of a cluster sharing that Redis (needs --store postgres://...)',
  },
  {
    key: 'nodeId',
    flag: 'node-id',
    kind: 'optional-string',
    default: undefined,
    help: "this node's name in the cluster (default: host name and pid)",
  },
  { key: 'tlsCert', flag: 'tls-cert', kind: 'optional-string', default: undefined, help: 'PEM certificate: serve https/wss (and mqtts)' },
  { key: 'tlsKey', flag: 'tls-key', kind: 'optional-string', default: undefined, help: 'PEM private key for --tls-cert' },
  { key: 'pingInterval', flag: 'ping-interval', kind: 'duration', default: '30s', help: 'WebSocket ping interval per device' },
  { key: 'pingTimeout', flag: 'ping-timeout', kind: 'duration', default: '10s', help: 'silence after a ping before a device is dropped' },
  { key: 'helloTimeout', flag: 'hello-timeout', kind: 'duration', default: '10s', help: 'time a new connection has to send HELLO' },
  {
    key: 'welcomeWait',
    flag: 'welcome-wait',
    kind: 'duration',
    default: '15s',
    help: 'longest WELCOME waits for frames of an earlier connection to be stored (then 1011)',
  },
  { key: 'maxFrame', flag: 'max-frame', kind: 'size', default: '64KiB', help: 'largest device message' },
  { key: 'deviceRate', flag: 'device-rate', kind: 'int', default: '100', help: 'messages per second per device (throttled beyond)' },
  { key: 'maxConnections', flag: 'max-connections', kind: 'int', default: '100000', help: 'most concurrent device connections' },
  {
    key: 'maxSeriesPerDevice',
    flag: 'max-series-per-device',
    kind: 'int',
    default: '1000',
    help: 'distinct telemetry metrics per device (series); a frame adding more is refused',
  },
  { key: 'retention', flag: 'retention', kind: 'duration', default: '30d', help: 'how long raw telemetry is kept (0 = forever)' },
  {
    key: 'retentionRollups',
    flag: 'retention-rollups',
    kind: 'duration',
    default: '400d',
    help: 'how long 1-minute and 1-hour telemetry rollups are kept (0 = forever)',
  },
  { key: 'bridge', flag: 'bridge', kind: 'list', default: undefined, help: 'outbound MQTT bridge URL (repeatable; env: comma-separated)' },
  { key: 'mqttPrefix', flag: 'mqtt-prefix', kind: 'string', default: 'halyard', help: 'MQTT topic prefix' },
  {
    key: 'mqttConnectTimeout',
    flag: 'mqtt-connect-timeout',
    kind: 'duration',
    default: '5s',
    help: 'time a new MQTT connection has to send CONNECT (then closed)',
  },
  {
    key: 'mqttPendingPerIp',
    flag: 'mqtt-pending-per-ip',
    kind: 'int',
    default: '10',
    help: 'MQTT connections per address not yet logged in (further ones are closed; 0 = no limit)',
  },
  {
    key: 'mqttMaxInflight',
    flag: 'mqtt-max-inflight',
    kind: 'int',
    default: '32',
    help: 'QoS 2 publishes awaiting PUBREL per MQTT client id (beyond: disconnected)',
  },
  {
    key: 'mqttInflightTotal',
    flag: 'mqtt-inflight-total',
    kind: 'int',
    default: '20000',
    help: 'QoS 2 publishes awaiting PUBREL across all MQTT clients, about 300 bytes each (beyond: the publisher is disconnected)',
  },
  {
    key: 'mqttSessionExpiry',
    flag: 'mqtt-session-expiry',
    kind: 'duration',
    default: '1h',
    help: 'how long a persistent (clean=false) MQTT session outlives its connection (0 = ends with it)',
  },
  {
    key: 'mqttMaxSessions',
    flag: 'mqtt-max-sessions',
    kind: 'int',
    default: '100',
    help: 'persistent MQTT sessions one account keeps, connected or away: a new one ends the oldest away, and is refused while all are connected (0 = no limit)',
  },
  {
    key: 'mqttAccountConns',
    flag: 'mqtt-account-conns',
    kind: 'int',
    default: '100',
    help: "MQTT connections one account holds at once, so one cannot take the listener's 1,000 from the others (0 = no limit)",
  },
  {
    key: 'mqttQos',
    flag: 'mqtt-qos',
    kind: 'qos',
    default: '1',
    help: "QoS of the hub's MQTT publications: 0 or 1 for all, or per class (telemetry, events, status, twin, command), e.g. 1,telemetry=0",
  },
  {
    key: 'mqttQueueMessages',
    flag: 'mqtt-queue-messages',
    kind: 'int',
    default: '10000',
    help: 'QoS 1 messages a persistent MQTT session keeps for its client (the oldest is dropped beyond)',
  },
  {
    key: 'mqttQueueBytes',
    flag: 'mqtt-queue-bytes',
    kind: 'size',
    default: '16MiB',
    help: 'bytes (topics and payloads) a persistent MQTT session keeps for its client (the oldest is dropped beyond)',
  },
  {
    key: 'mqttQueueTotal',
    flag: 'mqtt-queue-total',
    kind: 'size',
    default: '256MiB',
    help: "memory all persistent MQTT sessions' queues keep together on this hub, 350 B per message besides topic and payload (beyond, the largest queues drop their oldest)",
  },
  {
    key: 'haDiscovery',
    flag: 'ha-discovery',
    kind: 'boolean-or-string',
    default: undefined,
    help: 'publish Home Assistant discovery (optional prefix, default homeassistant)',
  },
  { key: 'logLevel', flag: 'log-level', kind: 'string', default: 'info', help: 'fatal, error, warn, info, debug, trace or silent' },
  {
    key: 'logFormat',
    flag: 'log-format',
    kind: 'optional-string',
    default: undefined,
    help: 'json or pretty (default: pretty on a terminal, else json)',
  },
  {
    key: 'adminPassword',
    flag: 'admin-password',
    kind: 'optional-string',
    default: undefined,
    help: 'first admin password on an empty database (default: random, printed once)',
  },
  { key: 'hubName', flag: 'hub-name', kind: 'string', default: 'halyard', help: 'name shown in the console' },
  {
    key: 'commitInterval',
    flag: 'commit-interval',
    kind: 'duration',
    default: '5ms',
    help: 'longest wait before a telemetry batch is committed',
  },
  {
    key: 'jobDeadline',
    flag: 'job-deadline',
    kind: 'duration',
    default: '7d',
    help: 'how long a fleet job runs when it gives no deadline; then its unfinished devices and the job end timed_out',
  },
  {
    key: 'jobDeadlineMax',
    flag: 'job-deadline-max',
    kind: 'duration',
    default: '90d',
    help: 'the longest deadline a fleet job may give',
  },
  {
    key: 'webhookRetryFor',
    flag: 'webhook-retry-for',
    kind: 'duration',
    default: '24h',
    help: 'how long a webhook delivery is retried (exponential backoff with jitter) before it is marked failed',
  },
  {
    key: 'webhookQueue',
    flag: 'webhook-queue',
    kind: 'int',
    default: '10000',
    help: 'pending deliveries per webhook; beyond it new ones are dropped (halyard_webhook_dropped_total)',
  },
  {
    key: 'webhookAllow',
    flag: 'webhook-allow',
    kind: 'list',
    default: undefined,
    help: 'addresses or CIDR ranges webhooks may reach although refused by default: loopback, link-local, metadata (repeatable; env: comma-separated)',
  },
  {
    key: 'trustedProxies',
    flag: 'trusted-proxies',
    kind: 'list',
    default: undefined,
    help: 'load balancers (CIDR, repeatable; env: comma-separated) whose X-Forwarded-For and MQTT PROXY protocol headers are believed',
  },
  {
    key: 'consoleDir',
    flag: 'console-dir',
    kind: 'optional-string',
    default: undefined,
    help: 'built web console to serve (default: web-console/dist)',
  },
  // Firmware updates (docs/firmware.md)
  { key: 'firmwareMaxSize', flag: 'firmware-max-size', kind: 'size', default: '64MiB', help: 'largest firmware image an upload may hold' },
  {
    key: 'firmwareMaxTotal',
    flag: 'firmware-max-total',
    kind: 'size',
    default: '2GiB',
    help: 'most bytes all firmware images hold together, uploads in progress included (an upload past it is refused with 507)',
  },
  {
    key: 'firmwareDiskReserve',
    flag: 'firmware-disk-reserve',
    kind: 'size',
    default: '256MiB',
    help: 'free disk under --data-dir a firmware upload must leave, after its size (SQLite store; an upload that would not is refused with 507)',
  },
  {
    key: 'firmwareSigningKey',
    flag: 'firmware-signing-key',
    kind: 'optional-string',
    default: undefined,
    help: "Ed25519 key file firmware is signed with, created on first use (default <data-dir>/firmware-signing-key.pem; 'off' signs nothing)",
  },
];

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export function envName(flag: string): string {
  return `HALYARD_${flag.toUpperCase().replaceAll('-', '_')}`;
}

export function helpText(): string {
  const rows = FLAGS.map((f) => {
    const def = f.default === undefined ? '' : ` (default ${f.default})`;
    return `  --${f.flag.padEnd(16)} ${f.help}${def}\n  ${''.padEnd(18)} env ${envName(f.flag)}`;
  });
  return [
    'usage: halyard-hub [flags]',
    '       halyard-hub migrate-store --from <halyard.db> --to <postgres://…>   (copy a hub to PostgreSQL; --help there)',
    '',
    'Durations: 500ms, 10s, 5m, 1h, 30d. Sizes: bytes, 64KiB, 1MiB.',
    'Precedence: defaults < environment < flags.',
    '',
    ...rows,
    '  --help             this text',
    '',
  ].join('\n');
}

function convert(spec: FlagSpec, raw: string | string[], source: string): unknown {
  const fail = (what: string) => {
    throw new ConfigError(`${source}: ${what} (got ${JSON.stringify(raw)})`);
  };
  const one = Array.isArray(raw) ? (raw[raw.length - 1] ?? '') : raw;
  switch (spec.kind) {
    case 'int': {
      if (!/^\d+$/.test(one.trim())) fail('must be a whole number');
      return Number(one);
    }
    case 'duration': {
      const ms = parseDuration(one);
      if (ms === undefined) fail('must be a duration like 500ms, 10s, 5m, 1h, 30d');
      return ms;
    }
    case 'size': {
      const bytes = parseSize(one);
      if (bytes === undefined) fail('must be a size like 65536 or 64KiB');
      return bytes;
    }
    case 'list': {
      const items = Array.isArray(raw) ? raw : raw.split(',');
      return items.map((s) => s.trim()).filter((s) => s.length > 0);
    }
    case 'qos': {
      const q = parseQos(one);
      if (typeof q === 'string') fail(q);
      return q;
    }
    case 'boolean-or-string':
      return one === '' || one === 'true' ? 'homeassistant' : one === 'false' ? undefined : one;
    default:
      return one;
  }
}

/**
 * Builds the frozen configuration. `argv` are the flags (process.argv.slice(2)),
 * `env` the environment. Throws ConfigError with a message naming the culprit.
 */
export function loadConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  defaults?: { consoleDir?: string },
): Readonly<HubConfig> {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = { help: { type: 'boolean' } };
  for (const f of FLAGS) options[f.flag] = f.kind === 'list' ? { type: 'string', multiple: true } : { type: 'string' };
  // --ha-discovery may stand alone.
  const args = argv.map((a, i) =>
    a === '--ha-discovery' && (argv[i + 1] === undefined || argv[i + 1]?.startsWith('--')) ? '--ha-discovery=true' : a,
  );
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args, options, strict: true, allowPositionals: false });
  } catch (err) {
    throw new ConfigError(`${(err as Error).message.replace(/\. To specify.*$/s, '')}; see --help`);
  }
  const values: Record<string, unknown> = {};
  for (const f of FLAGS) {
    let v: unknown;
    if (f.default !== undefined) v = convert(f, f.default, `default of --${f.flag}`);
    const fromEnv = env[envName(f.flag)];
    if (fromEnv !== undefined && fromEnv !== '') v = convert(f, fromEnv, envName(f.flag));
    const fromFlag = parsed.values[f.flag] as string | string[] | undefined;
    if (fromFlag !== undefined) v = convert(f, fromFlag, `--${f.flag}`);
    values[f.key] = v;
  }
  if (values.bridge === undefined) values.bridge = [];
  if (values.trustedProxies === undefined) values.trustedProxies = [];
  if (values.webhookAllow === undefined) values.webhookAllow = [];
  if (values.consoleDir === undefined) values.consoleDir = defaults?.consoleDir;
  if (values.nodeId === undefined) values.nodeId = defaultNodeId();
  const config = values as unknown as HubConfig;
  validate(config, env);
  return Object.freeze({
    ...config,
    bridge: Object.freeze([...config.bridge]) as string[],
    trustedProxies: Object.freeze([...config.trustedProxies]) as string[],
    webhookAllow: Object.freeze([...config.webhookAllow]) as string[],
  });
}

export function wantsHelp(argv: readonly string[]): boolean {
  return argv.includes('--help') || argv.includes('-h');
}

function validate(c: HubConfig, env: Readonly<Record<string, string | undefined>>): void {
  const bad = (msg: string) => {
    throw new ConfigError(msg);
  };
  for (const [name, port] of [
    ['--port', c.port],
    ['--mqtt-port', c.mqttPort],
    ['--mqtts-port', c.mqttsPort],
  ] as const) {
    if (port > 65535) bad(`${name} must be 0-65535`);
  }
  if ((c.tlsCert === undefined) !== (c.tlsKey === undefined)) bad('--tls-cert and --tls-key go together');
  if (c.pingInterval < 100) bad('--ping-interval must be at least 100ms');
  if (c.pingTimeout < 50) bad('--ping-timeout must be at least 50ms');
  if (c.helloTimeout < 50) bad('--hello-timeout must be at least 50ms');
  if (c.welcomeWait < 50) bad('--welcome-wait must be at least 50ms');
  if (c.maxFrame < 256 || c.maxFrame > 16 * 1024 * 1024) bad('--max-frame must be between 256 bytes and 16MiB');
  if (c.deviceRate < 1) bad('--device-rate must be at least 1');
  if (c.maxConnections < 1) bad('--max-connections must be at least 1');
  if (c.maxSeriesPerDevice < 1) bad('--max-series-per-device must be at least 1');
  if (c.commitInterval > 1000) bad('--commit-interval must be at most 1s');
  if (c.mqttConnectTimeout < 100 || c.mqttConnectTimeout > 600_000) bad('--mqtt-connect-timeout must be between 100ms and 10m');
  if (c.mqttMaxInflight < 1 || c.mqttMaxInflight > 65_535) bad('--mqtt-max-inflight must be 1-65535');
  if (c.mqttInflightTotal < c.mqttMaxInflight) bad('--mqtt-inflight-total must be at least --mqtt-max-inflight');
  if (c.mqttQueueMessages < 1 || c.mqttQueueMessages > 1_000_000) bad('--mqtt-queue-messages must be 1-1000000');
  if (c.mqttQueueBytes < 1024 || c.mqttQueueBytes > 1024 ** 3) bad('--mqtt-queue-bytes must be between 1KiB and 1GiB');
  if (c.mqttQueueTotal < 1024 ** 2 || c.mqttQueueTotal > 64 * 1024 ** 3) bad('--mqtt-queue-total must be between 1MiB and 64GiB');
  if (!/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/.test(c.mqttPrefix)) bad('--mqtt-prefix must be topic levels of letters, digits, _ and -');
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(c.logLevel))
    bad('--log-level must be fatal, error, warn, info, debug, trace or silent');
  if (c.logFormat === undefined) c.logFormat = process.stdout.isTTY && env.NO_COLOR === undefined ? 'pretty' : 'json';
  if (c.logFormat !== 'json' && c.logFormat !== 'pretty') bad('--log-format must be json or pretty');
  if (c.adminPassword !== undefined && c.adminPassword.length < 8) bad('--admin-password must be at least 8 characters');
  if (c.store !== undefined) validateStoreUrl(c.store);
  for (const range of c.trustedProxies) {
    if (parseCidr(range) === undefined)
      bad(`--trusted-proxies: ${JSON.stringify(range)} is not an address or CIDR range (10.0.0.0/8, fd00::/8)`);
  }
  for (const range of c.webhookAllow) {
    if (parseCidr(range) === undefined)
      bad(`--webhook-allow: ${JSON.stringify(range)} is not an address or CIDR range (127.0.0.1, 10.0.0.0/8)`);
  }
  if (c.webhookRetryFor < 1_000) bad('--webhook-retry-for must be at least 1s');
  if (c.jobDeadline < 1_000) bad('--job-deadline must be at least 1s');
  if (c.jobDeadlineMax < c.jobDeadline) bad('--job-deadline-max must be at least --job-deadline');
  if (c.webhookQueue < 1 || c.webhookQueue > 1_000_000) bad('--webhook-queue must be 1-1000000');
  if (c.cluster !== undefined) validateClusterUrl(c.cluster, c.store);
  if (!NODE_ID.test(c.nodeId)) bad('--node-id must be 1-64 letters, digits, ".", "_" or "-"');
  if (c.firmwareMaxSize < 1 || c.firmwareMaxSize > 2 ** 32) bad('--firmware-max-size must be from 1 byte to 4GiB');
  if (c.firmwareMaxTotal < c.firmwareMaxSize || c.firmwareMaxTotal > 2 ** 50)
    bad('--firmware-max-total must be at least --firmware-max-size (and at most 1PiB)');
  if (c.firmwareDiskReserve > 2 ** 50) bad('--firmware-disk-reserve must be at most 1PiB');
  for (const url of c.bridge) {
    if (!/^mqtts?:\/\//.test(url)) bad(`--bridge ${redact(url)}: must be an mqtt:// or mqtts:// URL`);
  }
}

/** --store: a PostgreSQL URL the pg driver can use; absent means SQLite (README, Choosing a store). */
function validateStoreUrl(raw: string): void {
  // Only a scheme://user:password@ form can be redacted; anything else is not echoed (it may hold a password).
  const shown = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? ` ${redact(raw)}` : '';
  const bad = (what: string): never => {
    throw new ConfigError(`--store${shown}: ${what}; leave --store unset for SQLite in --data-dir`);
  };
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  if (url === undefined) throw bad('is not a URL (expected postgres://user:password@host:5432/database)');
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') bad('must be a postgres:// or postgresql:// URL');
  // An empty host and database are allowed: pg falls back to PGHOST, PGDATABASE and the other PG* variables.
  if (url.pathname.length > 1 && !/^\/[^/]+$/.test(url.pathname)) bad('the path must be one database name');
  if (url.port !== '' && (Number(url.port) < 1 || Number(url.port) > 65535)) bad('the port must be 1-65535');
}

/** Node ids go into Redis keys and channel names, logs and metric labels: a short, plain name. */
const NODE_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** Host name and pid, made to fit NODE_ID: unique per process on one machine, readable in logs. */
function defaultNodeId(): string {
  const host =
    hostname()
      .replace(/[^A-Za-z0-9._-]/g, '-')
      .slice(0, 50) || 'hub';
  return `${host}-${process.pid}`;
}

/** --cluster: a Redis URL for ioredis, and only with a PostgreSQL store (README, Running a cluster). */
function validateClusterUrl(raw: string, store: string | undefined): void {
  const shown = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? ` ${redact(raw)}` : '';
  const bad = (what: string): never => {
    throw new ConfigError(`--cluster${shown}: ${what}`);
  };
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  if (url === undefined) throw bad('is not a URL (expected redis://host:6379)');
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') bad('must be a redis:// or rediss:// URL');
  if (url.hostname === '') bad('needs a host (redis://host:6379)');
  if (url.port !== '' && (Number(url.port) < 1 || Number(url.port) > 65535)) bad('the port must be 1-65535');
  const prefix = url.searchParams.get('prefix');
  if (prefix !== null && !/^[A-Za-z0-9._:-]{1,64}$/.test(prefix)) bad('?prefix= must be 1-64 letters, digits, ".", "_", ":" or "-"');
  // Every node must see the same devices, commands and twins: only a shared database gives that.
  if (store === undefined) bad('cluster mode needs a shared PostgreSQL store: add --store postgres://user:pass@host:5432/db');
}

/** A URL with its password hidden, for logs and errors. */
export function redact(url: string): string {
  return url.replace(/(\/\/[^:/@]*:)[^@]*@/, '$1***@');
}
