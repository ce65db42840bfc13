// Prepared statements cached per connection: preparing costs more than running.

import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';

const cache = new WeakMap<Db, Map<string, Statement>>();

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
