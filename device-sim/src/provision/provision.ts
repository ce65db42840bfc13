// Getting credentials for a fleet: either create the devices through the hub's HTTP
// API with an operator's credentials (--provision), keeping their tokens in the local
// tokens file so the next run reuses them, or read an existing tokens file (--tokens).

import type { DeviceSpec } from '../engine/context.js';
import { SimError, SimErrorCode } from '../errors.js';
import type { ProfileChoice } from '../profiles/profile.js';
import { profileFor } from '../profiles/registry.js';
import { ApiClient, apiBaseFor } from './api-client.js';
import { readTokensFile, tokensFor, writeTokensFile } from './tokens-file.js';

export type OperatorAuth = { user: string; password: string } | { apiToken: string };

export interface ProvisionOptions {
  /** The hub's device channel, ws[s]://host:port; the API is at the same address. */
  hub: string;
  /** How many devices: ids are `<idPrefix>0001` ... */
  count: number;
  idPrefix?: string;
  /** Which profile each device runs (decides its model and tags). Default `mixed`. */
  profile?: ProfileChoice;
  auth: OperatorAuth;
  tls?: { ca?: string | Buffer; insecure?: boolean };
  /** Tokens file to reuse and update; without it nothing is written. */
  tokensPath?: string;
  /** Parallel API requests. */
  concurrency?: number;
}

export interface Provisioned {
  devices: DeviceSpec[];
  created: number;
  /** Devices that existed on the hub without a token in the file: their token was rotated. */
  rotated: number;
  reused: number;
  /** A fresh token for one device (rotate, or create if gone), saved to the file; for FleetOptions.onUnauthorized. */
  renew(id: string): Promise<string | undefined>;
}

/**
 * `sim-0001`, `sim-0002`, ... `sim-10000`: the same id for the same number whatever
 * --count is, so runs of different sizes share devices.
 */
export function deviceIds(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${String(i + 1).padStart(4, '0')}`);
}

/** Orders ids as people count: sim-9999 before sim-10000. */
export function byId(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

async function pool<T>(items: readonly T[], concurrency: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      await work(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

export async function provisionDevices(opts: ProvisionOptions): Promise<Provisioned> {
  const base = apiBaseFor(opts.hub);
  const api = new ApiClient({ base, ca: opts.tls?.ca, insecure: opts.tls?.insecure });
  if ('apiToken' in opts.auth) api.token = opts.auth.apiToken;
  else await api.login(opts.auth.user, opts.auth.password);

  const file = opts.tokensPath === undefined ? { version: 1 as const, hubs: {} } : await readTokensFile(opts.tokensPath);
  // Only this hub's own entry: another hub's tokens would be refused here anyway.
  const tokens = new Map(Object.entries(file.hubs[base] ?? {}));
  const choice = opts.profile ?? 'mixed';
  const ids = deviceIds(opts.idPrefix ?? 'sim-', opts.count);
  let created = 0;
  let rotated = 0;
  let reused = 0;

  // Saves run one after another: several devices may renew their tokens at once.
  let saving: Promise<void> = Promise.resolve();
  const save = (): Promise<void> => {
    const path = opts.tokensPath;
    if (path === undefined) return Promise.resolve();
    const write = (): Promise<void> => {
      file.hubs[base] = Object.fromEntries([...tokens].sort(([a], [b]) => byId(a, b)));
      return writeTokensFile(path, file);
    };
    saving = saving.then(write, write);
    return saving;
  };

  const obtain = async (id: string, index: number): Promise<string | undefined> => {
    const profile = profileFor(choice, index);
    const token = await api.createDevice({ id, name: `${profile} ${index + 1}`, model: `sim-${profile}`, tags: ['sim', profile] });
    if (token !== undefined) {
      created++;
      return token;
    }
    // It exists but this file has no token for it (another file, or a lost one).
    rotated++;
    return api.rotateToken(id);
  };

  try {
    await pool(ids, opts.concurrency ?? 8, async (id, index) => {
      if (tokens.has(id)) {
        reused++;
        return;
      }
      const token = await obtain(id, index);
      if (token === undefined) throw new SimError(SimErrorCode.Api, `device ${id} vanished while provisioning`);
      tokens.set(id, token);
    });
  } finally {
    // Tokens are shown once: keep every one obtained, even when a later request failed.
    await save();
  }

  return {
    devices: ids.map((id, index) => ({ id, token: tokens.get(id) as string, profile: profileFor(choice, index) })),
    created,
    rotated,
    reused,
    renew: async (id) => {
      let token = await api.rotateToken(id);
      if (token === undefined) {
        const index = ids.indexOf(id);
        const profile = profileFor(choice, Math.max(0, index));
        token = await api.createDevice({ id, name: `${profile} ${index + 1}`, model: `sim-${profile}`, tags: ['sim', profile] });
      }
      if (token !== undefined) {
        tokens.set(id, token);
        await save();
      }
      return token;
    },
  };
}

/** Devices from an existing tokens file (no API calls): the first `count`, or all. */
export async function loadDevices(path: string, hub: string, count: number | undefined, profile: ProfileChoice): Promise<DeviceSpec[]> {
  const tokens = tokensFor(await readTokensFile(path), apiBaseFor(hub));
  if (tokens.size === 0)
    throw new SimError(SimErrorCode.TokensShort, `${path} has no device tokens for ${hub}; run with --provision first`);
  const entries = [...tokens].sort(([a], [b]) => byId(a, b));
  if (count !== undefined && entries.length < count) {
    throw new SimError(SimErrorCode.TokensShort, `${path} holds ${entries.length} devices, fewer than --count ${count}; add --provision`);
  }
  return entries.slice(0, count ?? entries.length).map(([id, token], index) => ({ id, token, profile: profileFor(profile, index) }));
}
