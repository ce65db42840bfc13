// Fleet: every device in one dense, virtualised table, live. Counts by status are the
// filters; search and sort are in the URL. Rows re-sort only when a change can move
// them (status, attributes, membership), at most a few times a second, so a busy fleet
// does not make the table jump while the ages and RTTs tick in place.

import { type DeviceInfo, MAX_JOB_SELECTED_IDS } from '@halyard/firmware-protocol';
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { exportUrl } from '../api/endpoints.ts';
import { DownloadLink } from '../components/download-link.tsx';
import { Empty } from '../components/empty.tsx';
import { ErrorText } from '../components/error-text.tsx';
import { LatestCell } from '../components/latest-cell.tsx';
import { StaleNotice } from '../components/stale-notice.tsx';
import { DeviceStatusBadge } from '../components/status.tsx';
import { VirtualList } from '../components/virtual-list.tsx';
import { loadColumns, metricSortKey, modelScope, saveColumns } from '../lib/fleet-columns.ts';
import {
  countByStatus,
  deviceStatus,
  type FleetQuery,
  parseQuery,
  rttText,
  type SortKey,
  STATUSES,
  type StatusFilter,
  selectIds,
  toSearch,
} from '../lib/fleet-query.ts';
import { ago } from '../lib/format.ts';
import { useChannelState, useNow, useSubscribe } from '../lib/hooks.ts';
import { setJobSelection } from '../lib/job-selection.ts';
import { pure } from '../lib/pure.ts';
import { Link, navigate, useLocation } from '../lib/router.tsx';
import { useTitle } from '../lib/title.ts';
import { useLatestValues, useLiveTelemetry } from '../lib/use-latest.ts';
import { useApp, useCan } from '../state/app-context.ts';
import type { LatestStore } from '../state/latest-store.ts';
import { MetricPicker } from './fleet-metric-picker.tsx';

/**
 * The device list as CSV with the status filter and the search's tag: and model:
 * tokens (the hub's list filters); free text that is not one of those tokens goes
 * as the hub's q, which matches the same fields.
 */
function deviceListExport(q: FleetQuery): string {
  const tokens = q.q
    .trim()
    .split(/\s+/)
    .filter((t) => t !== '');
  const tag = tokens.find((t) => t.startsWith('tag:'))?.slice(4);
  const model = tokens.find((t) => t.startsWith('model:'))?.slice(6);
  const text = tokens.filter((t) => !t.includes(':')).join(' ');
  const status = q.status === 'online' || q.status === 'offline' || q.status === 'revoked' ? q.status : undefined;
  return exportUrl('/export/devices', { status, tag, model, q: text === '' ? undefined : text });
}

const ROW = 30;
/** Shortest gap between two re-sorts caused by live changes, ms. */
const RESORT_MS = 400;

const STATUS_LABEL: Record<StatusFilter, string> = {
  all: 'All',
  online: 'Online',
  offline: 'Offline',
  never: 'Never seen',
  revoked: 'Revoked',
  pending: 'Pending commands',
};
const STATUS_TONE: Record<StatusFilter, string> = {
  all: 'neutral',
  online: 'good',
  offline: 'off',
  never: 'off',
  revoked: 'bad',
  pending: 'pending',
};

const COLUMNS: { key: SortKey; label: string; narrow: boolean }[] = [
  { key: 'status', label: 'Status', narrow: true },
  { key: 'id', label: 'Device', narrow: true },
  { key: 'name', label: 'Name', narrow: false },
  { key: 'model', label: 'Model', narrow: false },
  { key: 'firmware', label: 'Firmware', narrow: false },
  { key: 'lastSeen', label: 'Last seen', narrow: true },
  { key: 'rtt', label: 'RTT', narrow: true },
  { key: 'tags', label: 'Tags', narrow: false },
  { key: 'pending', label: 'Pending', narrow: false },
];

export function Fleet() {
  const { fleet, channel, latest, me } = useApp();
  const canProvision = useCan('operator');
  useSubscribe(fleet.subscribe);
  useSubscribe(latest.subscribe);
  const loc = useLocation();
  const query = parseQuery(loc.search);
  const queryKey = toSearch(query);
  const now = useNow();
  const state = useChannelState(channel);
  const scope = modelScope(query.q);
  const [metrics, setMetrics] = useState(() => loadColumns(me.username, scope));
  useEffect(() => setMetrics(loadColumns(me.username, scope)), [me.username, scope]);
  const [wantValues, setWantValues] = useState(false);
  const ids = useThrottledIds(query, queryKey);
  const [range, setRange] = useState<[number, number]>([0, 0]);
  const onRange = useCallback((a: number, b: number) => setRange([a, b]), []);
  const withValues = metrics.length > 0 || wantValues;
  // Dependencies: counts change exactly when the store's version does
  const counts = useMemo(() => countByStatus(fleet.values()), [fleet.version]);

  const [valuesError, setValuesError] = useState<unknown>(undefined);
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const onToggle = useCallback(
    (id: string) =>
      setSelected((s) => {
        const n = new Set(s);
        if (n.has(id)) n.delete(id);
        else n.add(id);
        return n;
      }),
    [],
  );
  const newJob = (chosen: readonly string[]) => {
    setJobSelection(chosen);
    navigate('/jobs/new?from=fleet');
  };
  return (
    <FleetView {...{ query, ids, now, state, counts, canProvision, metrics, scope, range, onRange, valuesError, selected, onToggle }}>
      {canProvision && ids.length > 0 ? (
        <span class="row" data-testid="bulk">
          <button type="button" class="btn" disabled={selected.size === 0} onClick={() => newJob([...selected])}>
            New job for {selected.size} selected
          </button>
          {/* A job lists at most MAX_JOB_SELECTED_IDS devices by id (docs/jobs.md); past that, its form's filters choose them. */}
          <button
            type="button"
            class="btn"
            disabled={ids.length > MAX_JOB_SELECTED_IDS}
            title={
              ids.length > MAX_JOB_SELECTED_IDS
                ? `A job lists at most ${MAX_JOB_SELECTED_IDS} devices by id: choose them by tag, model or status in the job form`
                : undefined
            }
            onClick={() => newJob(ids)}
          >
            New job for all {ids.length} matching
          </button>
          {selected.size > 0 ? (
            <button type="button" class="btn" onClick={() => setSelected(new Set())}>
              Clear selection
            </button>
          ) : null}
        </span>
      ) : null}
      {withValues ? <ValueFeed ids={ids} range={range} onError={setValuesError} /> : null}
      <MetricPicker
        available={() => latest.metricsOf(ids)}
        chosen={metrics}
        scope={scope}
        onOpen={() => setWantValues(true)}
        onChange={(m) => {
          setMetrics(m);
          saveColumns(me.username, scope, m);
        }}
      />
    </FleetView>
  );
}

/** Keeps the latest values loaded (all devices, paged) and the rows on screen live, while value columns are in use. */
function ValueFeed({ ids, range, onError }: { ids: string[]; range: [number, number]; onError: (e: unknown) => void }) {
  useLatestValues(onError);
  useLiveTelemetry(ids.slice(range[0], range[1]), true);
  return null;
}

function FleetView({
  query,
  ids,
  now,
  state,
  counts,
  canProvision,
  metrics,
  onRange,
  valuesError,
  selected,
  onToggle,
  children,
}: {
  query: FleetQuery;
  ids: string[];
  now: number;
  state: ReturnType<typeof useChannelState>;
  counts: ReturnType<typeof countByStatus>;
  canProvision: boolean;
  metrics: string[];
  scope: string;
  range: [number, number];
  onRange: (a: number, b: number) => void;
  valuesError: unknown;
  selected: ReadonlySet<string>;
  onToggle: (id: string) => void;
  children: preact.ComponentChildren;
}) {
  const { fleet, latest } = useApp();
  const painted = ids.length > 0;
  useEffect(() => {
    if (painted) performance.mark('halyard:fleet-rows');
  }, [painted]);

  useTitle(query.status === 'all' ? 'Fleet' : `Fleet (${STATUS_LABEL[query.status].toLowerCase()})`);
  const setQuery = (q: Partial<FleetQuery>) => navigate(`/fleet${toSearch({ ...query, ...q })}`, { replace: true });

  return (
    <>
      <h1 class="sr-only">Fleet</h1>
      <fieldset class="counts">
        <legend class="sr-only">Filter by status</legend>
        {STATUSES.map((s) => (
          <button
            key={s}
            type="button"
            class="count"
            aria-pressed={query.status === s}
            data-status={s}
            onClick={() => setQuery({ status: query.status === s && s !== 'all' ? 'all' : s })}
          >
            {s === 'all' ? null : <span class={`dot dot-${STATUS_TONE[s]}`} aria-hidden="true" />}
            {STATUS_LABEL[s]} <b data-testid={`count-${s}`}>{counts[s]}</b>
          </button>
        ))}
      </fieldset>
      <StaleNotice what="the fleet" />
      <div class="toolbar">
        <input
          type="search"
          placeholder="Search (tag:lab model:x fw:1.2)"
          title="Matches id, name, model, firmware and tags; tag:, model: and fw: match one field exactly"
          aria-label="Search devices by id, name, model, firmware or tags"
          value={query.q}
          onInput={(e) => setQuery({ q: e.currentTarget.value })}
        />
        {children}
        <DownloadLink href={deviceListExport(query)} />
        <span class="muted" aria-live="polite">
          {ids.length === counts.all ? `${counts.all} devices` : `${ids.length} of ${counts.all} devices`}
        </span>
      </div>
      <ErrorText error={valuesError} />
      <div
        class={canProvision ? 'table selectable' : 'table'}
        style={metrics.length > 0 ? { '--metric-cols': `repeat(${metrics.length}, minmax(84px, 1fr))` } : undefined}
      >
        <div class={`fleet-cols thead${metrics.length > 0 ? ' with-metrics' : ''}`}>
          {[...COLUMNS, ...metrics.map((m) => ({ key: metricSortKey(m), label: m, narrow: false }))].map((c) => {
            const sorted = query.sort === c.key ? (query.dir === 'asc' ? 'ascending' : 'descending') : undefined;
            return (
              <span key={c.key} class={c.narrow ? undefined : 'hide-narrow'}>
                <button
                  type="button"
                  aria-label={`Sort by ${c.label.toLowerCase()}${sorted ? ` (sorted ${sorted})` : ''}`}
                  onClick={() => setQuery({ sort: c.key, dir: query.sort === c.key && query.dir === 'asc' ? 'desc' : 'asc' })}
                >
                  {c.label}
                  {sorted === 'ascending' ? ' ▲' : sorted === 'descending' ? ' ▼' : ''}
                </button>
              </span>
            );
          })}
        </div>
        {!fleet.loaded ? (
          <Empty title={state.kind === 'live' ? 'Loading the fleet…' : 'Waiting for the live channel to the hub…'} />
        ) : counts.all === 0 ? (
          <Empty title="No devices yet">
            <p>
              {canProvision ? (
                <>
                  <Link href="/provision">Provision a device</Link> and connect it with its token,{' '}
                </>
              ) : (
                'Ask an operator to provision devices, '
              )}
              or start a simulated fleet: <code>npm run demo</code>.
            </p>
          </Empty>
        ) : ids.length === 0 ? (
          <Empty title="No device matches this filter">
            <button type="button" class="btn" onClick={() => navigate('/fleet', { replace: true })}>
              Clear the filter
            </button>
          </Empty>
        ) : (
          <VirtualList
            count={ids.length}
            rowHeight={ROW}
            label="Devices"
            renderRow={(i) => {
              const id = ids[i] as string;
              const d = fleet.get(id);
              return d === undefined ? (
                <span key={id} />
              ) : (
                <DeviceRow
                  key={id}
                  d={d}
                  now={now}
                  metrics={metrics}
                  latest={latest}
                  lv={latest.deviceVersion(id)}
                  selected={selected.has(id)}
                  onToggle={canProvision ? onToggle : undefined}
                />
              );
            }}
            onRange={onRange}
          />
        )}
      </div>
    </>
  );
}

/** The ordered ids, recomputed at once for a new query and at most every RESORT_MS for live changes. */
function useThrottledIds(query: FleetQuery, queryKey: string): string[] {
  const { fleet, latest } = useApp();
  const last = useRef<{ key: string; structure: number; at: number; ids: string[] } | undefined>(undefined);
  const [, wake] = useState(0);
  const prev = last.current;
  const t = Date.now();
  // Sorted by a value column, new values can move rows too.
  const byValue = query.sort.startsWith('m:');
  const structure = byValue ? fleet.structure * 1_000_003 + latest.version : fleet.structure;
  const stale = prev === undefined || prev.key !== queryKey || (prev.structure !== structure && t - prev.at >= RESORT_MS);
  if (stale) {
    const metric = byValue ? (id: string, m: string) => latest.get(id, m)?.v : undefined;
    last.current = { key: queryKey, structure, at: t, ids: selectIds(fleet.values(), query, metric) };
  }
  const cur = last.current as { structure: number; at: number; ids: string[] };
  const pending = cur.structure !== structure;
  useEffect(() => {
    if (!pending) return;
    const timer = setTimeout(() => wake((n) => n + 1), Math.max(0, RESORT_MS - (Date.now() - cur.at)));
    return () => clearTimeout(timer);
  }, [pending, cur.at]);
  return cur.ids;
}

/** A row re-renders only when its device changed (a new object) or the clock ticked. */
const DeviceRow = pure(function DeviceRow({
  d,
  now,
  metrics,
  latest,
  selected,
  onToggle,
}: {
  d: DeviceInfo;
  now: number;
  metrics: string[];
  latest: LatestStore;
  /** The device's values' version: the row re-renders when they change. */
  lv: number;
  /** Chosen for a new job (operators only: `onToggle` set). */
  selected: boolean;
  onToggle: ((id: string) => void) | undefined;
}) {
  return (
    <Link
      href={`/devices/${encodeURIComponent(d.id)}`}
      class={`fleet-cols rowlink${metrics.length > 0 ? ' with-metrics' : ''}`}
      data-device={d.id}
      style={{ color: 'inherit', textDecoration: 'none' }}
    >
      <span class="cell">
        {onToggle ? (
          <input
            type="checkbox"
            aria-label={`Select ${d.id} for a job`}
            checked={selected}
            // Inside the row's link: the box toggles, the link does not follow.
            onClick={(e) => {
              e.stopPropagation();
              onToggle(d.id);
            }}
          />
        ) : null}
        <DeviceStatusBadge status={deviceStatus(d)} />
      </span>
      {/* Cells cut long text with an ellipsis; the whole of it is the cell's tooltip. */}
      <span class="cell mono" title={d.id}>
        {d.id}
      </span>
      <span class="cell hide-narrow" title={d.name ?? undefined}>
        {d.name ?? ''}
      </span>
      <span class="cell hide-narrow" title={d.model ?? undefined}>
        {d.model ?? ''}
      </span>
      <span class="cell hide-narrow mono" title={d.firmware ?? undefined}>
        {d.firmware ?? ''}
      </span>
      <span class="cell" title={d.lastSeen === null ? undefined : new Date(d.lastSeen).toLocaleString()}>
        {d.online && d.lastSeen !== null && now - d.lastSeen < 2_000 ? 'now' : ago(d.lastSeen, now)}
      </span>
      <span class="cell">{rttText(d)}</span>
      <span class="cell hide-narrow">
        {d.tags.map((t) => (
          <span key={t} class="tag">
            {t}
          </span>
        ))}
      </span>
      <span class={`cell hide-narrow${d.pendingCommands > 0 ? ' tone-pending' : ''}`}>
        {d.pendingCommands > 0 ? d.pendingCommands : ''}
      </span>
      {metrics.map((m) => (
        <LatestCell key={m} l={latest.get(d.id, m)} now={now} metric={m} />
      ))}
    </Link>
  );
});
