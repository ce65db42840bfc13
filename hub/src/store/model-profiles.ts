// Model profiles (README.md § HTTP API): what operators know of a hardware model,
// one JSON document per model, replaced whole by each write.

import type { ModelProfileDoc } from '@halyard/firmware-protocol';
import type { Db } from './db.js';
import { refuseAtCap, sql } from './prepared.js';

export interface ModelProfileRecord {
  model: string;
  doc: ModelProfileDoc;
  updatedAt: number;
  updatedBy: string;
}

interface Row {
  model: string;
  doc: string;
  updated_at: number;
  updated_by: string;
}

const toRecord = (r: Row): ModelProfileRecord => ({
  model: r.model,
  doc: JSON.parse(r.doc) as ModelProfileDoc,
  updatedAt: r.updated_at,
  updatedBy: r.updated_by,
});

/** Writes a model's profile; a model without one yet is refused (QueueFull) when `max` profiles exist. */
export function putModelProfile(db: Db, p: ModelProfileRecord & { max: number }): ModelProfileRecord {
  return db.transaction(() => {
    if (getModelProfile(db, p.model) === undefined) refuseAtCap(db, 'model_profiles', p.max, 'model profiles');
    sql(
      db,
      `INSERT INTO model_profiles (model, doc, updated_at, updated_by) VALUES (?, ?, ?, ?)
       ON CONFLICT (model) DO UPDATE SET doc = excluded.doc, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
    ).run(p.model, JSON.stringify(p.doc), p.updatedAt, p.updatedBy);
    return getModelProfile(db, p.model) as ModelProfileRecord;
  })();
}

/** Removes a model's profile (its slot under the cap with it); false when it had none. */
export function deleteModelProfile(db: Db, model: string): boolean {
  return sql(db, 'DELETE FROM model_profiles WHERE model = ?').run(model).changes > 0;
}

export function getModelProfile(db: Db, model: string): ModelProfileRecord | undefined {
  const r = sql(db, 'SELECT * FROM model_profiles WHERE model = ?').get(model) as Row | undefined;
  return r && toRecord(r);
}

/** By model, in byte order. */
export function listModelProfiles(db: Db): ModelProfileRecord[] {
  return (sql(db, 'SELECT * FROM model_profiles ORDER BY model').all() as Row[]).map(toRecord);
}
