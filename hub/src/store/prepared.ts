// Prepared statements cached per connection: preparing costs more than running.

import type { Statement } from 'better-sqlite3';
import { HubError, HubErrorCode } from '../errors.js';
import type { Db } from './db.js';

const cache = new WeakMap<Db, Map<string, Statement>>();

/**
 * Refuses (QueueFull, "at most `max` `what`") when `table` already holds `max` rows
 * (`table` may end in a WHERE clause: the rows that count).
 * Called inside the transaction that then inserts: the one writer makes count and
 * insert one step, so two requests never both pass the cap.
 */
export function refuseAtCap(db: Db, table: string, max: number, what: string): void {
  const n = sql(db, `SELECT count(*) FROM ${table}`).pluck().get() as number;
  if (n >= max) throw new HubError(HubErrorCode.QueueFull, `at most ${max} ${what}`);
}

export function sql(db: Db, text: string): Statement {
  let stmts = cache.get(db);
  if (stmts === undefined) {
    stmts = new Map();
    cache.set(db, stmts);
  }
  let s = stmts.get(text);
  if (s === undefined) {
    s = db.prepare(text);
    stmts.set(text, s);
  }
  return s;
}
