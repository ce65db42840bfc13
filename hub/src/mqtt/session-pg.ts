// Persistent MQTT sessions of a cluster in PostgreSQL (README.md § Running a
// cluster, docs/scaling.md): every node reaches them, so a session outlives the
// node that held it. Each session has one holder, the node that delivers to it and
// writes it; every write is conditional on `holder = this node`, so a node that
// lost a session (handed over, or adopted while it was cut off) cannot change it
// any more. Nodes prove they are alive by a heartbeat row (mqtt_session_nodes);
// the sessions of a node whose heartbeat lapsed (NODE_TTL_MS) are adopted by a live
// one (adoptOrphans), row locks deciding who.
//
// Changes are gathered and written together every FLUSH_MS, in one transaction of
// a few multi-row statements whatever the number of messages: a message queued and
// acknowledged in between never reaches the database, and a node killed loses at
// most the last FLUSH_MS of queue changes (a graceful stop loses none), as the
// single hub's SQLite file (session-db.ts).

import type { Client as PgClient, Pool } from '../store/postgres/pool.js';
import { isConnectionFault, pgCode, transaction } from '../store/postgres/pool.js';
import type { QueuedPacket } from './offline-queue.js';
import type { LoadedSession, SessionJournal } from './session-journal.js';

/** ms between writes of session changes: what a killed node can lose. */
export const FLUSH_MS = 50;
/** ms between a node's heartbeats (and its look for orphaned sessions). */
export const HEARTBEAT_MS = 1_000;
/**
 * ms a heartbeat keeps a node alive: its sessions are adopted by another node at
 * most this plus HEARTBEAT_MS (and a commit) after its last heartbeat. Five
 * missed heartbeats: a node busy for a moment keeps its sessions.
 */
export const NODE_TTL_MS = 5_000;
/** ms after a failed write (PostgreSQL away) before the next try. */
const RETRY_AFTER_FAILURE_MS = 1_000;
/** Queued-message changes one transaction writes at most (the rest go in the next, at once). */
const MAX_MESSAGES_PER_WRITE = 10_000;
/** Sessions one look adopts at most (the next look, a heartbeat later, takes more). */
const ADOPT_BATCH = 500;

type Sub = { topic: string; qos: 0 | 1 | 2 };

interface MessageRow {
  client_id: string;
  seq: number;
  topic: string;
  payload: Buffer;
  broker_id: string;
  broker_counter: number;
  message_id: number | null;
}

interface SessionRow {
  client_id: string;
  left_at: number | null;
  dropped: number;
}

/** Changes gathered for the next write. */
class Pending {
  /** Sessions ended (their rows go first, so a session begun again after its end is written again). */
  ended = new Set<string>();
  /** Session rows to write: client id -> when its client left (null: connected). */
  sessions = new Map<string, number | null>();
  dropped = new Map<string, number>();
  /** client id -> topic -> QoS, or null to delete. */
  subs = new Map<string, Map<string, number | null>>();
  /** client id -> seq -> message, or null to delete. */
  messages = new Map<string, Map<number, QueuedPacket | null>>();

  get empty(): boolean {
    return this.ended.size + this.sessions.size + this.dropped.size + this.subs.size + this.messages.size === 0;
  }

  forget(clientId: string): void {
    this.sessions.delete(clientId);
    this.dropped.delete(clientId);
    this.subs.delete(clientId);
    this.messages.delete(clientId);
  }

  /** Moves the messages beyond the first `max` to a Pending of their own (written next). */
  splitMessages(max: number): Pending {
    const rest = new Pending();
    let n = 0;
    for (const [c, m] of this.messages) {
      if (n + m.size <= max) {
        n += m.size;
        continue;
      }
      const keep = new Map<number, QueuedPacket | null>();
      const move = new Map<number, QueuedPacket | null>();
      for (const [seq, p] of m) (n++ < max ? keep : move).set(seq, p);
      if (keep.size > 0) this.messages.set(c, keep);
      else this.messages.delete(c);
      rest.messages.set(c, move);
    }
    return rest;
  }

  /** Puts back what a failed write held, under what came since (newer wins; nothing of a session ended since). */
  restoreUnder(newer: Pending): Pending {
    const endedSince = new Set(newer.ended);
    for (const c of this.ended) {
      // Ended again since, or begun again: the end still goes first.
      newer.ended.add(c);
    }
    for (const [c, v] of this.sessions) if (!newer.sessions.has(c) && !endedSince.has(c)) newer.sessions.set(c, v);
    for (const [c, v] of this.dropped) if (!newer.dropped.has(c) && !endedSince.has(c)) newer.dropped.set(c, v);
    for (const [field, older] of [
      ['subs', this.subs],
      ['messages', this.messages],
    ] as const) {
      for (const [c, m] of older) {
        if (endedSince.has(c)) continue;
        const target = newer[field] as Map<string, Map<unknown, unknown>>;
        let n = target.get(c);
        if (n === undefined) {
          n = new Map();
          target.set(c, n);
        }
        for (const [k, v] of m) if (!n.has(k)) n.set(k, v);
      }
    }
    return newer;
  }
}

export class PgSessionDb implements SessionJournal {
  private pending = new Pending();
  /** Messages this node wrote (or read) and has not deleted: client id -> seqs. */
  private readonly onDisk = new Map<string, Set<number>>();
  /** Messages being written right now: a delete of one of them must be written too. */
  private writing: Pending | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** When the scheduled write runs (Date.now() ms). */
  private due = 0;
  /** After a failed write, no other before this (Date.now() ms). */
  private quietUntil = 0;
  private running: Promise<void> = Promise.resolve();
  private closed = false;

  /** `failed` hears of writes that failed; sessions go on in memory, and the changes are tried again. */
  constructor(
    private readonly pool: Pool,
    /** This node's id (--node-id). */
    readonly node: string,
    private readonly failed: (err: unknown) => void = () => {},
  ) {}

  /** The sessions this node holds (after a restart with the same --node-id). */
  async load(): Promise<LoadedSession[]> {
    await this.heartbeat();
    const rows = await this.query<SessionRow>('SELECT client_id, left_at, dropped FROM mqtt_sessions WHERE holder = $1', [this.node]);
    return this.loadSessions(rows);
  }

  /** Writes this node's heartbeat; true when it had lapsed (other nodes may have adopted its sessions). */
  async heartbeat(): Promise<boolean> {
    const rows = await this.query<{ lapsed: boolean }>(
      `WITH old AS (SELECT alive_until FROM mqtt_session_nodes WHERE node = $1)
       INSERT INTO mqtt_session_nodes (node, alive_until) VALUES ($1, now() + $2 * interval '1 millisecond')
       ON CONFLICT (node) DO UPDATE SET alive_until = excluded.alive_until
       RETURNING coalesce((SELECT alive_until <= now() FROM old), false) AS lapsed`,
      [this.node, NODE_TTL_MS],
    );
    return rows[0]?.lapsed === true;
  }

  /** Client ids of the sessions this node holds in the database. */
  async held(): Promise<Set<string>> {
    const rows = await this.query<{ client_id: string }>('SELECT client_id FROM mqtt_sessions WHERE holder = $1', [this.node]);
    return new Set(rows.map((r) => r.client_id));
  }

  /**
   * Takes over the sessions of nodes whose heartbeat lapsed (killed, host gone, or
   * stopped: a stopping node ends its heartbeat). Row locks decide between nodes
   * looking at once: each session goes to one of them.
   */
  async adoptOrphans(): Promise<LoadedSession[]> {
    const rows = await this.query<SessionRow>(
      `UPDATE mqtt_sessions s SET holder = $1, left_at = coalesce(s.left_at, $2)
       WHERE s.client_id IN (
         SELECT o.client_id FROM mqtt_sessions o JOIN mqtt_session_nodes n ON n.node = o.holder
         WHERE n.alive_until <= now() AND o.holder <> $1
         LIMIT $3 FOR UPDATE OF o SKIP LOCKED)
       RETURNING s.client_id, s.left_at, s.dropped`,
      [this.node, Date.now(), ADOPT_BATCH],
    );
    // Nodes gone for good that hold nothing any more: their rows go.
    if (rows.length === 0) {
      await this.query(
        `DELETE FROM mqtt_session_nodes n WHERE n.alive_until <= now() - interval '1 hour'
         AND NOT EXISTS (SELECT 1 FROM mqtt_sessions s WHERE s.holder = n.node)`,
        [],
      );
    }
    return this.loadSessions(rows);
  }

  /**
   * The session `clientId` for a client connecting here: taken when nobody alive
   * holds it (`taken`), or who holds it (`held`: a live node, or this one), or `none`.
   */
  async claim(clientId: string): Promise<{ taken: LoadedSession } | { held: string } | 'none'> {
    const rows = await this.query<SessionRow>(
      `UPDATE mqtt_sessions s SET holder = $1, left_at = coalesce(s.left_at, $3)
       WHERE s.client_id = $2 AND s.holder <> $1 AND NOT EXISTS (
         SELECT 1 FROM mqtt_session_nodes n WHERE n.node = s.holder AND n.alive_until > now())
       RETURNING s.client_id, s.left_at, s.dropped`,
      [this.node, clientId, Date.now()],
    );
    const [taken] = await this.loadSessions(rows);
    if (taken !== undefined) return { taken };
    const holder = await this.query<{ holder: string }>('SELECT holder FROM mqtt_sessions WHERE client_id = $1', [clientId]);
    return holder[0] === undefined ? 'none' : { held: holder[0].holder };
  }

  /** The subscriptions of a session, whoever holds it (to catch its messages while it is brought here). */
  async subscriptionsOf(clientId: string): Promise<{ topic: string; qos: number }[]> {
    return this.query<{ topic: string; qos: number }>('SELECT topic, qos FROM mqtt_session_subscriptions WHERE client_id = $1', [clientId]);
  }

  /** A session handed to this node by its holder (give there): read it. */
  async received(clientId: string): Promise<LoadedSession | undefined> {
    const rows = await this.query<SessionRow>(
      'SELECT client_id, left_at, dropped FROM mqtt_sessions WHERE client_id = $1 AND holder = $2',
      [clientId, this.node],
    );
    return (await this.loadSessions(rows))[0];
  }

  /** Hands a session this node holds to `node`: its pending changes written first. False when this node did not hold it. */
  async give(clientId: string, node: string): Promise<boolean> {
    await this.flush();
    const rows = await this.query('UPDATE mqtt_sessions SET holder = $3 WHERE client_id = $1 AND holder = $2 RETURNING 1', [
      clientId,
      this.node,
      node,
    ]);
    this.forgetLocal(clientId);
    return rows.length === 1;
  }

  // Sessions and subscriptions change rarely and are written at once (with what
  // else is pending), so other nodes find them; queued messages every FLUSH_MS.

  opened(clientId: string): void {
    this.pending.sessions.set(clientId, null);
    this.schedule(0);
  }

  left(clientId: string, at: number): void {
    this.pending.sessions.set(clientId, at);
    this.schedule(0);
  }

  subscribed(clientId: string, subs: readonly { topic: string; qos: number }[]): Promise<void> {
    // The session row first, as SQLite's journal: a subscription needs its session.
    if (!this.pending.sessions.has(clientId)) this.pending.sessions.set(clientId, null);
    const m = this.mapOf(this.pending.subs, clientId);
    for (const s of subs) m.set(s.topic, s.qos);
    return this.flush();
  }

  unsubscribed(clientId: string, topics: readonly string[]): void {
    const m = this.mapOf(this.pending.subs, clientId);
    for (const t of topics) m.set(t, null);
    this.schedule(0);
  }

  ended(clientId: string): void {
    this.pending.forget(clientId);
    this.pending.ended.add(clientId);
    this.onDisk.delete(clientId);
    this.schedule(0);
  }

  dropCount(clientId: string, dropped: number): void {
    this.pending.dropped.set(clientId, dropped);
    this.schedule();
  }

  put(clientId: string, seq: number, packet: QueuedPacket): void {
    this.mapOf(this.pending.messages, clientId).set(seq, { ...packet });
    this.schedule();
  }

  delete(clientId: string, seq: number): void {
    const beingWritten = this.writing?.messages.get(clientId)?.get(seq);
    const written = this.onDisk.get(clientId)?.has(seq) === true || (beingWritten !== undefined && beingWritten !== null);
    if (written) {
      this.mapOf(this.pending.messages, clientId).set(seq, null);
      this.schedule();
    } else this.pending.messages.get(clientId)?.delete(seq);
  }

  /** Writes every pending change (after any write under way); failures are reported and kept for the next try. */
  flush(): Promise<void> {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.running = this.running.then(async () => {
      // A backlog goes in parts; a part that failed stops it (tried again later).
      while (!this.pending.empty && (await this.write()));
    });
    return this.running;
  }

  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    // Stopping: the heartbeat ends now, so live nodes adopt these sessions at their next look.
    await this.query('UPDATE mqtt_session_nodes SET alive_until = now() WHERE node = $1', [this.node]).catch(this.failed);
  }

  /** Writes one part of what is pending; false when it failed. */
  private async write(): Promise<boolean> {
    if (this.pending.empty) return true;
    const batch = this.pending;
    // A backlog (PostgreSQL slower than the publishing, or back after an outage) goes
    // in parts: one huge statement would hold the event loop while it is built.
    this.pending = batch.splitMessages(MAX_MESSAGES_PER_WRITE);
    this.writing = batch;
    try {
      await transaction(this.pool, 'write mqtt sessions', (c) => writeBatch(c, this.node, batch));
      for (const [clientId, m] of batch.messages) {
        for (const [seq, p] of m) {
          if (p === null) this.onDisk.get(clientId)?.delete(seq);
          else if (!this.pending.ended.has(clientId)) this.diskSet(clientId).add(seq);
        }
      }
      return true;
    } catch (err) {
      // A statement the database refused (not a lost connection, not a deadlock with
      // another node adopting) would fail again: dropped, and said so.
      if (retryable(err)) {
        this.failed(err);
        this.pending = batch.restoreUnder(this.pending);
      } else {
        this.failed(new Error(`a batch of session changes the database refused was dropped: ${(err as Error).message}`, { cause: err }));
      }
      this.quietUntil = Date.now() + RETRY_AFTER_FAILURE_MS;
      if (!this.pending.empty) this.schedule();
      return false;
    } finally {
      this.writing = undefined;
    }
  }

  /** Forgets what this node meant to write for a session it no longer holds. */
  forgetLocal(clientId: string): void {
    this.pending.forget(clientId);
    this.pending.ended.delete(clientId);
    this.onDisk.delete(clientId);
  }

  private async loadSessions(rows: SessionRow[]): Promise<LoadedSession[]> {
    if (rows.length === 0) return [];
    const ids = rows.map((r) => r.client_id);
    const byId = new Map<string, LoadedSession>(
      rows.map((r) => [
        r.client_id,
        { clientId: r.client_id, leftAt: r.left_at ?? undefined, dropped: r.dropped, subscriptions: [], queue: [] },
      ]),
    );
    const subs = await this.query<{ client_id: string; topic: string; qos: 0 | 1 | 2 }>(
      'SELECT client_id, topic, qos FROM mqtt_session_subscriptions WHERE client_id = ANY($1::text[])',
      [ids],
    );
    for (const s of subs) byId.get(s.client_id)?.subscriptions.push({ topic: s.topic, qos: s.qos } satisfies Sub);
    const messages = await this.query<MessageRow>(
      'SELECT * FROM mqtt_session_messages WHERE client_id = ANY($1::text[]) ORDER BY client_id, seq',
      [ids],
    );
    for (const r of messages) {
      this.diskSet(r.client_id).add(r.seq);
      byId.get(r.client_id)?.queue.push({
        seq: r.seq,
        packet: {
          topic: r.topic,
          payload: r.payload,
          qos: 1,
          brokerId: r.broker_id,
          brokerCounter: r.broker_counter,
          messageId: r.message_id ?? undefined,
        },
      });
    }
    return [...byId.values()];
  }

  private async query<R extends object>(text: string, values: unknown[]): Promise<R[]> {
    return (await this.pool.query(text, values)).rows as R[];
  }

  private diskSet(clientId: string): Set<number> {
    let s = this.onDisk.get(clientId);
    if (s === undefined) {
      s = new Set();
      this.onDisk.set(clientId, s);
    }
    return s;
  }

  private mapOf<K, V>(outer: Map<string, Map<K, V>>, clientId: string): Map<K, V> {
    let m = outer.get(clientId);
    if (m === undefined) {
      m = new Map();
      outer.set(clientId, m);
    }
    return m;
  }

  /** Writes pending changes after `ms` (sooner if asked sooner since). */
  private schedule(wanted = FLUSH_MS): void {
    if (this.closed) return;
    const ms = Math.max(wanted, this.quietUntil - Date.now());
    if (this.timer !== undefined) {
      if (ms >= this.due - Date.now()) return;
      clearTimeout(this.timer);
    }
    this.due = Date.now() + ms;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush().catch(this.failed);
    }, ms);
    this.timer.unref();
  }
}

/** SQLSTATEs of a transaction that lost a race with another node's (deadlock, serialization): worth a retry. */
const RACE_CODES = new Set(['40P01', '40001']);

function retryable(err: unknown): boolean {
  if (isConnectionFault(err)) return true;
  const cause = (err as { cause?: unknown }).cause;
  return RACE_CODES.has(pgCode(cause ?? err) ?? '');
}

/**
 * One batch in one transaction: at most seven statements, each taking every row
 * of its kind as arrays (unnest), each touching only sessions `node` holds.
 */
async function writeBatch(c: PgClient, node: string, b: Pending): Promise<void> {
  if (b.ended.size > 0) {
    // Subscriptions and messages go with the session (ON DELETE CASCADE).
    await c.query('DELETE FROM mqtt_sessions WHERE client_id = ANY($2::text[]) AND holder = $1', [node, [...b.ended]]);
  }
  if (b.sessions.size > 0) {
    await c.query(
      `INSERT INTO mqtt_sessions (client_id, holder, left_at)
       SELECT u.c, $1, u.l FROM unnest($2::text[], $3::bigint[]) AS u(c, l)
       ON CONFLICT (client_id) DO UPDATE SET left_at = excluded.left_at WHERE mqtt_sessions.holder = $1`,
      [node, [...b.sessions.keys()], [...b.sessions.values()]],
    );
  }
  if (b.dropped.size > 0) {
    await c.query(
      `UPDATE mqtt_sessions s SET dropped = u.d FROM unnest($2::text[], $3::bigint[]) AS u(c, d)
       WHERE s.client_id = u.c AND s.holder = $1`,
      [node, [...b.dropped.keys()], [...b.dropped.values()]],
    );
  }
  const { put: subPut, del: subDel } = putsAndDeletes(b.subs);
  if (subDel.length > 0) {
    await c.query(
      `DELETE FROM mqtt_session_subscriptions x USING unnest($2::text[], $3::text[]) AS u(c, t), mqtt_sessions s
       WHERE x.client_id = u.c AND x.topic = u.t AND s.client_id = u.c AND s.holder = $1`,
      [node, subDel.map((r) => r[0]), subDel.map((r) => r[1])],
    );
  }
  if (subPut.length > 0) {
    await c.query(
      `INSERT INTO mqtt_session_subscriptions (client_id, topic, qos)
       SELECT u.c, u.t, u.q FROM unnest($2::text[], $3::text[], $4::smallint[]) AS u(c, t, q)
       JOIN mqtt_sessions s ON s.client_id = u.c AND s.holder = $1
       ON CONFLICT (client_id, topic) DO UPDATE SET qos = excluded.qos`,
      [node, subPut.map((r) => r[0]), subPut.map((r) => r[1]), subPut.map((r) => r[2])],
    );
  }
  const { put: msgPut, del: msgDel } = putsAndDeletes(b.messages);
  if (msgDel.length > 0) {
    await c.query(
      `DELETE FROM mqtt_session_messages x USING unnest($2::text[], $3::bigint[]) AS u(c, q), mqtt_sessions s
       WHERE x.client_id = u.c AND x.seq = u.q AND s.client_id = u.c AND s.holder = $1`,
      [node, msgDel.map((r) => r[0]), msgDel.map((r) => r[1])],
    );
  }
  if (msgPut.length > 0) {
    await c.query(
      `INSERT INTO mqtt_session_messages (client_id, seq, topic, payload, broker_id, broker_counter, message_id)
       SELECT u.c, u.q, u.t, u.p, u.b, u.n, u.m
       FROM unnest($2::text[], $3::bigint[], $4::text[], $5::bytea[], $6::text[], $7::bigint[], $8::integer[]) AS u(c, q, t, p, b, n, m)
       JOIN mqtt_sessions s ON s.client_id = u.c AND s.holder = $1
       ON CONFLICT (client_id, seq) DO UPDATE SET message_id = excluded.message_id`,
      [
        node,
        msgPut.map((r) => r[0]),
        msgPut.map((r) => r[1]),
        msgPut.map((r) => r[2].topic),
        msgPut.map((r) => r[2].payload),
        msgPut.map((r) => r[2].brokerId),
        msgPut.map((r) => r[2].brokerCounter),
        msgPut.map((r) => r[2].messageId ?? null),
      ],
    );
  }
}

/** A batch's changes per client (null: deleted) as rows to write and rows to delete. */
function putsAndDeletes<K, V>(
  changes: ReadonlyMap<string, ReadonlyMap<K, V | null>>,
): {
  put: [string, K, V][];
  del: [string, K][];
} {
  const put: [string, K, V][] = [];
  const del: [string, K][] = [];
  for (const [clientId, m] of changes) {
    for (const [key, value] of m) {
      if (value === null) del.push([clientId, key]);
      else put.push([clientId, key, value]);
    }
  }
  return { put, del };
}
