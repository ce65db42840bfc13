// Device twins in PostgreSQL. The document rules (merge patch, limits, versions,
// per-key times) are ../twins.ts's; this file only reads and writes the row, locked
// for the read-modify-write (SELECT … FOR UPDATE), as SQLite's single writer
// serialises it there.

import { type DataMap, encode, type JsonObject, MessageType } from '@halyard/firmware-protocol';
import { dataToJson, jsonToData } from '../../data-json.js';
import { assertDownlinkData } from '../../downlink-data.js';
import { HubError, HubErrorCode } from '../../errors.js';
import { patchDocument, type ReportedOutcome, type TwinState, twinLimitProblem } from '../twins.js';
import { insertEvent } from './events.js';
import type { Queryable } from './pool.js';

interface TwinRow {
  desired: JsonObject;
  desired_version: number;
  desired_updated: Record<string, number>;
  reported: JsonObject;
  reported_version: number;
  reported_updated: Record<string, number>;
}

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
  const r = (await db.query<TwinRow>(`SELECT * FROM twins WHERE device = $1${lock ? ' FOR UPDATE' : ''}`, [device])).rows[0];
  if (r === undefined) return { desired: {}, desiredVersion: 0, desiredUpdated: {}, reported: {}, reportedVersion: 0, reportedUpdated: {} };
  return {
    desired: r.desired,
    desiredVersion: r.desired_version,
    desiredUpdated: r.desired_updated,
    reported: r.reported,
    reportedVersion: r.reported_version,
    reportedUpdated: r.reported_updated,
  };
}

async function writeTwin(db: Queryable, device: number, t: TwinState): Promise<void> {
  await db.query(
    `INSERT INTO twins (device, desired, desired_version, desired_updated, reported, reported_version, reported_updated)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (device) DO UPDATE SET desired = excluded.desired, desired_version = excluded.desired_version,
       desired_updated = excluded.desired_updated, reported = excluded.reported, reported_version = excluded.reported_version,
       reported_updated = excluded.reported_updated`,
    [
      device,
      JSON.stringify(t.desired),
      t.desiredVersion,
      JSON.stringify(t.desiredUpdated),
      JSON.stringify(t.reported),
      t.reportedVersion,
      JSON.stringify(t.reportedUpdated),
    ],
  );
}

/** REPORTED from a device, in an ingest transaction: applied unless the result would break the limits (SPEC.md §7.2). */
export async function applyReported(db: Queryable, device: number, patch: DataMap, now: number): Promise<ReportedOutcome> {
  const twin = await readTwin(db, device, true);
  const p = patchDocument(twin.reported, dataToJson(patch) as JsonObject, twin.reportedUpdated, now);
  const problem = twinLimitProblem(p.doc);
  if (problem !== undefined) {
    await insertEvent(db, { device, name: 'twin.reported_rejected', level: 2, data: { reason: problem }, time: now, receivedAt: now });
    return { device, applied: false, changed: [], version: twin.reportedVersion, reported: twin.reported, reason: problem };
  }
  if (p.changed.length === 0) return { device, applied: true, changed: [], version: twin.reportedVersion, reported: twin.reported };
  twin.reported = p.doc;
  twin.reportedUpdated = p.updated;
  twin.reportedVersion++;
  await writeTwin(db, device, twin);
  return { device, applied: true, changed: p.changed, version: twin.reportedVersion, reported: twin.reported };
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
  if (ifMatch !== undefined && ifMatch !== twin.desiredVersion) {
    throw new HubError(HubErrorCode.VersionMismatch, `desired is at version ${twin.desiredVersion}, not ${ifMatch}; reload and retry`);
  }
  const p = patchDocument(twin.desired, patch, twin.desiredUpdated, now);
  if (p.changed.length === 0) return twin;
  assertDownlinkData(p.doc, 'desired');
  const problem = twinLimitProblem(p.doc);
  if (problem !== undefined) throw new HubError(HubErrorCode.TooLarge, problem, { field: 'desired' });
  const size = encode({ type: MessageType.Desired, version: twin.desiredVersion + 1, desired: jsonToData(p.doc) as never }).length;
  if (size > maxFrame) {
    throw new HubError(HubErrorCode.TooLarge, `the DESIRED message would be ${size} bytes; devices accept at most ${maxFrame}`, {
      field: 'desired',
    });
  }
  twin.desired = p.doc;
  twin.desiredUpdated = p.updated;
  twin.desiredVersion++;
  await writeTwin(db, device, twin);
  return twin;
}
