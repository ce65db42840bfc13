// The local file of device tokens: what --provision writes and a later run reuses.
// Tokens are grouped by hub (API base URL), so one file can serve several hubs and a
// hub's tokens are never sent to another. The file holds secrets: written 0600,
// atomically (temp file + rename), so a crash never leaves half a file.
//
//   { "version": 1, "hubs": { "http://127.0.0.1:8080/api/v1": { "sim-0001": "sim-0001.Yx3k..." } } }
//
// Hand-written files may also be a plain list: [{ "id": "...", "token": "..." }].

import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { isDeviceId } from '@halyard/firmware-protocol';
import { SimError, SimErrorCode } from '../errors.js';

export type TokenMap = Map<string, string>;

export interface TokensFile {
  version: 1;
  hubs: Record<string, Record<string, string>>;
}

function invalid(path: string, why: string): never {
  throw new SimError(SimErrorCode.TokensFile, `${path}: ${why}`);
}

function checkEntry(path: string, id: unknown, token: unknown): asserts id is string {
  if (!isDeviceId(id)) invalid(path, `"${String(id)}" is not a device id`);
  if (typeof token !== 'string' || !token.startsWith(`${id}.`)) invalid(path, `the token of "${id}" is not "<id>.<secret>"`);
}

/** Reads the file; a missing file is an empty one. */
export async function readTokensFile(path: string): Promise<TokensFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, hubs: {} };
    throw new SimError(SimErrorCode.TokensFile, `${path}: ${(err as Error).message}`, { cause: err });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new SimError(SimErrorCode.TokensFile, `${path}: not JSON (${(err as Error).message})`, { cause: err });
  }
  if (Array.isArray(data)) {
    const devices: Record<string, string> = {};
    for (const e of data as { id?: unknown; token?: unknown }[]) {
      checkEntry(path, e?.id, e?.token);
      devices[e.id as string] = e.token as string;
    }
    return { version: 1, hubs: { '*': devices } };
  }
  const file = data as Partial<TokensFile> | null;
  if (file === null || typeof file !== 'object' || file.version !== 1 || typeof file.hubs !== 'object' || file.hubs === null) {
    invalid(path, 'expected {"version": 1, "hubs": {...}} or a list of {id, token}');
  }
  for (const devices of Object.values(file.hubs)) {
    if (typeof devices !== 'object' || devices === null) invalid(path, 'each hub maps device ids to tokens');
    for (const [id, token] of Object.entries(devices)) checkEntry(path, id, token);
  }
  return file as TokensFile;
}

/**
 * The tokens for `hub`: its own entry, else (for hand-written lists, or a file made
 * against the same hub under another name) the file's only entry.
 */
export function tokensFor(file: TokensFile, hub: string): TokenMap {
  const own = file.hubs[hub];
  if (own !== undefined) return new Map(Object.entries(own));
  const all = Object.values(file.hubs);
  return all.length === 1 ? new Map(Object.entries(all[0] as Record<string, string>)) : new Map();
}

export async function writeTokensFile(path: string, file: TokensFile): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(tmp, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
    await rename(tmp, path);
  } catch (err) {
    throw new SimError(SimErrorCode.TokensFile, `${path}: cannot write (${(err as Error).message})`, { cause: err });
  }
}
