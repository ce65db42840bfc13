// The synchronous SessionLookup (../store.ts) on PostgreSQL, whose reads are all
// asynchronous: operators and live sessions in memory, loaded at open and kept by
// the store's own successful writes (`apply`, called after each named operation
// commits), so every request's session check costs no query.
//
// Several hubs may share one database. A write made by another hub reaches this
// memory only through `reload(username)`, which cluster mode would call on the
// other hub's `session.ended` or operator change carried over the bus (bus.ts); a
// session created on another hub is not known here until then. Every entry is keyed
// by operator, so that invalidation is per operator and cheap.

import type { OperatorRecord, SessionLookup, SessionRecord, StoreOpArgs, StoreOpName, StoreOpResult } from '../store.js';
import * as operators from './operators.js';
import type { Queryable } from './pool.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

export class PgSessionLookup implements SessionLookup {
  private readonly operators = new Map<string, OperatorRecord>();
  /** Sessions by token hash (hex). */
  private readonly sessions = new Map<string, SessionRecord>();

  /** Every operator and unexpired session (at open). */
  async load(db: Queryable, now: number): Promise<void> {
    const ops = await operators.listOperators(db);
    const rows = await db.query<{ token_hash: Buffer; username: string; created_at: number; expires_at: number }>(
      'SELECT token_hash, username, created_at, expires_at FROM sessions WHERE expires_at >= $1',
      [now],
    );
    this.operators.clear();
    this.sessions.clear();
    for (const o of ops) this.operators.set(o.username, o);
    for (const r of rows.rows)
      this.sessions.set(hex(r.token_hash), { username: r.username, createdAt: r.created_at, expiresAt: r.expires_at });
  }

  /** One operator and its sessions again, from the database (another hub changed them). */
  async reload(db: Queryable, username: string): Promise<void> {
    const o = await operators.getOperator(db, username);
    const rows = await db.query<{ token_hash: Buffer; created_at: number; expires_at: number }>(
      'SELECT token_hash, created_at, expires_at FROM sessions WHERE username = $1',
      [username],
    );
    this.dropSessionsOf(username);
    if (o === undefined) this.operators.delete(username);
    else this.operators.set(username, o);
    for (const r of rows.rows) this.sessions.set(hex(r.token_hash), { username, createdAt: r.created_at, expiresAt: r.expires_at });
  }

  getSession(tokenHash: Uint8Array): SessionRecord | undefined {
    return this.sessions.get(hex(tokenHash));
  }

  getOperator(username: string): OperatorRecord | undefined {
    return this.operators.get(username);
  }

  /** A named operation committed: mirror what it changed (the same rules as postgres/operators.ts). */
  apply<K extends StoreOpName>(name: K, args: StoreOpArgs<K>, result: StoreOpResult<K>): void {
    switch (name) {
      case 'createOperator':
      case 'updateOperator': {
        const o = result as StoreOpResult<'createOperator'>;
        if (name === 'updateOperator') {
          const { patch } = args as StoreOpArgs<'updateOperator'>;
          if (patch.role !== undefined || patch.disabled || patch.passwordHash !== undefined) this.dropSessionsOf(o.username);
        }
        this.operators.set(o.username, o);
        break;
      }
      case 'deleteOperator': {
        const { username } = args as StoreOpArgs<'deleteOperator'>;
        this.operators.delete(username);
        this.dropSessionsOf(username);
        break;
      }
      case 'createSession': {
        const s = args as StoreOpArgs<'createSession'>;
        this.sessions.set(hex(s.tokenHash), { username: s.username, createdAt: s.createdAt, expiresAt: s.expiresAt });
        break;
      }
      case 'deleteSession':
        this.sessions.delete(hex((args as StoreOpArgs<'deleteSession'>).tokenHash));
        break;
      default:
    }
  }

  /** Forgets sessions expired before `now` (as upkeep deletes them from the table). */
  pruneExpired(now: number): void {
    for (const [k, s] of this.sessions) if (s.expiresAt < now) this.sessions.delete(k);
  }

  private dropSessionsOf(username: string): void {
    for (const [k, s] of this.sessions) if (s.username === username) this.sessions.delete(k);
  }
}
