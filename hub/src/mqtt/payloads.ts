// What the hub publishes, as bytes: SenML JSON for telemetry (RFC 8428 §5, with
// absolute names and times), events, twins and command statuses as JSON.

import type { CommandInfo, EventInfo, JsonValue, ResolvedRecord, TwinInfo } from '@halyard/firmware-protocol';

interface SenmlJsonRecord {
  n: string;
  /** Seconds since the epoch (RFC 8428 §4.5.3), ms precision. */
  t: number;
  u?: string;
  v?: number;
  vs?: string;
  vb?: boolean;
  /** base64url without padding (RFC 8428 §5). */
  vd?: string;
  s?: number;
}

/** A resolved pack as SenML JSON: every name and time absolute, so no base fields are needed. */
export function senmlJson(records: readonly ResolvedRecord[]): Buffer {
  const out: SenmlJsonRecord[] = records.map((r) => {
    const j: SenmlJsonRecord = { n: r.name, t: r.time / 1000 };
    if (r.unit !== undefined) j.u = r.unit;
    if (r.value !== undefined) j.v = r.value;
    if (r.stringValue !== undefined) j.vs = r.stringValue;
    if (r.boolValue !== undefined) j.vb = r.boolValue;
    if (r.dataValue !== undefined) j.vd = Buffer.from(r.dataValue).toString('base64url');
    if (r.sum !== undefined) j.s = r.sum;
    return j;
  });
  return Buffer.from(JSON.stringify(out));
}

export function eventJson(e: EventInfo): Buffer {
  return Buffer.from(JSON.stringify(e));
}

export function twinDesiredJson(t: TwinInfo): Buffer {
  return Buffer.from(JSON.stringify({ version: t.desiredVersion, desired: t.desired }));
}

export function twinReportedJson(t: TwinInfo): Buffer {
  return Buffer.from(JSON.stringify({ version: t.reportedVersion, reported: t.reported }));
}

export interface CommandStatus {
  /**
   * The creator's idempotency key when it gave one (MQTT `id`, HTTP Idempotency-Key), else
   * the hub's command id; null on a rejected request. Keys belong to their caller, so
   * two callers' commands may share one: `by` and `id` together name a request.
   */
  id: string | null;
  /** The hub's command id; absent when a request was rejected before a command existed. */
  command?: string;
  /** Who asked: `mqtt:<account>`, `bridge:<label>`, or `operator` (HTTP API and console). */
  by: string;
  /**
   * On a rejected request only: the `id` the request carried. Never put in `id`, so that a
   * rejection is never taken for another caller's command of that id.
   */
  request?: string | null;
  status: string;
  result?: JsonValue;
  error?: string;
  /** A HUB_ERR_* code when the request itself was refused. */
  code?: string;
  /** The field of the request at fault, when the refusal names one (e.g. `params.valve.constructor`). */
  field?: string;
  at: number;
}

/**
 * The requester as integrators see it: MQTT and bridge actors as they are (they are
 * integrators' own names); operators' usernames stay inside the hub's API.
 */
export function publicActor(actor: string): string {
  return actor.startsWith('mqtt:') || actor.startsWith('bridge:') ? actor : 'operator';
}

export function commandStatus(c: CommandInfo): CommandStatus {
  const s: CommandStatus = {
    id: c.key ?? c.id,
    command: c.id,
    by: publicActor(c.createdBy),
    status: c.state,
    at: c.history.at(-1)?.at ?? c.createdAt,
  };
  if (c.result !== null) s.result = c.result;
  if (c.error !== null) s.error = c.error;
  return s;
}

/** A refused request, attributed to its requester (`actor`) and never to a command. */
export function rejection(request: string | null, actor: string, code: string, message: string, field?: string): CommandStatus {
  return {
    id: null,
    by: publicActor(actor),
    request,
    status: 'rejected',
    error: message,
    code,
    ...(field === undefined ? {} : { field }),
    at: Date.now(),
  };
}

export function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}
