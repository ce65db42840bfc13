// The opaque cursor of a raw telemetry query (README.md § Data export and
// retention): the query it continues (device, range, names) and, for each metric
// not finished, where its last page ended. Base64url of a small JSON document; not
// secret (it names nothing the reader could not query) and checked on the way in
// like any other input.

import { keyFromJson, keyToJson, type RawPosition } from './raw-order.js';

export interface RawCursor {
  device: string;
  from: number;
  to: number;
  /** The metric names asked for; undefined: all of the device's. */
  names: string[] | undefined;
  /** Metrics read in part, by name, and where to resume. */
  partial: Map<string, RawPosition>;
  /**
   * Metrics not started yet: those named after this one (byte order). A page
   * stops starting new metrics once MAX_PARTIAL are in part, so a cursor stays
   * small whatever the number of metrics. Undefined: none.
   */
  restAfter: string | undefined;
}

/** Most metrics a cursor holds positions for. */
export const MAX_PARTIAL = 32;
/** Longest cursor accepted (characters). */
export const MAX_CURSOR_LENGTH = 12_000;

export function encodeCursor(c: RawCursor): string {
  const doc = {
    v: 1,
    d: c.device,
    f: c.from,
    t: c.to,
    n: c.names ?? null,
    p: [...c.partial].map(([name, p]) => [name, p.ts, keyToJson(p.key), p.skip]),
    r: c.restAfter ?? null,
  };
  return Buffer.from(JSON.stringify(doc)).toString('base64url');
}

const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** The cursor, or undefined when `text` is not one this hub made. */
export function decodeCursor(text: string): RawCursor | undefined {
  if (text.length > MAX_CURSOR_LENGTH) return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof doc !== 'object' || doc === null) return undefined;
  const { v, d, f, t, n, p, r } = doc as Record<string, unknown>;
  if (v !== 1 || typeof d !== 'string' || !isTime(f) || !isTime(t) || f > t) return undefined;
  if (n !== null && !(Array.isArray(n) && n.every((x) => typeof x === 'string'))) return undefined;
  if (r !== null && typeof r !== 'string') return undefined;
  if (!Array.isArray(p) || p.length > MAX_PARTIAL) return undefined;
  const partial = new Map<string, RawPosition>();
  for (const e of p) {
    if (!Array.isArray(e) || e.length !== 4) return undefined;
    const [name, ts, k, skip] = e as unknown[];
    const key = keyFromJson(k);
    if (typeof name !== 'string' || !isTime(ts) || key === undefined || !isTime(skip) || skip < 1) return undefined;
    partial.set(name, { ts, key, skip });
  }
  return { device: d, from: f, to: t, names: n === null ? undefined : (n as string[]), partial, restAfter: r ?? undefined };
}
