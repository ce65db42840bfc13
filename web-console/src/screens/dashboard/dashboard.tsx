// Dashboard: the operator's home page, arranged from a few kinds of panels. Saved in
// this browser per operator (not on the hub); "Copy link" puts the whole layout in a
// URL, and opening such a URL shows it with a button to keep it as one's own.

import { useEffect, useState } from 'preact/hooks';
import { dashboard as dashboardApi } from '../../api/endpoints.ts';
import { CopyButton } from '../../components/copy-button.tsx';
import {
  type Dashboard,
  decodeDashboard,
  encodeDashboard,
  fetchDashboard,
  loadDashboard,
  MAX_PANELS,
  type Panel,
  STARTER,
  saveDashboard,
} from '../../lib/dashboard.ts';
import { navigate, useLocation } from '../../lib/router.tsx';
import { useTitle } from '../../lib/title.ts';
import { useLatestValues, useLiveTelemetry } from '../../lib/use-latest.ts';
import { useApp } from '../../state/app-context.ts';
import { ChartPanel } from './chart-panel.tsx';
import { CountPanel } from './count-panel.tsx';
import { EventsPanel } from './events-panel.tsx';
import { PanelForm } from './panel-form.tsx';
import { ValuePanel } from './value-panel.tsx';

export function DashboardScreen() {
  useTitle('Dashboard');
  const { me } = useApp();
  const loc = useLocation();
  const sharedParam = new URLSearchParams(loc.search).get('d');
  const shared = sharedParam === null ? undefined : decodeDashboard(sharedParam);
  const [mine, setMine] = useState<Dashboard>(() => loadDashboard(me.username) ?? STARTER);
  const [editing, setEditing] = useState(false);
  const [note, setNote] = useState<string | undefined>(undefined);
  // Arranging waits for the hub's copy: an edit made on the local copy could be
  // overwritten by it a moment later.
  const [loaded, setLoaded] = useState(false);
  const board = shared ?? mine;

  useEffect(() => {
    let live = true;
    fetchDashboard(me.username, dashboardApi)
      .then((r) => {
        if (!live) return;
        if (r) setMine(r.dashboard);
        if (r?.migrated) setNote('Your dashboard from this browser is now saved on the hub.');
        setLoaded(true);
      })
      .catch((e: unknown) => {
        if (!live) return;
        setNote(`Could not read your dashboard from the hub (${e instanceof Error ? e.message : String(e)}); showing this browser's copy.`);
        setLoaded(true);
      });
    return () => {
      live = false;
    };
  }, [me.username]);

  const update = (d: Dashboard) => {
    setMine(d);
    saveDashboard(me.username, d);
    setNote(undefined);
    dashboardApi.save(d).catch((e: unknown) => {
      setNote(`Not saved on the hub (${e instanceof Error ? e.message : String(e)}): it lasts in this browser only.`);
    });
  };
  const move = (i: number, by: number) => {
    const panels = [...mine.panels];
    const [p] = panels.splice(i, 1);
    panels.splice(Math.max(0, Math.min(panels.length, i + by)), 0, p as Panel);
    update({ panels });
  };
  const link = `${location.origin}/dashboard?d=${encodeDashboard(board)}`;

  return (
    <>
      <div class="row" style={{ justifyContent: 'space-between' }}>
        <h1>Dashboard</h1>
        <div class="row">
          <a href={link} data-testid="dashboard-link" title="The whole layout is in this link">
            Link to this dashboard
          </a>
          <CopyButton text={link} label="Copy link" />
          {shared ? (
            <>
              <button
                type="button"
                class="btn small primary"
                onClick={() => {
                  update(shared);
                  navigate('/dashboard', { replace: true });
                  setNote('Saved as your dashboard.');
                }}
              >
                Keep as my dashboard
              </button>
              <button type="button" class="btn small" onClick={() => navigate('/dashboard', { replace: true })}>
                Back to mine
              </button>
            </>
          ) : (
            <button type="button" class="btn small" aria-pressed={editing} disabled={!loaded} onClick={() => setEditing(!editing)}>
              {editing ? 'Done arranging' : 'Arrange'}
            </button>
          )}
        </div>
      </div>
      {shared ? (
        <p class="notice" role="status">
          A shared dashboard from a link ({shared.panels.length} panels); yours is unchanged.
        </p>
      ) : sharedParam !== null ? (
        <p class="error" role="alert">
          The link's dashboard could not be read; showing yours.
        </p>
      ) : null}
      {note ? (
        <p class="flash" role="status" data-testid="dashboard-note">
          {note}
        </p>
      ) : null}
      <LiveValues panels={board.panels} />
      <div class="dash-grid" data-testid="dashboard">
        {board.panels.map((p, i) => (
          <section key={`${i}:${p.kind}:${p.title}`} class={`panel dash-panel dash-${p.kind}`} aria-label={p.title} data-panel={p.kind}>
            <div class="row dash-head">
              <h2>{p.title}</h2>
              {editing && !shared ? (
                <span class="row">
                  <button
                    type="button"
                    class="btn small"
                    disabled={i === 0}
                    onClick={() => move(i, -1)}
                    aria-label={`Move ${p.title} earlier`}
                  >
                    ↑
                  </button>
                  <button
                    type="button"
                    class="btn small"
                    disabled={i === board.panels.length - 1}
                    onClick={() => move(i, 1)}
                    aria-label={`Move ${p.title} later`}
                  >
                    ↓
                  </button>
                  <button
                    type="button"
                    class="btn small danger"
                    onClick={() => update({ panels: mine.panels.filter((_, j) => j !== i) })}
                    aria-label={`Remove ${p.title}`}
                  >
                    Remove
                  </button>
                </span>
              ) : null}
            </div>
            <PanelBody p={p} />
          </section>
        ))}
      </div>
      {board.panels.length === 0 ? <p class="muted">No panels: press Arrange to add some.</p> : null}
      {editing && !shared ? (
        mine.panels.length >= MAX_PANELS ? (
          <p class="muted">A dashboard holds at most {MAX_PANELS} panels.</p>
        ) : (
          <PanelForm onAdd={(p) => update({ panels: [...mine.panels, p] })} />
        )
      ) : null}
    </>
  );
}

function PanelBody({ p }: { p: Panel }) {
  switch (p.kind) {
    case 'chart':
      return <ChartPanel metric={p.metric} devices={p.devices} minutes={p.minutes} title={p.title} />;
    case 'count':
      return <CountPanel by={p.by} />;
    case 'events':
      return <EventsPanel limit={p.limit} />;
    case 'value':
      return (
        <ValuePanel
          device={p.device}
          metric={p.metric}
          {...(p.warn === undefined ? {} : { warn: p.warn })}
          {...(p.alarm === undefined ? {} : { alarm: p.alarm })}
          {...(p.below ? { below: true } : {})}
        />
      );
  }
}

/** Value panels need their devices' latest values, live. */
function LiveValues({ panels }: { panels: readonly Panel[] }) {
  const ids = [...new Set(panels.flatMap((p) => (p.kind === 'value' ? [p.device] : [])))];
  return ids.length === 0 ? null : <ValueFeed ids={ids} />;
}

function ValueFeed({ ids }: { ids: string[] }) {
  useLatestValues(() => {});
  useLiveTelemetry(ids, true);
  return null;
}
