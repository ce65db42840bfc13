// Operators' dashboards in PostgreSQL (as ../dashboards.ts does in SQLite).

import type { DashboardRecord } from '../dashboards.js';
import type { Queryable } from './pool.js';

interface Row {
  username: string;
  doc: DashboardRecord['doc'];
  updated_at: number;
}

const toRecord = (r: Row): DashboardRecord => ({ username: r.username, doc: r.doc, updatedAt: r.updated_at });

export async function putDashboard(db: Queryable, d: DashboardRecord): Promise<DashboardRecord> {
  await db.query(
    `INSERT INTO dashboards (username, doc, updated_at) VALUES ($1, $2, $3)
     ON CONFLICT (username) DO UPDATE SET doc = excluded.doc, updated_at = excluded.updated_at`,
    [d.username, JSON.stringify(d.doc), d.updatedAt],
  );
  return (await getDashboard(db, d.username)) as DashboardRecord;
}

export async function getDashboard(db: Queryable, username: string): Promise<DashboardRecord | undefined> {
  const r = (await db.query<Row>('SELECT * FROM dashboards WHERE username = $1', [username])).rows[0];
  return r && toRecord(r);
}
