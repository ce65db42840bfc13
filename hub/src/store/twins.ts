// Device twins: the desired document (operators, integrators) and the reported one
// (the device, through REPORTED), each with a version that rises on every change
// and per-key change times (SPEC.md §7).

import {
  applyMergePatch,
  type DataMap,
  deepEqual,
  encode,
  encodeCbor,
  type JsonObject,
  type JsonValue,
  MessageType,
} from '@halyard/firmware-protocol';
import { dataToJson, jsonToData } from '../data-json.js';
import { assertDownlinkData } from '../downlink-data.js';
import { HubError, HubErrorCode } from '../errors.js';
import type { Db } from './db.js';
import { insertEvent, type NewEvent } from './events.js';
import { sql } from './prepared.js';

/** SPEC.md §9: a twin document, CBOR-encoded, and its nesting. */
export const TWIN_MAX_BYTES = 16_384;
export const TWIN_MAX_DEPTH = 8;

/** A twins row as either engine returns it; `J` is how it returns a JSON column (SQLite: text, PostgreSQL: parsed). */
export interface TwinRow<J> {
  desired: J;
  desired_version: number;
  desired_updated: J;
  reported: J;
  reported_version: number;
  reported_updated: J;
}

export interface TwinState {
  desired: JsonObject;
  desiredVersion: number;
  desiredUpdated: Record<string, number>;
  reported: JsonObject;
  reportedVersion: number;
  reportedUpdated: Record<string, number>;
}

/** A row as a TwinState (an empty twin for no row); `json` decodes the engine's JSON columns. */
export function twinFromRow<J>(r: TwinRow<J> | undefined, json: (column: J) => unknown): TwinState {
  if (r === undefined) return { desired: {}, desiredVersion: 0, desiredUpdated: {}, reported: {}, reportedVersion: 0, reportedUpdated: {} };
  return {
    desired: json(r.desired) as JsonObject,
    desiredVersion: r.desired_version,
    desiredUpdated: json(r.desired_updated) as Record<string, number>,
    reported: json(r.reported) as JsonObject,
    reportedVersion: r.reported_version,
    reportedUpdated: json(r.reported_updated) as Record<string, number>,
  };
}

/** The values of a twins row to write, in column order: device, desired, desired_version, desired_updated, reported, reported_version, reported_updated. */
export function twinRowValues(device: number, t: TwinState): [number, string, number, string, string, number, string] {
  return [
    device,
    JSON.stringify(t.desired),
    t.desiredVersion,
    JSON.stringify(t.desiredUpdated),
    JSON.stringify(t.reported),
    t.reportedVersion,
    JSON.stringify(t.reportedUpdated),
  ];
}

export function readTwin(db: Db, device: number): TwinState {
  const r = sql(db, 'SELECT * FROM twins WHERE device = ?').get(device) as TwinRow<string> | undefined;
  return twinFromRow(r, (text) => JSON.parse(text));
}

function writeTwin(db: Db, device: number, t: TwinState): void {
  sql(
    db,
    `INSERT INTO twins (device, desired, desired_version, desired_updated, reported, reported_version, reported_updated)
     VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (device) DO UPDATE SET desired = excluded.desired, desired_version = excluded.desired_version,
       desired_updated = excluded.desired_updated, reported = excluded.reported, reported_version = excluded.reported_version,
       reported_updated = excluded.reported_updated`,
  ).run(...twinRowValues(device, t));
}

function depth(v: JsonValue): number {
  if (Array.isArray(v)) return 1 + Math.max(0, ...v.map(depth));
  if (v !== null && typeof v === 'object') return 1 + Math.max(0, ...Object.values(v).map(depth));
  return 0;
}

/** Why a document breaks SPEC.md §9's twin limits, or undefined when it does not. */
export function twinLimitProblem(doc: JsonObject): string | undefined {
  const d = depth(doc);
  if (d > TWIN_MAX_DEPTH) return `the document nests ${d} levels deep; at most ${TWIN_MAX_DEPTH}`;
  const size = encodeCbor(jsonToData(doc)).length;
  if (size > TWIN_MAX_BYTES) return `the document would be ${size} bytes; at most ${TWIN_MAX_BYTES}`;
  return undefined;
}

/** Applies a merge patch; returns the new document and the top-level keys that changed. */
export function patchDocument(
  doc: JsonObject,
  patch: JsonObject,
  updated: Record<string, number>,
  now: number,
): { doc: JsonObject; changed: string[]; updated: Record<string, number> } {
  const next = applyMergePatch(doc, patch) as JsonObject;
  const changed = Object.keys(patch).filter((k) => !deepEqual(doc[k], next[k]));
  const times = { ...updated };
  for (const k of changed) {
    if (Object.hasOwn(next, k)) times[k] = now;
    else delete times[k];
  }
  return { doc: next, changed, updated: times };
}

export interface ReportedOutcome {
  device: number;
  applied: boolean;
  /** Keys whose value changed; empty when the report changed nothing. */
  changed: string[];
  version: number;
  reported: JsonObject;
  reason?: string;
}

/**
 * The engine-neutral part of REPORTED (SPEC.md §7.2): merges `patch` into `twin` (in
 * place) unless the result would break the limits. The caller writes the twin when the
 * outcome is applied with changes, and records the event when it is not applied.
 */
export function mergeReported(twin: TwinState, device: number, patch: DataMap, now: number): ReportedOutcome {
  const p = patchDocument(twin.reported, dataToJson(patch) as JsonObject, twin.reportedUpdated, now);
  const problem = twinLimitProblem(p.doc);
  if (problem !== undefined)
    return { device, applied: false, changed: [], version: twin.reportedVersion, reported: twin.reported, reason: problem };
  if (p.changed.length === 0) return { device, applied: true, changed: [], version: twin.reportedVersion, reported: twin.reported };
  twin.reported = p.doc;
  twin.reportedUpdated = p.updated;
  twin.reportedVersion++;
  return { device, applied: true, changed: p.changed, version: twin.reportedVersion, reported: twin.reported };
}

/** The event recorded for a REPORTED that `mergeReported` refused (`reason`: the outcome's). */
export function reportedRejectedEvent(device: number, reason: string | undefined, now: number): NewEvent {
  return { device, name: 'twin.reported_rejected', level: 2, data: { reason: reason ?? null }, time: now, receivedAt: now };
}

/** REPORTED from a device: applied unless the result would break the limits (SPEC.md §7.2). */
export function applyReported(db: Db, device: number, patch: DataMap, now: number): ReportedOutcome {
  const twin = readTwin(db, device);
  const outcome = mergeReported(twin, device, patch, now);
  if (!outcome.applied) insertEvent(db, reportedRejectedEvent(device, outcome.reason, now));
  else if (outcome.changed.length > 0) writeTwin(db, device, twin);
  return outcome;
}

/**
 * The engine-neutral part of patchDesired: checks `ifMatch` and the result, and merges
 * `patch` into `twin` (in place). Returns whether the twin changed (and is to be written).
 */
export function mergeDesired(twin: TwinState, patch: JsonObject, ifMatch: number | undefined, now: number, maxFrame: number): boolean {
  if (ifMatch !== undefined && ifMatch !== twin.desiredVersion) {
    throw new HubError(HubErrorCode.VersionMismatch, `desired is at version ${twin.desiredVersion}, not ${ifMatch}; reload and retry`);
  }
  const p = patchDocument(twin.desired, patch, twin.desiredUpdated, now);
  if (p.changed.length === 0) return false;
  // A document stored before these checks may hold what no device accepts; it cannot
  // change until a patch removes that, and such a patch passes.
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
  return true;
}

/**
 * Merge-patches the desired document; `ifMatch` is the version the caller last saw.
 * Refuses (storing nothing) a result the device could not receive: over the twin
 * limits, over its decoder's limits, or a DESIRED message over `maxFrame` bytes.
 */
export function patchDesired(
  db: Db,
  device: number,
  patch: JsonObject,
  ifMatch: number | undefined,
  now: number,
  maxFrame: number,
): TwinState {
  const twin = readTwin(db, device);
  if (mergeDesired(twin, patch, ifMatch, now, maxFrame)) writeTwin(db, device, twin);
  return twin;
}
