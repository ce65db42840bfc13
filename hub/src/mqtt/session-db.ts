// Persistent MQTT sessions on disk, so they survive a hub restart: which
// sessions exist and since when they wait, their subscriptions, and their
// queued QoS 1 messages. A SQLite file of its own in --data-dir (mqtt-sessions.db,
// 0600), whatever --store holds the rest: this is broker state, not the fleet's.
//
// Subscriptions and sessions change rarely and are written at once. Queued
// messages change on every delivery, so their changes are gathered and written
// together every FLUSH_MS: a message queued and acknowledged in between (an online
// client keeping up) never touches the disk, and a crash loses at most the last
// FLUSH_MS of queue changes (a graceful stop loses none).

import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Statement } from 'better-sqlite3';
import { type Db, openDatabase } from '../store/db.js';
import type { QueuedPacket } from './offline-queue.js';
import type { LoadedSession, SessionJournal, StoredSession } from './session-journal.js';

export const SESSION_DB_FILE = 'mqtt-sessions.db';

/** ms between writes of queued-message changes: what a crash can lose. */
export const FLUSH_MS = 50;
/** Queued messages of ended sessions deleted per event-loop turn (a few ms). */
const SWEEP_ROWS = 1_000;
/** ms before a sweep that failed is tried again. */
const SWEEP_RETRY_MS = 1_000;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS sessions (client_id TEXT PRIMARY KEY, left_at INTEGER, dropped INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS subscriptions (
  client_id TEXT NOT NULL, topic TEXT NOT NULL, qos INTEGER NOT NULL, PRIMARY KEY (client_id, topic)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS outgoing (
  seq INTEGER PRIMARY KEY, client_id TEXT NOT NULL, topic TEXT NOT NULL, payload BLOB NOT NULL,
  broker_id TEXT NOT NULL, broker_counter INTEGER NOT NULL, message_id INTEGER
);
CREATE INDEX IF NOT EXISTS outgoing_by_client ON outgoing (client_id, seq);
`;

interface OutgoingRow {
  seq: number;
  client_id: string;
  topic: string;
  payload: Buffer;
  broker_id: string;
  broker_counter: number;
  message_id: number | null;
}

export class SessionDb implements SessionJournal {
  private readonly db: Db;
  private readonly stmt: Record<
    'upsertSession' | 'leave' | 'resume' | 'setDropped' | 'endSession' | 'addSub' | 'delSub' | 'delSubs' | 'putOut' | 'delOut' | 'seqsOf',
    Statement
  >;
  /** Queued-message changes not written yet: the packet to write, or null to delete. */
  private readonly dirty = new Map<number, { clientId: string; packet: QueuedPacket } | null>();
  /** Queued messages written to the file: one that leaves before it was written costs no statement. */
  private readonly onDisk = new Set<number>();
  private readonly droppedDirty = new Map<string, number>();
  /**
   * Queued messages of ended sessions still in the file, by client id: deleted a
   * part per event-loop turn (SWEEP_ROWS), since a session of 10,000 messages took
   * 200 ms at once and a hundred expiring together stalled the hub for half a minute.
   */
  private readonly doomed = new Map<string, number[]>();
  private sweeping: NodeJS.Immediate | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  /**
   * `failed` hears of writes that failed (a full disk):
   * sessions go on in memory, and queue changes are tried again.
   */
  constructor(
    dir: string,
    private readonly failed: (err: unknown) => void = () => {},
  ) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const path = join(dir, SESSION_DB_FILE);
    // Created private; SQLite gives its -wal and -shm files the same mode.
    if (!existsSync(path)) writeFileSync(path, '', { flag: 'wx', mode: 0o600 });
    else if (process.platform !== 'win32') chmodSync(path, 0o600);
    this.db = openDatabase(path, { cacheMiB: 8 });
    this.db.exec(SCHEMA);
    // Subscriptions and messages of sessions that ended while their rows were on their way: nobody's.
    this.db.exec(`DELETE FROM subscriptions WHERE client_id NOT IN (SELECT client_id FROM sessions);
      DELETE FROM outgoing WHERE client_id NOT IN (SELECT client_id FROM sessions);`);
    const p = (sql: string) => this.db.prepare(sql);
    this.stmt = {
      upsertSession: p('INSERT INTO sessions (client_id, left_at) VALUES (?, NULL) ON CONFLICT (client_id) DO UPDATE SET left_at = NULL'),
      leave: p('UPDATE sessions SET left_at = ? WHERE client_id = ?'),
      resume: p('UPDATE sessions SET left_at = NULL WHERE client_id = ?'),
      setDropped: p('UPDATE sessions SET dropped = ? WHERE client_id = ?'),
      endSession: p('DELETE FROM sessions WHERE client_id = ?'),
      addSub: p('INSERT INTO subscriptions (client_id, topic, qos) VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET qos = excluded.qos'),
      delSub: p('DELETE FROM subscriptions WHERE client_id = ? AND topic = ?'),
      delSubs: p('DELETE FROM subscriptions WHERE client_id = ?'),
      putOut: p(
        `INSERT INTO outgoing (seq, client_id, topic, payload, broker_id, broker_counter, message_id) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (seq) DO UPDATE SET message_id = excluded.message_id`,
      ),
      delOut: p('DELETE FROM outgoing WHERE seq = ?'),
      seqsOf: p('SELECT seq FROM outgoing WHERE client_id = ?'),
    };
  }

  async load(): Promise<LoadedSession[]> {
    const byId = new Map(this.sessions().map((s) => [s.clientId, { ...s, queue: [] as LoadedSession['queue'] }]));
    for (const q of this.queued()) byId.get(q.clientId)?.queue.push({ seq: q.seq, packet: q.packet });
    return [...byId.values()];
  }

  /** Every stored session with its subscriptions. */
  sessions(): StoredSession[] {
    const byId = new Map<string, StoredSession>();
    for (const r of this.db.prepare('SELECT client_id, left_at, dropped FROM sessions').all() as {
      client_id: string;
      left_at: number | null;
      dropped: number;
    }[]) {
      byId.set(r.client_id, { clientId: r.client_id, leftAt: r.left_at ?? undefined, dropped: r.dropped, subscriptions: [] });
    }
    for (const r of this.db.prepare('SELECT client_id, topic, qos FROM subscriptions').all() as {
      client_id: string;
      topic: string;
      qos: 0 | 1 | 2;
    }[]) {
      byId.get(r.client_id)?.subscriptions.push({ topic: r.topic, qos: r.qos });
    }
    return [...byId.values()];
  }

  /** Every queued message, oldest first. */
  *queued(): Generator<{ clientId: string; seq: number; packet: QueuedPacket }> {
    for (const r of this.db.prepare('SELECT * FROM outgoing ORDER BY seq').iterate() as IterableIterator<OutgoingRow>) {
      this.onDisk.add(r.seq);
      yield {
        clientId: r.client_id,
        seq: r.seq,
        packet: {
          topic: r.topic,
          payload: r.payload,
          qos: 1,
          brokerId: r.broker_id,
          brokerCounter: r.broker_counter,
          messageId: r.message_id ?? undefined,
        },
      };
    }
  }

  opened(clientId: string): void {
    this.settle(clientId);
    this.write(() => this.stmt.upsertSession.run(clientId));
  }

  left(clientId: string, at: number): void {
    this.write(() => this.stmt.leave.run(at, clientId));
  }

  resumed(clientId: string): void {
    this.write(() => this.stmt.resume.run(clientId));
  }

  subscribed(clientId: string, subs: readonly { topic: string; qos: number }[]): void {
    this.settle(clientId);
    this.write(
      this.db.transaction(() => {
        this.stmt.upsertSession.run(clientId);
        for (const s of subs) this.stmt.addSub.run(clientId, s.topic, s.qos);
      }),
    );
  }

  unsubscribed(clientId: string, topics: readonly string[]): void {
    this.write(
      this.db.transaction(() => {
        for (const t of topics) this.stmt.delSub.run(clientId, t);
      }),
    );
  }

  /**
   * The session and everything it held are gone: its row and subscriptions at once,
   * its queued messages in parts (`doomed`). Rows left by a crash meanwhile belong
   * to no session and are deleted at the next start.
   */
  ended(clientId: string): void {
    // Its changes not written yet never will be.
    for (const [seq, change] of this.dirty) if (change !== null && change.clientId === clientId) this.dirty.delete(seq);
    this.droppedDirty.delete(clientId);
    let seqs: { seq: number }[] = [];
    this.write(
      this.db.transaction(() => {
        this.stmt.endSession.run(clientId);
        this.stmt.delSubs.run(clientId);
        seqs = this.stmt.seqsOf.all(clientId) as { seq: number }[];
      }),
    );
    if (seqs.length === 0) return;
    const doomed = this.doomed.get(clientId) ?? [];
    for (const r of seqs) doomed.push(r.seq);
    this.doomed.set(clientId, doomed);
    this.sweep();
  }

  /** A session of this client id begins: rows of its ended one go first, so they are never taken for the new one's. */
  private settle(clientId: string): void {
    const doomed = this.doomed.get(clientId);
    if (doomed === undefined) return;
    this.doomed.delete(clientId);
    this.deleteRows(doomed);
  }

  private sweep(): void {
    if (this.sweeping !== undefined || this.closed) return;
    this.sweeping = setImmediate(() => {
      this.sweeping = undefined;
      const next = this.doomed.entries().next();
      if (next.done === true) return;
      const [clientId, seqs] = next.value;
      const part = seqs.splice(0, SWEEP_ROWS);
      if (this.deleteRows(part)) {
        if (seqs.length === 0) this.doomed.delete(clientId);
        this.sweep();
        return;
      }
      // Not written (a full disk?): kept, and tried again in a while rather than at once.
      seqs.unshift(...part);
      setTimeout(() => this.sweep(), SWEEP_RETRY_MS).unref();
    });
  }

  /** Deletes queued messages by sequence number in one transaction; false (kept for a retry) when it failed. */
  private deleteRows(seqs: readonly number[]): boolean {
    const done = this.write(
      this.db.transaction(() => {
        for (const seq of seqs) this.stmt.delOut.run(seq);
      }),
    );
    if (done) for (const seq of seqs) this.onDisk.delete(seq);
    return done;
  }

  dropCount(clientId: string, dropped: number): void {
    this.droppedDirty.set(clientId, dropped);
    this.schedule();
  }

  put(clientId: string, seq: number, packet: QueuedPacket): void {
    this.dirty.set(seq, { clientId, packet });
    this.schedule();
  }

  delete(_clientId: string, seq: number): void {
    if (!this.onDisk.has(seq)) {
      this.dirty.delete(seq);
      return;
    }
    this.dirty.set(seq, null);
    this.schedule();
  }

  /** Writes every pending change now. */
  flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.closed || (this.dirty.size === 0 && this.droppedDirty.size === 0)) return;
    const written = this.write(
      this.db.transaction(() => {
        for (const [seq, change] of this.dirty) {
          if (change === null) this.stmt.delOut.run(seq);
          else {
            const p = change.packet;
            this.stmt.putOut.run(seq, change.clientId, p.topic, p.payload, p.brokerId, p.brokerCounter, p.messageId ?? null);
          }
        }
        for (const [clientId, dropped] of this.droppedDirty) this.stmt.setDropped.run(dropped, clientId);
      }),
    );
    // Not written (the disk is full?): kept, and tried again. The changes are bounded by the queues' bounds.
    if (!written) {
      this.schedule();
      return;
    }
    for (const [seq, change] of this.dirty) {
      if (change === null) this.onDisk.delete(seq);
      else this.onDisk.add(seq);
    }
    this.dirty.clear();
    this.droppedDirty.clear();
  }

  /** Runs a write; false (and `failed` told) when it threw. */
  private write(fn: () => unknown): boolean {
    try {
      fn();
      return true;
    } catch (err) {
      this.failed(err);
      return false;
    }
  }

  async close(): Promise<void> {
    this.flush();
    if (this.sweeping !== undefined) clearImmediate(this.sweeping);
    this.closed = true;
    this.db.close();
  }

  private schedule(): void {
    if (this.timer !== undefined || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, FLUSH_MS);
    this.timer.unref();
  }
}
