#!/usr/bin/env node
// halyard-sim: the command line. Reads the configuration, gets device credentials
// (provisioning through the API or a tokens file), runs the fleet with a live status
// line on stderr, and prints a summary (JSON with --json) when it ends: on Ctrl-C,
// SIGTERM, after --duration, or when every device has stopped for good.

import { spawnSync } from 'node:child_process';
import type { KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { helpText, loadConfig, type SimConfig } from './config.js';
import type { DeviceSpec } from './engine/context.js';
import { type Fleet, startFleet } from './engine/fleet.js';
import { parseUpdateKey } from './engine/update-key.js';
import { isSimError, SimError, SimErrorCode } from './errors.js';
import { profileFor } from './profiles/registry.js';
import { loadDevices, provisionDevices } from './provision/provision.js';
import { readDeviceToken } from './provision/token-source.js';
import { startStatusLine } from './report/status-line.js';
import { formatSummary, summarise } from './report/summary.js';

/** Exit codes: 0 ran, 1 failed at run time (or every device was refused), 2 bad configuration. */
const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_CONFIG = 2;

function say(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** The soft open-file limit, if the shell can tell: each device holds one socket. */
function openFileLimit(): number | undefined {
  const r = spawnSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' });
  const n = Number(r.stdout?.trim());
  return r.status === 0 && Number.isFinite(n) ? n : undefined;
}

async function credentials(config: SimConfig, tls: { ca?: Buffer; insecure: boolean }) {
  const token = await readDeviceToken(config);
  if (token !== undefined) {
    const id = token.slice(0, token.lastIndexOf('.'));
    const devices: DeviceSpec[] = [{ id, token, profile: profileFor(config.profile, 0) }];
    return { devices, renew: undefined };
  }
  if (!config.provision) return { devices: await loadDevices(config.tokens, config.hub, config.count, config.profile), renew: undefined };
  const auth = config.apiToken !== undefined ? { apiToken: config.apiToken } : { user: config.user, password: config.password as string };
  const p = await provisionDevices({
    hub: config.hub,
    count: config.count ?? 10,
    idPrefix: config.idPrefix,
    profile: config.profile,
    auth,
    tls,
    tokensPath: config.tokens,
  });
  say(
    `provisioned ${p.devices.length} devices: ${p.created} created, ${p.reused} reused, ${p.rotated} re-keyed; tokens in ${config.tokens}`,
  );
  return { devices: p.devices, renew: p.renew };
}

/** Resolves when the run should end. */
function untilDone(fleet: Fleet, durationMs: number): Promise<string> {
  return new Promise((resolve) => {
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      // A second Ctrl-C means "now": skip the graceful close.
      if (++signals > 1) process.exit(130);
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    if (durationMs > 0) setTimeout(() => resolve('duration'), durationMs).unref();
    fleet.events.on('stopped', () => {
      if (fleet.stats().states.stopped === fleet.size) resolve('all devices stopped');
    });
  });
}

async function run(config: SimConfig): Promise<number> {
  let ca: Buffer | undefined;
  if (config.ca !== undefined) {
    try {
      ca = await readFile(config.ca);
    } catch (err) {
      throw new SimError(SimErrorCode.Config, `--ca: cannot read ${config.ca} (${(err as Error).message})`, { cause: err });
    }
  }
  const tls = { ...(ca === undefined ? {} : { ca }), insecure: config.insecure };
  let publicKey: KeyObject | undefined;
  if (config.updateKey !== undefined) {
    let text: string;
    try {
      text = await readFile(config.updateKey, 'utf8');
    } catch (err) {
      throw new SimError(SimErrorCode.Config, `--update-key: cannot read ${config.updateKey} (${(err as Error).message})`, { cause: err });
    }
    publicKey = parseUpdateKey(text);
    if (publicKey === undefined) throw new SimError(SimErrorCode.Config, `--update-key: ${config.updateKey} holds no Ed25519 public key`);
  }
  const { devices, renew } = await credentials(config, tls);
  const limit = openFileLimit();
  if (limit !== undefined && limit < devices.length + 64) {
    say(
      `warning: the open-file limit is ${limit}, too low for ${devices.length} devices; run 'ulimit -n ${Math.max(65_536, devices.length * 2)}' first`,
    );
  }
  const specs: DeviceSpec[] = devices;
  const fleet = startFleet({
    hub: config.hub,
    devices: specs,
    profile: config.profile,
    rate: config.rate,
    batch: config.batch,
    rampMs: config.rampMs,
    overheatMs: config.overheatMs,
    backoff: { baseMs: config.backoffBaseMs, capMs: config.backoffCapMs },
    buffer: config.buffer,
    tls,
    sourceAddresses: config.sourceAddresses,
    chaos: config.chaos,
    updates: { speed: config.updateSpeed, window: config.updateWindow, publicKey, fault: config.updateFault },
    seed: config.seed,
    onUnauthorized: renew,
  });
  say(`simulating ${fleet.size} devices (${config.profile}) against ${config.hub}; Ctrl-C to stop`);
  const status = startStatusLine(fleet, process.stderr, config.statusIntervalMs);
  const why = await untilDone(fleet, config.durationMs);
  status.stop();
  const summary = summarise(await fleet.stop());
  say(`stopped: ${why}`);
  if (config.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  else process.stdout.write(`${formatSummary(summary)}\n`);
  // Every device refused for good is a failed run for scripts, not a quiet success.
  const refused = summary.states.stopped - (summary.stopReasons.stopped ?? 0);
  return refused === summary.devices ? EXIT_FAILED : EXIT_OK;
}

async function main(): Promise<number> {
  let config: SimConfig;
  try {
    config = loadConfig(process.argv.slice(2), process.env);
  } catch (err) {
    if (!isSimError(err)) throw err;
    say(`halyard-sim: ${err.message}`);
    return EXIT_CONFIG;
  }
  if (config.help) {
    process.stdout.write(`${helpText()}\n`);
    return EXIT_OK;
  }
  try {
    return await run(config);
  } catch (err) {
    if (!isSimError(err)) throw err;
    say(`halyard-sim: ${err.code}: ${err.message}`);
    return err.code === SimErrorCode.Config ? EXIT_CONFIG : EXIT_FAILED;
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    say(`halyard-sim: unexpected failure: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(EXIT_FAILED);
  },
);
