// What the command service's unit tests share (hub/src/commands/service.test.ts,
// cluster-mode.test.ts): a real SQLite store in a temp dir with the hub's config for
// it, a logger that writes nowhere, and a stand-in for a device's socket.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Message } from '@halyard/firmware-protocol';
import { type HubConfig, loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';

/** Stands in for a device's socket: records what the hub sends; `open` false refuses sends like a closed socket. */
export class FakeSession {
  open = true;
  readonly sent: Message[] = [];
  get isOpen(): boolean {
    return this.open;
  }
  send(m: Message): boolean {
    if (!this.open) return false;
    this.sent.push(m);
    return true;
  }
}

/** A logger at warn that writes nowhere. */
export const quietLog = () =>
  createLogger(
    { logLevel: 'warn', logFormat: 'json' },
    new Writable({
      write(_c, _e, cb) {
        cb();
      },
    }),
  );

export interface CommandStore {
  dir: string;
  config: Readonly<HubConfig>;
  store: SqliteStore;
  /** Closes the store and removes the dir. */
  close(): Promise<void>;
}

/** A SQLite store in a fresh temp dir (`halyard-<name>-…`), with the config of `--data-dir <dir>` and `flags`. */
export async function openCommandStore(name: string, flags: readonly string[] = []): Promise<CommandStore> {
  const dir = mkdtempSync(join(tmpdir(), `halyard-${name}-`));
  const config = loadConfig(['--data-dir', dir, ...flags], {});
  const store = await SqliteStore.open<unknown>({
    path: join(dir, 'halyard.db'),
    cacheMiB: 16,
    retentionMs: 0,
    compactIntervalMs: 60_000,
    compactRows: 1_000_000,
    commitIntervalMs: 2,
    maxBatchFrames: 1000,
    maxFrame: config.maxFrame,
  });
  return {
    dir,
    config,
    store,
    async close() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
