// Where persistent MQTT sessions are kept so that they outlive the process
// (README.md § MQTT): on a single hub a SQLite file in --data-dir
// (session-db.ts); in a cluster PostgreSQL, which every node reaches
// (session-pg.ts). The session store tells it every change and reads it back at
// start; the journal decides how changes are batched.

import type { QueuedPacket, QueueJournal } from './offline-queue.js';

export interface StoredSession {
  clientId: string;
  /** ms since the epoch the client went away; undefined while connected (then: when the hub stopped). */
  leftAt: number | undefined;
  dropped: number;
  subscriptions: { topic: string; qos: 0 | 1 | 2 }[];
}

/** A session read back with its queue, oldest message first. */
export interface LoadedSession extends StoredSession {
  queue: { seq: number; packet: QueuedPacket }[];
}

export interface SessionJournal extends QueueJournal {
  /** The sessions this process holds, read back at start. */
  load(): Promise<LoadedSession[]>;
  opened(clientId: string): void;
  left(clientId: string, at: number): void;
  /** Resolves once written (a shared journal): the SUBACK waits, so the session exists for every node before its client knows. */
  subscribed(clientId: string, subs: readonly { topic: string; qos: number }[]): void | Promise<void>;
  unsubscribed(clientId: string, topics: readonly string[]): void;
  /** The session and everything it held are gone. */
  ended(clientId: string): void;
  dropCount(clientId: string, dropped: number): void;
  /** Writes what is pending now (resolves once written, where the journal writes in the background). */
  flush(): void | Promise<void>;
  /** Writes what is pending, then lets go of the storage. */
  close(): Promise<void>;
}
