// The telemetry chart's time range in the URL (/devices/sim-1/telemetry?range=7d), so a
// shared link opens on the range it was shared with. Only the ranges the picker offers
// parse; anything else is the default, and the default leaves the URL without `range`.

/** The picker's ranges: URL token, button label, width in ms. */
export const RANGES: readonly { token: string; label: string; ms: number }[] = [
  { token: '5m', label: '5 min', ms: 5 * 60_000 },
  { token: '15m', label: '15 min', ms: 15 * 60_000 },
  { token: '1h', label: '1 h', ms: 3_600_000 },
  { token: '6h', label: '6 h', ms: 6 * 3_600_000 },
  { token: '24h', label: '24 h', ms: 86_400_000 },
  { token: '7d', label: '7 d', ms: 7 * 86_400_000 },
];

export const DEFAULT_RANGE_MS = 15 * 60_000;

/** The window a query string asks for, ms; the default when `range` is absent or not one the picker offers. */
export function parseRange(search: string): number {
  const token = new URLSearchParams(search).get('range');
  return RANGES.find((r) => r.token === token)?.ms ?? DEFAULT_RANGE_MS;
}

/** The query string with `range` set to `ms` (removed for the default), other parameters kept. */
export function rangeSearch(search: string, ms: number): string {
  const p = new URLSearchParams(search);
  const token = RANGES.find((r) => r.ms === ms)?.token;
  if (token === undefined || ms === DEFAULT_RANGE_MS) p.delete('range');
  else p.set('range', token);
  const s = p.toString();
  return s === '' ? '' : `?${s}`;
}

/**
 * A custom range or a zoom in the URL (?from=2026-12-01T03:30:00.000Z&to=...), so a
 * reload or a shared link shows the same stretch: [from, to] in ms, or undefined when
 * absent or not a range (both times, from before to).
 */
export function parseSpan(search: string): [number, number] | undefined {
  const p = new URLSearchParams(search);
  const from = p.get('from');
  const to = p.get('to');
  if (from === null || to === null) return undefined;
  const [a, b] = [Date.parse(from), Date.parse(to)];
  return Number.isFinite(a) && Number.isFinite(b) && a < b ? [a, b] : undefined;
}

/** The query string with `from` and `to` set to `span` (removed for undefined), other parameters kept. */
export function spanSearch(search: string, span: [number, number] | undefined): string {
  const p = new URLSearchParams(search);
  if (span === undefined) {
    p.delete('from');
    p.delete('to');
  } else {
    p.set('from', new Date(span[0]).toISOString());
    p.set('to', new Date(span[1]).toISOString());
  }
  const s = p.toString();
  return s === '' ? '' : `?${s}`;
}
