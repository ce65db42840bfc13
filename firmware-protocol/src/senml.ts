// SenML (RFC 8428) in CBOR: integer labels, base values, relative times (SPEC.md §5.2).

import { type CborValue, isCborObject, LabelMap } from './cbor/decode.js';
import { writeHead, writeNumber, writeValue } from './cbor/encode.js';
import { type Limits, SENML_RELATIVE_LIMIT, timeInRange } from './constants.js';
import { ProtocolError, ProtocolErrorCode } from './errors.js';
import type { ResolvedRecord, SenmlRecord } from './messages.js';
import { SENML_NAME_PATTERN } from './names.js';

/** RFC 8428 §6 Table 4: CBOR labels. */
export const SenmlLabel = {
  bver: -1,
  bn: -2,
  bt: -3,
  bu: -4,
  bv: -5,
  bs: -6,
  n: 0,
  u: 1,
  v: 2,
  vs: 3,
  vb: 4,
  s: 5,
  t: 6,
  ut: 7,
  vd: 8,
} as const;
type SenmlField = keyof typeof SenmlLabel;

const FIELD_BY_LABEL = new Map<number, SenmlField>(Object.entries(SenmlLabel).map(([field, label]) => [label, field as SenmlField]));

const KIND: Record<SenmlField, 'text' | 'number' | 'bool' | 'bytes' | 'version'> = {
  bver: 'version',
  bn: 'text',
  bt: 'number',
  bu: 'text',
  bv: 'number',
  bs: 'number',
  n: 'text',
  u: 'text',
  v: 'number',
  vs: 'text',
  vb: 'bool',
  s: 'number',
  t: 'number',
  ut: 'number',
  vd: 'bytes',
};

/** RFC 8428 §4.4: the SenML version this implementation understands. */
export const SENML_VERSION = 10;

function senmlError(message: string, field: string): ProtocolError {
  return new ProtocolError(ProtocolErrorCode.Senml, message, field);
}

function kindError(field: SenmlField, value: CborValue): string | undefined {
  switch (KIND[field]) {
    case 'text':
      return typeof value === 'string' ? undefined : `${field} must be a text string`;
    case 'number':
      return typeof value === 'number' ? undefined : `${field} must be a number`;
    case 'bool':
      return typeof value === 'boolean' ? undefined : `${field} must be a boolean`;
    case 'bytes':
      return value instanceof Uint8Array ? undefined : `${field} must be a byte string`;
    case 'version':
      if (!Number.isInteger(value) || (value as number) < 1) return 'bver must be a positive integer';
      return (value as number) > SENML_VERSION ? `SenML version ${value} is not supported` : undefined;
  }
}

/** Reads one record's labels into named fields; returns an error message on failure. */
function toRecord(entry: CborValue): SenmlRecord | string {
  if (!(entry instanceof LabelMap)) {
    // A map with text keys only has no SenML fields at all; anything else is not a map.
    return isCborObject(entry) ? 'a record must carry a value (v, vs, vb, vd) or a sum (s)' : 'a record must be a map';
  }
  const r: SenmlRecord = {};
  const { keys, values } = entry;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as number | string;
    const value = values[i] as CborValue;
    if (typeof key === 'string') {
      // RFC 8428 §4.4: labels ending in "_" must be understood; other unknown labels are ignored.
      if (key.endsWith('_')) return `must-understand label "${key}" is not supported`;
      continue;
    }
    const field = FIELD_BY_LABEL.get(key);
    if (field === undefined) return `unknown label ${key}`;
    const err = kindError(field, value);
    if (err !== undefined) return err;
    // Named stores, not r[field]: keeps the record objects in a few fast shapes.
    switch (key) {
      case SenmlLabel.n:
        r.n = value as string;
        break;
      case SenmlLabel.u:
        r.u = value as string;
        break;
      case SenmlLabel.v:
        r.v = value as number;
        break;
      case SenmlLabel.vs:
        r.vs = value as string;
        break;
      case SenmlLabel.vb:
        r.vb = value as boolean;
        break;
      case SenmlLabel.s:
        r.s = value as number;
        break;
      case SenmlLabel.t:
        r.t = value as number;
        break;
      case SenmlLabel.ut:
        r.ut = value as number;
        break;
      case SenmlLabel.vd:
        r.vd = value as Uint8Array;
        break;
      case SenmlLabel.bver:
        r.bver = value as number;
        break;
      case SenmlLabel.bn:
        r.bn = value as string;
        break;
      case SenmlLabel.bt:
        r.bt = value as number;
        break;
      case SenmlLabel.bu:
        r.bu = value as string;
        break;
      case SenmlLabel.bv:
        r.bv = value as number;
        break;
      case SenmlLabel.bs:
        r.bs = value as number;
        break;
    }
  }
  return r;
}

// Names repeat in every pack a device sends: remember each (base name, name) pair
// already checked, which also hands out one flat string per name instead of a fresh
// concatenation per record.
const nameCache = new Map<string, Map<string, string>>();
let cachedNames = 0;
function resolveName(bn: string, n: string | undefined): string | undefined {
  const suffix = n ?? '';
  let byName = nameCache.get(bn);
  const hit = byName?.get(suffix);
  if (hit !== undefined) return hit;
  const name = bn + suffix;
  if (!SENML_NAME_PATTERN.test(name)) return undefined;
  if (cachedNames >= 4096) {
    nameCache.clear();
    cachedNames = 0;
    byName = undefined;
  }
  if (byName === undefined) {
    byName = new Map();
    nameCache.set(bn, byName);
  }
  byName.set(suffix, name);
  cachedNames++;
  return name;
}

/**
 * Validates a decoded CBOR pack and resolves it to absolute records in one pass.
 * `now` (ms since the epoch) anchors relative and missing times.
 */
export function readPack(
  value: CborValue,
  now: number,
  limits: Limits,
  where: string,
): { pack: SenmlRecord[]; records: ResolvedRecord[] } | ProtocolError {
  if (!Array.isArray(value)) return senmlError('a SenML pack must be an array', where);
  if (value.length === 0) return senmlError('a SenML pack must hold at least one record', where);
  if (value.length > limits.maxRecords) return senmlError(`a pack holds at most ${limits.maxRecords} records`, where);
  const pack: SenmlRecord[] = [];
  const records: ResolvedRecord[] = [];
  let bn = '';
  let bt = 0;
  let bu: string | undefined;
  let bv = 0;
  let bs = 0;
  for (let i = 0; i < value.length; i++) {
    const r = toRecord(value[i] as CborValue);
    if (typeof r === 'string') return senmlError(r, `${where}[${i}]`);
    pack.push(r);
    // Base fields apply to this and every later record until replaced (RFC 8428 §4.1).
    if (r.bn !== undefined) bn = r.bn;
    if (r.bt !== undefined) bt = r.bt;
    if (r.bu !== undefined) bu = r.bu;
    if (r.bv !== undefined) bv = r.bv;
    if (r.bs !== undefined) bs = r.bs;
    const name = resolveName(bn, r.n);
    if (name === undefined) {
      return senmlError(`resolved name "${(bn + (r.n ?? '')).slice(0, 140)}" is not a valid SenML name`, `${where}[${i}]`);
    }
    const values = (r.v !== undefined ? 1 : 0) + (r.vs !== undefined ? 1 : 0) + (r.vb !== undefined ? 1 : 0) + (r.vd !== undefined ? 1 : 0);
    if (values > 1) return senmlError('a record carries at most one of v, vs, vb, vd', `${where}[${i}]`);
    if (values === 0 && r.s === undefined) return senmlError('a record must carry a value (v, vs, vb, vd) or a sum (s)', `${where}[${i}]`);
    const resolved: ResolvedRecord = { name, time: resolveTime(r.t === undefined ? bt : bt + r.t, now) };
    const unit = r.u ?? bu;
    if (unit !== undefined) resolved.unit = unit;
    if (r.v !== undefined) resolved.value = bv + r.v;
    else if (r.vs !== undefined) resolved.stringValue = r.vs;
    else if (r.vb !== undefined) resolved.boolValue = r.vb;
    else if (r.vd !== undefined) resolved.dataValue = r.vd;
    if (r.s !== undefined) resolved.sum = bs + r.s;
    // Base plus offset can overflow even when both are finite.
    if (!Number.isFinite(resolved.value ?? 0) || !Number.isFinite(resolved.sum ?? 0)) {
      return senmlError('value out of range after adding its base', `${where}[${i}]`);
    }
    if (!timeInRange(resolved.time)) {
      return senmlError('resolved time is outside 1970-01-01 .. 2200-01-01 (SPEC.md §5.2)', `${where}[${i}]`);
    }
    records.push(resolved);
  }
  return { pack, records };
}

/** SenML seconds to epoch ms: below 2^28 (including negative) relative to `now` (RFC 8428 §4.5.3). */
export function resolveTime(seconds: number, now: number): number {
  return seconds < SENML_RELATIVE_LIMIT ? Math.round(now + seconds * 1000) : Math.round(seconds * 1000);
}

/** Writes a pack as CBOR maps with integer labels in RFC 8949 §4.2.1 deterministic order: 0..8, then -1..-6. */
export function writePack(pack: readonly SenmlRecord[]): void {
  writeHead(4, pack.length);
  for (const r of pack) {
    // Unrolled in ENCODE_ORDER: a loop over field names costs a keyed lookup per field.
    writeHead(
      5,
      (r.n !== undefined ? 1 : 0) +
        (r.u !== undefined ? 1 : 0) +
        (r.v !== undefined ? 1 : 0) +
        (r.vs !== undefined ? 1 : 0) +
        (r.vb !== undefined ? 1 : 0) +
        (r.s !== undefined ? 1 : 0) +
        (r.t !== undefined ? 1 : 0) +
        (r.ut !== undefined ? 1 : 0) +
        (r.vd !== undefined ? 1 : 0) +
        (r.bver !== undefined ? 1 : 0) +
        (r.bn !== undefined ? 1 : 0) +
        (r.bt !== undefined ? 1 : 0) +
        (r.bu !== undefined ? 1 : 0) +
        (r.bv !== undefined ? 1 : 0) +
        (r.bs !== undefined ? 1 : 0),
    );
    if (r.n !== undefined) label(SenmlLabel.n, r.n);
    if (r.u !== undefined) label(SenmlLabel.u, r.u);
    if (r.v !== undefined) label(SenmlLabel.v, r.v);
    if (r.vs !== undefined) label(SenmlLabel.vs, r.vs);
    if (r.vb !== undefined) label(SenmlLabel.vb, r.vb);
    if (r.s !== undefined) label(SenmlLabel.s, r.s);
    if (r.t !== undefined) label(SenmlLabel.t, r.t);
    if (r.ut !== undefined) label(SenmlLabel.ut, r.ut);
    if (r.vd !== undefined) label(SenmlLabel.vd, r.vd);
    if (r.bver !== undefined) label(SenmlLabel.bver, r.bver);
    if (r.bn !== undefined) label(SenmlLabel.bn, r.bn);
    if (r.bt !== undefined) label(SenmlLabel.bt, r.bt);
    if (r.bu !== undefined) label(SenmlLabel.bu, r.bu);
    if (r.bv !== undefined) label(SenmlLabel.bv, r.bv);
    if (r.bs !== undefined) label(SenmlLabel.bs, r.bs);
  }
}

function label(key: number, value: string | number | boolean | Uint8Array): void {
  writeNumber(key);
  writeValue(value);
}
