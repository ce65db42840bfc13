// The cluster's persistent MQTT sessions seen per account, in PostgreSQL
// (session-pg.ts holds the tables): what GET /api/v1/integrators lists through
// any node, who holds a session an admin drops, and --mqtt-max-sessions counted
// across every node when a session begins (README.md § Running a cluster).

import type { Pool } from '../store/postgres/pool.js';
import { transaction } from '../store/postgres/pool.js';

/** A session as PostgreSQL has it: queue figures as of its holder's last write (at most FLUSH_MS old). */
export interface SharedSession {
  clientId: string;
  holder: string;
  /** Whether the holder's heartbeat is current. */
  holderAlive: boolean;
  leftAt: number | undefined;
  messages: number;
  bytes: number;
  dropped: number;
}

/** What beginning a session decided (createSession). */
export type Creation =
  /** The session exists already (this node's or another's): it is resumed, not created. */
  | { kind: 'exists' }
  /** The account has --mqtt-max-sessions connected: refused. */
  | { kind: 'full'; connected: number }
  /** Created, held by this node; `evicted`: the oldest away sessions ended to make room, with their holders. */
  | { kind: 'created'; evicted: { clientId: string; holder: string }[] };

export class SessionAccounts {
  constructor(
    private readonly pool: Pool,
    /** This node's id (--node-id). */
    readonly node: string,
  ) {}

  /** Nodes whose heartbeat is current. */
  async aliveNodes(): Promise<string[]> {
    const r = await this.pool.query<{ node: string }>('SELECT node FROM mqtt_session_nodes WHERE alive_until > now() ORDER BY node');
    return r.rows.map((row) => row.node);
  }

  /** The sessions of these accounts (client ids scoped `account:id`), with their queues. */
  async sessionsOf(accounts: readonly string[]): Promise<SharedSession[]> {
    if (accounts.length === 0) return [];
    const r = await this.pool.query<{
      client_id: string;
      holder: string;
      alive: boolean;
      left_at: string | null;
      dropped: string;
      messages: number;
      bytes: string;
    }>(
      `SELECT s.client_id, s.holder, s.left_at, s.dropped,
              coalesce(n.alive_until > now(), false) AS alive,
              (SELECT count(*)::int FROM mqtt_session_messages m WHERE m.client_id = s.client_id) AS messages,
              (SELECT coalesce(sum(octet_length(m.topic) + octet_length(m.payload)), 0) FROM mqtt_session_messages m
                WHERE m.client_id = s.client_id) AS bytes
       FROM mqtt_sessions s LEFT JOIN mqtt_session_nodes n ON n.node = s.holder
       WHERE EXISTS (SELECT 1 FROM unnest($1::text[]) AS a(name) WHERE starts_with(s.client_id, a.name || ':'))
       ORDER BY s.client_id`,
      [accounts],
    );
    return r.rows.map((row) => ({
      clientId: row.client_id,
      holder: row.holder,
      holderAlive: row.alive,
      leftAt: row.left_at === null ? undefined : Number(row.left_at),
      messages: row.messages,
      bytes: Number(row.bytes),
      dropped: Number(row.dropped),
    }));
  }

  /** Who holds a session, and whether that node is alive; undefined when there is none. */
  async holderOf(clientId: string): Promise<{ holder: string; alive: boolean } | undefined> {
    const r = await this.pool.query<{ holder: string; alive: boolean }>(
      `SELECT s.holder, coalesce(n.alive_until > now(), false) AS alive
       FROM mqtt_sessions s LEFT JOIN mqtt_session_nodes n ON n.node = s.holder WHERE s.client_id = $1`,
      [clientId],
    );
    return r.rows[0];
  }

  /**
   * Deletes a session whose holder is `holder` and not alive (nobody delivers to
   * it); false when it is gone, or was adopted or taken meanwhile.
   */
  async deleteOrphan(clientId: string, holder: string): Promise<boolean> {
    const r = await this.pool.query(
      `DELETE FROM mqtt_sessions s WHERE s.client_id = $1 AND s.holder = $2 AND NOT EXISTS (
         SELECT 1 FROM mqtt_session_nodes n WHERE n.node = s.holder AND n.alive_until > now())`,
      [clientId, holder],
    );
    return (r.rowCount ?? 0) > 0;
  }

  /** Deletes a session row this node holds that its memory does not have (a login that never registered). */
  async deleteMine(clientId: string): Promise<boolean> {
    const r = await this.pool.query('DELETE FROM mqtt_sessions WHERE client_id = $1 AND holder = $2', [clientId, this.node]);
    return (r.rowCount ?? 0) > 0;
  }

  /**
   * Begins the session `clientId` of `account` for a client connecting here, unless
   * one exists: at most `max` sessions per account across the cluster, connected or
   * away (README.md § MQTT). Logins of one account on every node queue on an
   * advisory lock, so the count and the new row are one step: the oldest away
   * sessions beyond the bound are deleted, and while `max` are connected the new one
   * is refused. A session counts as connected when its client left no time and its
   * holder is alive (a dead node's clients are gone).
   */
  async createSession(account: string, clientId: string, max: number): Promise<Creation> {
    return transaction(this.pool, 'begin an mqtt session', async (c) => {
      await c.query("SELECT pg_advisory_xact_lock(hashtext('halyard.mqtt-sessions'), hashtext($1))", [account]);
      const exists = await c.query('SELECT 1 FROM mqtt_sessions WHERE client_id = $1', [clientId]);
      if ((exists.rowCount ?? 0) > 0) return { kind: 'exists' } as const;
      const rows = await c.query<{ client_id: string; holder: string; left_at: string | null; alive: boolean }>(
        `SELECT s.client_id, s.holder, s.left_at, coalesce(n.alive_until > now(), false) AS alive
         FROM mqtt_sessions s LEFT JOIN mqtt_session_nodes n ON n.node = s.holder
         WHERE starts_with(s.client_id, $1 || ':')`,
        [account],
      );
      const connected = rows.rows.filter((r) => r.left_at === null && r.alive).length;
      if (connected >= max) return { kind: 'full', connected } as const;
      // Away sessions, oldest first: those beyond room for the new one end. A dead node's
      // connected one lost its client when the node died: away since then, so counted as just gone
      // (its adopter, too, takes it as gone at adoption).
      const now = Date.now();
      const away = rows.rows
        .filter((r) => !(r.left_at === null && r.alive))
        .sort((a, b) => Number(a.left_at ?? now) - Number(b.left_at ?? now));
      const evicted = away.slice(0, Math.max(0, rows.rows.length + 1 - max)).map((r) => ({ clientId: r.client_id, holder: r.holder }));
      if (evicted.length > 0) {
        await c.query('DELETE FROM mqtt_sessions WHERE client_id = ANY($1::text[])', [evicted.map((e) => e.clientId)]);
      }
      await c.query('INSERT INTO mqtt_sessions (client_id, holder, left_at) VALUES ($1, $2, NULL)', [clientId, this.node]);
      return { kind: 'created', evicted } as const;
    });
  }
}
