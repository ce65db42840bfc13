// The simulator's configuration: defaults < environment (HALYARD_SIM_*) < flags,
// validated once, then frozen. The one place that reads the environment's settings
// (main.ts hands process.env in). Each flag's variable is HALYARD_SIM_ + the flag in
// upper snake case: --backoff-cap -> HALYARD_SIM_BACKOFF_CAP.

import { isIP } from 'node:net';
import { parseDuration, parseSize } from '@halyard/firmware-protocol';
import { type ChaosOptions, NO_CHAOS } from './chaos/chaos.js';
import { UPDATE_FAULTS, type UpdateFault } from './engine/updater.js';
import { SimError, SimErrorCode } from './errors.js';
import type { ProfileChoice } from './profiles/profile.js';
import { isProfileChoice, PROFILE_CHOICES } from './profiles/registry.js';

export interface SimConfig {
  /** ws[s]://host:port of the hub. */
  hub: string;
  /** Devices to simulate; undefined: 10 with --provision, else every device in the tokens file. */
  count: number | undefined;
  profile: ProfileChoice;
  /** PEM file of a CA to trust for wss. */
  ca: string | undefined;
  /** Skip certificate verification (labs only). */
  insecure: boolean;
  /** Create missing devices through the HTTP API and store their tokens. */
  provision: boolean;
  user: string;
  password: string | undefined;
  /** An operator's API token (from POST /api/v1/login), instead of user/password. */
  apiToken: string | undefined;
  /** JSON file of device tokens: read, and written by --provision. */
  tokens: string;
  /** One device's token, `<id>.<secret>`, instead of a tokens file; '-' reads it from stdin. */
  token: string | undefined;
  /** A file holding one device's token (keeps the secret off the command line and out of `ps`). */
  tokenFile: string | undefined;
  idPrefix: string;
  /** Telemetry messages per second per device; undefined: each profile's own rate. */
  rate: number | undefined;
  /** Records per TELEMETRY; 0: one sample. */
  batch: number;
  rampMs: number;
  backoffBaseMs: number;
  backoffCapMs: number;
  /** Offline buffer per device, messages. */
  buffer: number;
  /** Run this long, then stop and print the summary; 0: until SIGINT/SIGTERM. */
  durationMs: number;
  /** Thermostats overheat, then cool, in cycles this long (ms): a device driven into and out of an alarm; 0: never. */
  overheatMs: number;
  json: boolean;
  /** Status line period when stderr is not a terminal, ms. */
  statusIntervalMs: number;
  sourceAddresses: string[];
  seed: number | undefined;
  chaos: ChaosOptions;
  /** Download speed per device for firmware updates, bytes/s; 0: as fast as the hub answers. */
  updateSpeed: number;
  /** CHUNK_REQUESTs each device keeps outstanding, 1-16 (SPEC.md §12.3). */
  updateWindow: number;
  /** File with the hub's Ed25519 public key (PEM, or the raw 32 bytes in base64): offers are verified with it and unsigned ones refused. */
  updateKey: string | undefined;
  /** A fault for the --chaos-devices share's updates. */
  updateFault: UpdateFault | undefined;
  help: boolean;
}

type Kind = 'string' | 'int' | 'bool' | 'duration' | 'rate' | 'fraction' | 'addresses' | 'size';

interface Flag {
  name: string;
  kind: Kind;
  /** The default as shown in --help (the value itself lives in DEFAULTS). */
  shown: string;
  help: string;
  apply(c: Draft, v: ParsedValue): void;
}

type ParsedValue = string | number | boolean | string[];
type Draft = { -readonly [K in keyof SimConfig]: SimConfig[K] } & { chaos: ChaosOptions };

function defaults(): Draft {
  return {
    hub: 'ws://127.0.0.1:8080',
    count: undefined,
    profile: 'mixed',
    ca: undefined,
    insecure: false,
    provision: false,
    user: 'admin',
    password: undefined,
    apiToken: undefined,
    tokens: 'halyard-sim-tokens.json',
    token: undefined,
    tokenFile: undefined,
    idPrefix: 'sim-',
    rate: undefined,
    batch: 0,
    rampMs: 2_000,
    backoffBaseMs: 1_000,
    backoffCapMs: 60_000,
    buffer: 1_000,
    durationMs: 0,
    overheatMs: 0,
    json: false,
    statusIntervalMs: 5_000,
    sourceAddresses: [],
    seed: undefined,
    chaos: { ...NO_CHAOS },
    updateSpeed: 0,
    updateWindow: 4,
    updateKey: undefined,
    updateFault: undefined,
    help: false,
  };
}

const set =
  <K extends keyof Draft>(key: K) =>
  (c: Draft, v: ParsedValue): void => {
    c[key] = v as Draft[K];
  };
const setChaos =
  <K extends keyof ChaosOptions>(key: K) =>
  (c: Draft, v: ParsedValue): void => {
    c.chaos[key] = v as number;
  };
const flag = (name: string, kind: Kind, shown: string, help: string, apply: Flag['apply']): Flag => ({ name, kind, shown, help, apply });

/** Every flag: name, value kind, default as --help shows it, meaning, where it goes. */
const FLAGS: readonly Flag[] = [
  flag('hub', 'string', 'ws://127.0.0.1:8080', 'the hub, ws://host:port or wss://host:port', set('hub')),
  flag('count', 'int', '10 / all', 'devices to simulate (10 with --provision, else all in the tokens file)', set('count')),
  flag('profile', 'string', 'mixed', `${PROFILE_CHOICES.join(' | ')}`, set('profile')),
  flag('ca', 'string', '-', 'PEM file of the CA that signed the hub certificate (wss)', set('ca')),
  flag('insecure', 'bool', 'false', 'wss without verifying the certificate (labs only)', set('insecure')),
  flag('provision', 'bool', 'false', 'create missing devices through the HTTP API and store their tokens', set('provision')),
  flag('user', 'string', 'admin', 'operator for --provision', set('user')),
  flag('password', 'string', '-', 'operator password for --provision (prefer HALYARD_SIM_PASSWORD)', set('password')),
  flag('api-token', 'string', '-', 'operator API token for --provision, instead of user/password', set('apiToken')),
  flag('tokens', 'string', 'halyard-sim-tokens.json', 'device tokens file (read; written by --provision)', set('tokens')),
  flag('token', 'string', '-', "one device token, <id>.<secret>, instead of a tokens file; '-' reads it from stdin", set('token')),
  flag('token-file', 'string', '-', 'a file holding one device token (off the command line)', set('tokenFile')),
  flag('id-prefix', 'string', 'sim-', 'device ids are <prefix>0001, <prefix>0002, ...', set('idPrefix')),
  flag('rate', 'rate', 'profile', "telemetry messages per device: '2' or '2/s', '30/m', '1/h' (default: the profile's own)", set('rate')),
  flag('batch', 'int', '0', 'records per TELEMETRY, 1-1000 (0: one sample, 2-4 records)', set('batch')),
  flag('ramp', 'duration', '2s', 'start devices evenly over this long', set('rampMs')),
  flag('backoff-base', 'duration', '1s', 'reconnect backoff base (full jitter, SPEC.md §8.3)', set('backoffBaseMs')),
  flag('backoff-cap', 'duration', '60s', 'reconnect backoff cap', set('backoffCapMs')),
  flag('buffer', 'int', '1000', 'offline buffer per device, messages (oldest dropped when full)', set('buffer')),
  flag('duration', 'duration', '0', 'run this long, then print the summary (0: until Ctrl-C)', set('durationMs')),
  flag(
    'overheat',
    'duration',
    '0',
    'thermostats overheat (to ~38 °C, event overheat) then cool (event cooled) in cycles this long, e.g. 2m: drives alarms in and out',
    set('overheatMs'),
  ),
  flag('json', 'bool', 'false', 'print the final summary as JSON on stdout', set('json')),
  flag('status-interval', 'duration', '5s', 'status line period when stderr is not a terminal', set('statusIntervalMs')),
  flag(
    'source-addresses',
    'addresses',
    '-',
    "local addresses to connect from: 'N' for 127.0.0.1-127.0.0.N, or a comma list",
    set('sourceAddresses'),
  ),
  flag('seed', 'int', 'random', 'seed for every random choice (reproducible runs)', set('seed')),
  flag('chaos-disconnect', 'rate', '0', "abrupt disconnects per device, e.g. '1/m'", setChaos('disconnectRate')),
  flag('chaos-silent', 'rate', '0', 'a device goes silent (no pongs, no frames) per device, e.g. 1/h', setChaos('silentRate')),
  flag('chaos-slow', 'duration', '0', 'slow consumer: each downlink message takes this long to read', setChaos('slowMs')),
  flag('chaos-skew', 'duration', '0', 'clock skew: device clocks off by this much (either way); times sent absolute', setChaos('skewMs')),
  flag('chaos-malformed', 'rate', '0', 'malformed frames per device, e.g. 1/m (the hub should close 4400)', setChaos('malformedRate')),
  flag('chaos-storm', 'duration', '0', 'reconnect storm: every device drops and reconnects at once, this often', setChaos('stormEveryMs')),
  flag('chaos-devices', 'fraction', '1', 'share of devices the per-device faults apply to, 0-1', setChaos('fraction')),
  flag(
    'update-speed',
    'size',
    '0',
    "firmware download speed per device, bytes/s: '64KiB', '1MiB' (0: as fast as the hub answers)",
    set('updateSpeed'),
  ),
  flag('update-window', 'int', '4', 'chunk requests each device keeps outstanding during an update, 1-16', set('updateWindow')),
  flag(
    'update-key',
    'string',
    '-',
    "the hub's firmware signing key (PEM or base64 of 32 bytes): verify offers, refuse unsigned ones",
    set('updateKey'),
  ),
  flag('update-fault', 'string', '-', `a fault for the --chaos-devices share's updates: ${UPDATE_FAULTS.join(' | ')}`, set('updateFault')),
  flag('help', 'bool', '', 'show this help', set('help')),
];

const BY_NAME = new Map(FLAGS.map((f) => [f.name, f]));
const RATE_UNITS: Record<string, number> = { s: 1, m: 60, h: 3_600 };

/** Events per second from '2', '2/s', '30/m', '1/h'. */
export function parseRate(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:\/\s*(s|m|h))?\s*$/i.exec(text);
  if (!m) return undefined;
  return Number(m[1]) / (RATE_UNITS[(m[2] ?? 's').toLowerCase()] as number);
}

function parseAddresses(text: string): string[] | undefined {
  if (/^\d+$/.test(text.trim())) {
    const n = Number(text);
    if (n < 1 || n > 254) return undefined;
    return Array.from({ length: n }, (_, i) => `127.0.0.${i + 1}`);
  }
  const list = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  return list.length > 0 && list.every((a) => isIP(a) !== 0) ? list : undefined;
}

function parseValue(flag: Flag, raw: string, source: string): ParsedValue {
  const bad = (what: string): never => {
    throw new SimError(SimErrorCode.Config, `${source}: "${raw}" is not ${what}`);
  };
  switch (flag.kind) {
    case 'string':
      return raw.length > 0 ? raw : bad('a non-empty value');
    case 'bool': {
      const t = raw.toLowerCase();
      if (['1', 'true', 'yes', 'on', ''].includes(t)) return true;
      if (['0', 'false', 'no', 'off'].includes(t)) return false;
      return bad('true or false');
    }
    case 'int':
      return /^\s*\d+\s*$/.test(raw) ? Number(raw) : bad('a whole number');
    case 'duration':
      return parseDuration(raw) ?? bad("a duration such as '500ms', '10s', '5m'");
    case 'rate':
      return parseRate(raw) ?? bad("a rate such as '2', '2/s', '30/m', '1/h'");
    case 'fraction': {
      const n = Number(raw);
      return raw.trim() !== '' && n > 0 && n <= 1 ? n : bad('a share above 0 and at most 1');
    }
    case 'size':
      return parseSize(raw) ?? bad("a size such as '64KiB' or '1MiB'");
    case 'addresses':
      return parseAddresses(raw) ?? bad("'N' (1-254) or a comma list of IP addresses");
  }
}

export function envName(flag: string): string {
  return `HALYARD_SIM_${flag.toUpperCase().replace(/-/g, '_')}`;
}

function validate(c: Draft): void {
  const fail = (message: string): never => {
    throw new SimError(SimErrorCode.Config, message);
  };
  let url: URL | undefined;
  try {
    url = new URL(c.hub);
  } catch {
    fail(`--hub: "${c.hub}" is not a URL`);
  }
  if (url?.protocol !== 'ws:' && url?.protocol !== 'wss:') fail('--hub must start with ws:// or wss://');
  if ((c.ca !== undefined || c.insecure) && url?.protocol !== 'wss:') fail('--ca and --insecure apply to wss:// hubs only');
  if (!isProfileChoice(c.profile)) fail(`--profile must be one of ${PROFILE_CHOICES.join(', ')}`);
  if (c.count !== undefined && (c.count < 1 || c.count > 100_000)) fail('--count must be from 1 to 100000');
  if (c.rate !== undefined && (c.rate <= 0 || c.rate > 10_000)) fail('--rate must be above 0 and at most 10000/s');
  if (c.batch > 1_000) fail('--batch must be at most 1000 (SPEC.md §9: records in a pack)');
  if (c.buffer < 1 || c.buffer > 10_000_000) fail('--buffer must be from 1 to 10000000');
  if (c.backoffBaseMs <= 0 || c.backoffCapMs < c.backoffBaseMs) fail('--backoff-base must be above 0 and at most --backoff-cap');
  if (c.statusIntervalMs < 100) fail('--status-interval must be at least 100ms');
  if (c.token !== undefined && c.tokenFile !== undefined) fail('--token and --token-file do not go together');
  if ((c.token !== undefined || c.tokenFile !== undefined) && c.provision) fail('--token and --provision do not go together');
  if (c.token !== undefined && c.token !== '-' && !isDeviceToken(c.token))
    fail('--token must be <device-id>.<secret>, as provisioning printed it');
  if (c.provision && c.password === undefined && c.apiToken === undefined)
    fail('--provision needs --password (or HALYARD_SIM_PASSWORD) or --api-token');
  if (!/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,50}$/.test(c.idPrefix))
    fail('--id-prefix must be 1-51 characters of A-Z a-z 0-9 _ . : - starting with a letter or digit');
  if (c.seed !== undefined && c.seed > 0xffff_ffff) fail('--seed must fit in 32 bits');
  if (c.updateWindow < 1 || c.updateWindow > 16) fail('--update-window must be from 1 to 16 (SPEC.md §12.3)');
  if (c.updateFault !== undefined && !(UPDATE_FAULTS as readonly string[]).includes(c.updateFault))
    fail(`--update-fault must be one of ${UPDATE_FAULTS.join(', ')}`);
}

/** `<device-id>.<secret>` as provisioning prints it. */
export function isDeviceToken(text: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}\.[A-Za-z0-9_-]{16,128}$/.test(text);
}

function freeze(c: Draft): SimConfig {
  Object.freeze(c.chaos);
  Object.freeze(c.sourceAddresses);
  return Object.freeze(c);
}

/**
 * Builds the configuration from flags (`--name value`, `--name=value`, `--flag` for
 * booleans) over HALYARD_SIM_* variables over defaults. Throws SimError
 * (SIM_ERR_CONFIG) naming the flag or variable at fault.
 */
export function loadConfig(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): SimConfig {
  const c = defaults();
  for (const flag of FLAGS) {
    if (flag.name === 'help') continue;
    const name = envName(flag.name);
    const raw = env[name];
    if (raw !== undefined && raw !== '') flag.apply(c, parseValue(flag, raw, name));
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '-h') {
      c.help = true;
      continue;
    }
    const m = /^--([a-z-]+)(?:=(.*))?$/s.exec(arg);
    const flag = m ? BY_NAME.get(m[1] as string) : undefined;
    if (!m || flag === undefined) throw new SimError(SimErrorCode.Config, `unknown argument "${arg}" (see --help)`);
    let raw = m[2];
    if (raw === undefined) {
      if (flag.kind === 'bool') raw = 'true';
      else {
        const next = argv[i + 1];
        if (next === undefined) throw new SimError(SimErrorCode.Config, `--${flag.name} needs a value`);
        raw = next;
        i++;
      }
    }
    flag.apply(c, parseValue(flag, raw, `--${flag.name}`));
  }
  if (!c.help) validate(c);
  return freeze(c);
}

export function helpText(): string {
  const rows = FLAGS.map((f) => {
    const arg =
      f.kind === 'bool'
        ? `--${f.name}`
        : `--${f.name} <${f.kind === 'duration' ? 'time' : f.kind === 'addresses' ? 'addrs' : f.kind === 'string' ? 'text' : f.kind}>`;
    return { arg, def: f.shown, help: f.help, env: f.name === 'help' ? '' : envName(f.name) };
  });
  const w = Math.max(...rows.map((r) => r.arg.length));
  const dw = Math.max(...rows.map((r) => r.def.length));
  return [
    'halyard-sim: simulated Halyard devices (profiles, faults, load)',
    '',
    'usage: npm run sim -- --hub ws://127.0.0.1:8080 --provision --password <pw> --count 50 --profile mixed',
    '       npm run sim -- --hub ws://127.0.0.1:8080 --tokens devices.json',
    '       halyard-sim --hub wss://hub.example:8443 --token-file device.token',
    '       printf %s "$TOKEN" | halyard-sim --hub ws://hub.lan:8080 --token -',
    '',
    `${'flag'.padEnd(w)}  ${'default'.padEnd(dw)}  meaning`,
    ...rows.map((r) => `${r.arg.padEnd(w)}  ${r.def.padEnd(dw)}  ${r.help}${r.env ? `  [${r.env}]` : ''}`),
    '',
    "Durations: '500ms', '10s', '5m', '1h'. Rates: per second unless '/m' or '/h' is given.",
    'Many devices: raise the open-file limit first (ulimit -n 65536); past ~28k connections',
    'to one hub address, add --source-addresses to spread over 127.0.0.x.',
  ].join('\n');
}
