// The fleet table's query (status filter, search, sort) and what it selects. The query
// lives in the URL (?status=online&q=lab&sort=lastSeen&dir=desc) so a filtered view
// can be bookmarked and shared; everything here is pure.

import type { DeviceInfo } from '@halyard/firmware-protocol';

export const STATUSES = ['all', 'online', 'offline', 'never', 'revoked', 'pending'] as const;
export type StatusFilter = (typeof STATUSES)[number];

export const SORT_KEYS = ['status', 'id', 'name', 'model', 'firmware', 'lastSeen', 'rtt', 'tags', 'pending'] as const;
/** A device column, or `m:<metric>`: a latest-value column. */
export type SortKey = (typeof SORT_KEYS)[number] | `m:${string}`;

/** A device's newest value of a metric, for sorting by a value column. */
export type MetricValue = (device: string, metric: string) => number | string | boolean | undefined;

export interface FleetQuery {
  status: StatusFilter;
  /** Free text; `tag:x`, `model:x`, `fw:x` tokens match those fields exactly. */
  q: string;
  sort: SortKey;
  dir: 'asc' | 'desc';
}

export const DEFAULT_QUERY: Readonly<FleetQuery> = Object.freeze({ status: 'all', q: '', sort: 'id', dir: 'asc' });

function oneOf<T extends string>(values: readonly T[], v: string | null, fallback: T): T {
  return v !== null && (values as readonly string[]).includes(v) ? (v as T) : fallback;
}

export function parseQuery(search: string): FleetQuery {
  const p = new URLSearchParams(search);
  return {
    status: oneOf(STATUSES, p.get('status'), DEFAULT_QUERY.status),
    q: p.get('q') ?? '',
    sort: p.get('sort')?.startsWith('m:') ? (p.get('sort') as SortKey) : oneOf(SORT_KEYS, p.get('sort'), DEFAULT_QUERY.sort),
    dir: p.get('dir') === 'desc' ? 'desc' : 'asc',
  };
}

/** The query string for `q`, leaving out defaults so URLs stay short. */
export function toSearch(q: FleetQuery): string {
  const p = new URLSearchParams();
  if (q.status !== DEFAULT_QUERY.status) p.set('status', q.status);
  if (q.q !== '') p.set('q', q.q);
  if (q.sort !== DEFAULT_QUERY.sort) p.set('sort', q.sort);
  if (q.dir !== DEFAULT_QUERY.dir) p.set('dir', q.dir);
  const s = p.toString();
  return s === '' ? '' : `?${s}`;
}

/** One device's status for colour and text: revoked wins, then online, never seen, offline. */
export type DeviceStatus = 'online' | 'offline' | 'never' | 'revoked';

export function deviceStatus(d: DeviceInfo): DeviceStatus {
  if (d.revoked) return 'revoked';
  if (d.online) return 'online';
  return d.lastSeen === null ? 'never' : 'offline';
}

export function inStatus(d: DeviceInfo, s: StatusFilter): boolean {
  switch (s) {
    case 'all':
      return true;
    case 'pending':
      return d.pendingCommands > 0;
    case 'offline':
      // "Offline" counts every device that is not connected and not revoked, seen or not.
      return !d.online && !d.revoked;
    default:
      return deviceStatus(d) === s;
  }
}

export type Counts = Record<StatusFilter, number>;

export function countByStatus(devices: Iterable<DeviceInfo>): Counts {
  const c: Counts = { all: 0, online: 0, offline: 0, never: 0, revoked: 0, pending: 0 };
  for (const d of devices) {
    c.all++;
    if (d.revoked) c.revoked++;
    else if (d.online) c.online++;
    else {
      c.offline++;
      if (d.lastSeen === null) c.never++;
    }
    if (d.pendingCommands > 0) c.pending++;
  }
  return c;
}

interface Needle {
  text: string[];
  tag: string[];
  model: string[];
  fw: string[];
}

function needle(q: string): Needle {
  const n: Needle = { text: [], tag: [], model: [], fw: [] };
  for (const word of q.toLowerCase().split(/\s+/)) {
    if (word === '') continue;
    const m = /^(tag|model|fw):(.+)$/.exec(word);
    if (m) n[m[1] as 'tag' | 'model' | 'fw'].push(m[2] as string);
    else n.text.push(word);
  }
  return n;
}

function matchesNeedle(d: DeviceInfo, n: Needle): boolean {
  if (n.tag.some((t) => !d.tags.some((x) => x.toLowerCase() === t))) return false;
  if (n.model.some((m) => (d.model ?? '').toLowerCase() !== m)) return false;
  if (n.fw.some((f) => (d.firmware ?? '').toLowerCase() !== f)) return false;
  if (n.text.length === 0) return true;
  const hay = [d.id, d.name ?? '', d.model ?? '', d.firmware ?? '', ...d.tags].join('\u0000').toLowerCase();
  return n.text.every((w) => hay.includes(w));
}

const STATUS_RANK: Record<DeviceStatus, number> = { online: 0, offline: 1, never: 2, revoked: 3 };

/** The value a column sorts by; null when the device has none (sorted last in both directions). */
function sortValue(key: SortKey, d: DeviceInfo, metric?: MetricValue): string | number | null {
  if (key.startsWith('m:')) {
    const v = metric?.(d.id, key.slice(2));
    return v === undefined ? null : typeof v === 'boolean' ? Number(v) : v;
  }
  switch (key) {
    case 'status':
      return STATUS_RANK[deviceStatus(d)];
    case 'id':
      return d.id;
    case 'name':
      return d.name || null;
    case 'model':
      return d.model || null;
    case 'firmware':
      return d.firmware || null;
    case 'tags':
      return d.tags.length > 0 ? d.tags.join(',') : null;
    case 'lastSeen':
      return d.lastSeen;
    case 'rtt':
      // An offline device has no current RTT (rttText shows none): it sorts with the unknown.
      return d.online ? d.rtt : null;
    case 'pending':
      return d.pendingCommands;
    default:
      return null;
  }
}

const isDigit = (c: number) => c >= 48 && c <= 57;
const fold = (c: number) => (c >= 65 && c <= 90 ? c + 32 : c);

/**
 * Compares text "naturally": case-folded, runs of digits by their number, so
 * sim-2 < sim-10. Char by char without allocating: sorting 5,000 rows takes a few
 * milliseconds (a numeric Intl.Collator, or regex-built keys, took ten times that).
 */
export function naturalCompare(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(j);
    if (isDigit(ca) && isDigit(cb)) {
      while (a.charCodeAt(i) === 48) i++;
      while (b.charCodeAt(j) === 48) j++;
      let ei = i;
      let ej = j;
      while (ei < a.length && isDigit(a.charCodeAt(ei))) ei++;
      while (ej < b.length && isDigit(b.charCodeAt(ej))) ej++;
      // More significant digits is the bigger number; equal lengths compare digit by digit.
      if (ei - i !== ej - j) return ei - i - (ej - j);
      for (; i < ei; i++, j++) {
        const d = a.charCodeAt(i) - b.charCodeAt(j);
        if (d !== 0) return d;
      }
      continue;
    }
    const d = fold(ca) - fold(cb);
    if (d !== 0) return d;
    i++;
    j++;
  }
  return a.length - i - (b.length - j) || (a < b ? -1 : a > b ? 1 : 0);
}

function compareValues(x: string | number, y: string | number): number {
  if (typeof x === 'number' && typeof y === 'number') return x - y;
  return naturalCompare(String(x), String(y));
}

/** The ids to show, in order. Ties are broken by id so the order is stable. */
export function selectIds(devices: Iterable<DeviceInfo>, q: FleetQuery, metric?: MetricValue): string[] {
  const n = needle(q.q);
  const rows: { id: string; v: string | number | null }[] = [];
  for (const d of devices) if (inStatus(d, q.status) && matchesNeedle(d, n)) rows.push({ id: d.id, v: sortValue(q.sort, d, metric) });
  const sign = q.dir === 'asc' ? 1 : -1;
  rows.sort((a, b) => {
    if (a.v !== b.v) {
      if (a.v === null) return 1;
      if (b.v === null) return -1;
      const c = compareValues(a.v, b.v);
      if (c !== 0) return sign * c;
    }
    return naturalCompare(a.id, b.id);
  });
  return rows.map((r) => r.id);
}

/** RTT as shown: only for a device online now; an offline device's last RTT is history, not a fact. */
export function rttText(d: Pick<DeviceInfo, 'online' | 'rtt'>): string {
  return d.online && d.rtt !== null ? `${Math.round(d.rtt)} ms` : '–';
}
