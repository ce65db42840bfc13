// Device twins in PostgreSQL. The document rules (merge patch, limits, versions,
// per-key times) are ../twins.ts's; this file only reads and writes the row, locked
// for the read-modify-write (SELECT … FOR UPDATE), as SQLite's single writer
// serialises it there.

import type { DataMap, JsonObject } from '@halyard/firmware-protocol';
import {
  mergeDesired,
  mergeReported,
  type ReportedOutcome,
  reportedRejectedEvent,
  type TwinRow,
  type TwinState,
  twinFromRow,
  twinRowValues,
} from '../twins.js';
import { insertEvent } from './events.js';
import type { Queryable } from './pool.js';

/** `lock`: inside a transaction, hold the row until commit (a twin about to be changed). */
export async function readTwin(db: Queryable, device: number, lock = false): Promise<TwinState> {
  // A row to lock even for a first change: FOR UPDATE on no row locks nothing, and a
  // device's report and an operator's patch arriving together would each write a
  // whole row built from an empty twin, one undoing the other.
  if (lock)
    await db.query(
      `INSERT INTO twins (device, desired, desired_version, desired_updated, reported, reported_version, reported_updated)
       VALUES ($1, '{}', 0, '{}', '{}', 0, '{}') ON CONFLICT (device) DO NOTHING`,
      [device],
    );
  const r = (await db.query<TwinRow<unknown>>(`SELECT * FROM twins WHERE device = $1${lock ? ' FOR UPDATE' : ''}`, [device])).rows[0];
  return twinFromRow(r, (value) => value);
}

async function writeTwin(db: Queryable, device: number, t: TwinState): Promise<void> {
  await db.query(
    `INSERT INTO twins (device, desired, desired_version, desired_updated, reported, reported_version, reported_updated)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (device) DO UPDATE SET desired = excluded.desired, desired_version = excluded.desired_version,
       desired_updated = excluded.desired_updated, reported = excluded.reported, reported_version = excluded.reported_version,
       reported_updated = excluded.reported_updated`,
    twinRowValues(device, t),
  );
}

/** REPORTED from a device, in an ingest transaction: applied unless the result would break the limits (SPEC.md §7.2). */
export async function applyReported(db: Queryable, device: number, patch: DataMap, now: number): Promise<ReportedOutcome> {
  const twin = await readTwin(db, device, true);
  const outcome = mergeReported(twin, device, patch, now);
  if (!outcome.applied) await insertEvent(db, reportedRejectedEvent(device, outcome.reason, now));
  else if (outcome.changed.length > 0) await writeTwin(db, device, twin);
  return outcome;
}

/** As ../twins.ts patchDesired, in a transaction. */
export async function patchDesired(
  db: Queryable,
  device: number,
  patch: JsonObject,
  ifMatch: number | undefined,
  now: number,
  maxFrame: number,
): Promise<TwinState> {
  const twin = await readTwin(db, device, true);
  if (mergeDesired(twin, patch, ifMatch, now, maxFrame)) await writeTwin(db, device, twin);
  return twin;
}
