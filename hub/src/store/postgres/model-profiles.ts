// Model profiles in PostgreSQL (as ../model-profiles.ts does in SQLite).

import type { ModelProfileRecord } from '../model-profiles.js';
import { type Queryable, refuseAtCap } from './pool.js';

interface Row {
  model: string;
  doc: ModelProfileRecord['doc'];
  updated_at: number;
  updated_by: string;
}

const toRecord = (r: Row): ModelProfileRecord => ({ model: r.model, doc: r.doc, updatedAt: r.updated_at, updatedBy: r.updated_by });

/** Transaction advisory lock that makes new profiles count one after another, on every hub ('hlyd' 'modl'). */
const PROFILES_LOCK = [0x686c7964, 0x6d6f646c] as const;

/** Writes a model's profile; a model without one yet is refused (QueueFull) when `max` profiles exist. */
export async function putModelProfile(db: Queryable, p: ModelProfileRecord & { max: number }): Promise<ModelProfileRecord> {
  if ((await getModelProfile(db, p.model)) === undefined) await refuseAtCap(db, PROFILES_LOCK, 'model_profiles', p.max, 'model profiles');
  await db.query(
    `INSERT INTO model_profiles (model, doc, updated_at, updated_by) VALUES ($1, $2, $3, $4)
     ON CONFLICT (model) DO UPDATE SET doc = excluded.doc, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
    [p.model, JSON.stringify(p.doc), p.updatedAt, p.updatedBy],
  );
  return (await getModelProfile(db, p.model)) as ModelProfileRecord;
}

/** Removes a model's profile (its slot under the cap with it); false when it had none. */
export async function deleteModelProfile(db: Queryable, model: string): Promise<boolean> {
  return ((await db.query('DELETE FROM model_profiles WHERE model = $1', [model])).rowCount ?? 0) > 0;
}

export async function getModelProfile(db: Queryable, model: string): Promise<ModelProfileRecord | undefined> {
  const r = (await db.query<Row>('SELECT * FROM model_profiles WHERE model = $1', [model])).rows[0];
  return r && toRecord(r);
}

/** By model, in byte order (COLLATE "C", as SQLite sorts text). */
export async function listModelProfiles(db: Queryable): Promise<ModelProfileRecord[]> {
  return (await db.query<Row>('SELECT * FROM model_profiles ORDER BY model COLLATE "C"')).rows.map(toRecord);
}
