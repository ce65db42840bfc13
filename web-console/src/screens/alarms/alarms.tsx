// Alarms: every alarm, live, filtered by state, severity and text (kept in the URL,
// /alarms?state=open&severity=critical&q=boiler), acknowledged and cleared in place;
// and the rules that raise them (/alarms/rules), which operators write.

import type { AlarmSeverity } from '@halyard/firmware-protocol';
import { AlarmTable } from '../../components/alarm-table.tsx';
import { Empty } from '../../components/empty.tsx';
import { ErrorText } from '../../components/error-text.tsx';
import { type AlarmFilter, emptyAlarmsTitle, matches, SEVERITIES } from '../../lib/alarms.ts';
import { Link, navigate, useLocation } from '../../lib/router.tsx';
import { useTitle } from '../../lib/title.ts';
import { useAlarmList } from '../../state/alarms.ts';
import { RulesTab } from './rules.tsx';

const STATES: AlarmFilter['state'][] = ['open', 'active', 'acknowledged', 'cleared', 'all'];

function parseFilter(search: string): AlarmFilter {
  const p = new URLSearchParams(search);
  const state = p.get('state') as AlarmFilter['state'] | null;
  const severity = p.get('severity') as AlarmSeverity | null;
  return {
    state: state !== null && STATES.includes(state) ? state : 'open',
    severity: severity !== null && (SEVERITIES as readonly string[]).includes(severity) ? severity : '',
    q: p.get('q') ?? '',
  };
}

function filterSearch(f: AlarmFilter): string {
  const p = new URLSearchParams();
  if (f.state !== 'open') p.set('state', f.state);
  if (f.severity !== '') p.set('severity', f.severity);
  if (f.q !== '') p.set('q', f.q);
  const s = p.toString();
  return s === '' ? '' : `?${s}`;
}

export function AlarmsScreen({ tab }: { tab: string }) {
  useTitle(tab === 'rules' ? 'Alarm rules' : 'Alarms');
  return (
    <>
      <h1>Alarms</h1>
      <nav class="tabs" aria-label="Alarm sections">
        <Link href="/alarms" aria-current={tab === 'list' ? 'page' : undefined}>
          Alarms
        </Link>
        <Link href="/alarms/rules" aria-current={tab === 'rules' ? 'page' : undefined}>
          Rules
        </Link>
      </nav>
      {tab === 'rules' ? <RulesTab /> : <AlarmList />}
    </>
  );
}

function AlarmList() {
  const loc = useLocation();
  const filter = parseFilter(loc.search);
  const { list, loaded, error, replace } = useAlarmList();
  const setFilter = (f: Partial<AlarmFilter>) => navigate(`/alarms${filterSearch({ ...filter, ...f })}`, { replace: true });
  const shown = list.filter((a) => matches(a, filter));
  return (
    <section aria-label="Alarm list">
      <div class="toolbar">
        <input
          type="search"
          placeholder="Filter by device, rule or text"
          aria-label="Filter alarms"
          value={filter.q}
          onInput={(e) => setFilter({ q: e.currentTarget.value })}
        />
        <label class="row">
          State
          <select name="state" value={filter.state} onChange={(e) => setFilter({ state: e.currentTarget.value as AlarmFilter['state'] })}>
            <option value="open">not cleared</option>
            <option value="active">active</option>
            <option value="acknowledged">acknowledged</option>
            <option value="cleared">cleared</option>
            <option value="all">all</option>
          </select>
        </label>
        <label class="row">
          Severity
          <select
            name="severity"
            value={filter.severity}
            onChange={(e) => setFilter({ severity: e.currentTarget.value as AlarmFilter['severity'] })}
          >
            <option value="">any</option>
            {SEVERITIES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
      </div>
      <ErrorText error={error} />
      {shown.length === 0 ? (
        <Empty title={emptyAlarmsTitle(loaded || error !== undefined, list.length, filter)}>
          {list.length > 0 ? (
            <p>
              <button type="button" class="btn" onClick={() => navigate('/alarms?state=all', { replace: true })}>
                Show every alarm
              </button>
            </p>
          ) : null}
          <p>
            Alarms are raised by <Link href="/alarms/rules">rules</Link>: a metric out of range, a device offline or silent, an event, a
            failed command, a desired value not applied.
          </p>
        </Empty>
      ) : (
        <AlarmTable alarms={shown} showDevice={true} onChanged={replace} />
      )}
    </section>
  );
}
