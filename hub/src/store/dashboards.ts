// Operators' dashboards (README.md § Web console): one JSON document per operator,
// replaced whole by each save, gone with the operator (ON DELETE CASCADE).

import type { DashboardDoc } from '@halyard/firmware-protocol';
import type { Db } from './db.js';
import { sql } from './prepared.js';

export interface DashboardRecord {
  username: string;
  doc: DashboardDoc;
  updatedAt: number;
}

interface Row {
  username: string;
  doc: string;
  updated_at: number;
}

const toRecord = (r: Row): DashboardRecord => ({ username: r.username, doc: JSON.parse(r.doc) as DashboardDoc, updatedAt: r.updated_at });

/** OperatorUnknown (by the foreign key) is the caller's to prevent: only a signed-in operator saves. */
export function putDashboard(db: Db, d: DashboardRecord): DashboardRecord {
  sql(
    db,
    `INSERT INTO dashboards (username, doc, updated_at) VALUES (?, ?, ?)
     ON CONFLICT (username) DO UPDATE SET doc = excluded.doc, updated_at = excluded.updated_at`,
  ).run(d.username, JSON.stringify(d.doc), d.updatedAt);
  return getDashboard(db, d.username) as DashboardRecord;
}

export function getDashboard(db: Db, username: string): DashboardRecord | undefined {
  const r = sql(db, 'SELECT * FROM dashboards WHERE username = ?').get(username) as Row | undefined;
  return r && toRecord(r);
}
