// The data directory and the database file are the hub's alone: they hold every
// password hash, device token hash and reading (SECURITY.md, "Out of scope": protect
// the file). New ones are created private; loose permissions on old ones are fixed
// or reported at start.

import { chmodSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../log.js';

export const DB_FILE = 'halyard.db';
/** SQLite's companions of the database in WAL mode; it gives them the database file's permissions when it creates them. */
const COMPANIONS = ['-wal', '-shm'];

const octal = (mode: number) => `0${(mode & 0o777).toString(8)}`;

/** Creates the directory (0700) and an empty database file (0600) if missing; returns the database's path. */
export function prepareDataDir(dir: string, log: Logger): string {
  const created = mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, DB_FILE);
  // Permissions mean little on Windows; its ACLs are the operator's business.
  if (process.platform === 'win32') return path;
  if (created === undefined) {
    const mode = statSync(dir).mode;
    // A directory the hub did not create may be shared on purpose (say, --data-dir /srv): say so, change nothing.
    if ((mode & 0o077) !== 0) {
      log.warn(
        { dir, mode: octal(mode) },
        `the data directory can be read by other users; the database inside is private, but consider chmod 700 ${dir}`,
      );
    }
  }
  // An empty file is a new database to SQLite, which then creates the -wal and -shm files with the same mode.
  if (!existsSync(path)) writeFileSync(path, '', { flag: 'wx', mode: 0o600 });
  for (const file of [path, ...COMPANIONS.map((suffix) => `${path}${suffix}`)]) {
    if (!existsSync(file)) continue;
    const mode = statSync(file).mode;
    if ((mode & 0o077) === 0) continue;
    // These files are the hub's own (earlier versions created them 0644): tighten, and say so.
    chmodSync(file, 0o600);
    log.warn({ file, was: octal(mode) }, 'made the database file private (0600)');
  }
  return path;
}
