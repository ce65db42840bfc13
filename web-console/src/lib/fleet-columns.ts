// Which latest-value columns the fleet table shows: the operator picks metrics per
// model (the `model:` token of the search, or every model), remembered in this browser
// for this operator.

const KEY = 'halyard.fleetColumns';
/** Columns at most: each is a cell in every row on screen. */
export const MAX_METRIC_COLUMNS = 6;
/** The scope when the search names no model. */
export const ALL_MODELS = '*';

type Stored = Record<string, string[]>;

function read(username: string): Stored {
  try {
    const v = JSON.parse(globalThis.localStorage?.getItem(`${KEY}.${username}`) ?? '{}') as unknown;
    return v !== null && typeof v === 'object' ? (v as Stored) : {};
  } catch {
    // Blocked storage or a hand-edited value: start without columns.
    return {};
  }
}

/** The model a search is about (`model:x`), or ALL_MODELS. */
export function modelScope(q: string): string {
  const m = /(?:^|\s)model:(\S+)/i.exec(q);
  return m ? (m[1] as string).toLowerCase() : ALL_MODELS;
}

export function loadColumns(username: string, scope: string): string[] {
  const list = read(username)[scope];
  return Array.isArray(list) ? list.filter((x) => typeof x === 'string').slice(0, MAX_METRIC_COLUMNS) : [];
}

export function saveColumns(username: string, scope: string, metrics: readonly string[]): void {
  const all = read(username);
  all[scope] = metrics.slice(0, MAX_METRIC_COLUMNS);
  try {
    globalThis.localStorage?.setItem(`${KEY}.${username}`, JSON.stringify(all));
  } catch {
    // Not remembered; the choice still holds for this page.
  }
}

/** The sort key of a metric column (kept in the URL like the others). */
export function metricSortKey(metric: string): `m:${string}` {
  return `m:${metric}`;
}
