// The signed-in console: opens the live channel, keeps the fleet store fed from it,
// and lays out the top bar, the rail and the current screen.

import type { OperatorInfo } from '@halyard/firmware-protocol';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { session } from './api/endpoints.ts';
import { setUnauthenticatedHandler } from './api/http.ts';
import { ConsoleChannel } from './channel/channel.ts';
import { browserConnect, consoleUrl } from './channel/socket.ts';
import { AlarmCounts } from './components/alarm-counts.tsx';
import { ConnectionDot } from './components/connection-dot.tsx';
import { FlashNotice } from './components/flash-notice.tsx';
import { PasswordButton } from './components/password-dialog.tsx';
import { useChannelState } from './lib/hooks.ts';
import { lazy } from './lib/lazy.tsx';
import { Link, match, useLocation } from './lib/router.tsx';
import { homeIsDashboard } from './lib/settings.ts';
import { Admin } from './screens/admin/admin.tsx';
import { AlarmsScreen } from './screens/alarms/alarms.tsx';
import { DevicePage } from './screens/device/device-page.tsx';
import { EventsScreen } from './screens/events.tsx';
import { FirmwareScreen } from './screens/firmware.tsx';
import { Fleet } from './screens/fleet.tsx';
import { HubScreen } from './screens/hub.tsx';
import { JobScreen, JobsScreen, NewJobScreen } from './screens/jobs.tsx';
import { Provision } from './screens/provision.tsx';
import { type App, AppContext } from './state/app-context.ts';
import { FleetStore } from './state/fleet-store.ts';
import { LatestStore } from './state/latest-store.ts';
import { hasRole } from './state/roles.ts';
import { StatsHistory } from './state/stats-history.ts';

// Used by few operators, or not at first: loaded when opened.
const DashboardScreen = lazy(() => import('./screens/dashboard/dashboard.tsx').then((m) => m.DashboardScreen));
const ModelProfileScreen = lazy(() => import('./screens/model-profile.tsx').then((m) => m.ModelProfileScreen));
const MapScreen = lazy(() => import('./screens/map.tsx').then((m) => m.MapScreen));

export function Shell({ me, onSignedOut }: { me: OperatorInfo; onSignedOut: (reason: string) => void }) {
  // The parent may pass a new function each render; the channel must not restart for it.
  const signedOutRef = useRef(onSignedOut);
  signedOutRef.current = onSignedOut;
  const app = useMemo<App>(() => {
    const signedOut = (reason: string) => signedOutRef.current(reason);
    const channel = new ConsoleChannel({
      url: consoleUrl(location),
      connect: browserConnect,
      sessionValid: () =>
        session.me().then(
          () => true,
          (err: { status?: number }) => err.status !== 401,
        ),
    });
    const fleet = new FleetStore();
    return {
      channel,
      fleet,
      hubStats: new StatsHistory(),
      latest: new LatestStore(),
      me,
      logout: () => {
        channel.stop();
        session.logout().then(
          () => signedOut('You have logged out.'),
          () => signedOut('You have logged out here; the hub could not be told, so the session may live on until it expires.'),
        );
      },
    };
    // The app lives as long as this session; a new login mounts a new Shell.
  }, []);

  useEffect(() => {
    const { channel, fleet } = app;
    const offs = [
      channel.on('fleet', (u) => fleet.apply(u)),
      channel.on('device', (u) => fleet.apply(u)),
      channel.on('device.removed', (u) => {
        fleet.apply(u);
        app.latest.remove(u.id);
      }),
      channel.on('presence', (u) => fleet.apply(u)),
      channel.onState((s) => {
        if (s.kind === 'ended') signedOutRef.current(s.reason.charAt(0).toUpperCase() + s.reason.slice(1));
        else if (s.kind !== 'live' && fleet.loaded) fleet.stale();
      }),
      // The fleet is needed everywhere (header facts, counts): one subscription for the app's life.
      channel.subscribe('fleet'),
      // Alarm changes feed the top bar's counts on every screen.
      channel.subscribe('alarms'),
    ];
    setUnauthenticatedHandler(() => {
      channel.stop();
      signedOutRef.current('Your session has ended; log in again.');
    });
    // Coming back (network up, tab shown again after the laptop slept) is when the
    // operator looks: try at once rather than at the end of the current wait.
    const online = () => channel.retryNow();
    const visible = () => {
      if (document.visibilityState === 'visible') channel.retryNow();
    };
    addEventListener('online', online);
    document.addEventListener('visibilitychange', visible);
    channel.start();
    return () => {
      for (const off of offs) off();
      setUnauthenticatedHandler(undefined);
      removeEventListener('online', online);
      document.removeEventListener('visibilitychange', visible);
      channel.stop();
    };
  }, [app]);

  return (
    <AppContext.Provider value={app}>
      <div class="shell">
        <SkipLink />
        <TopBar app={app} />
        <Rail role={me.role} home={homeIsDashboard(me.username) ? '/dashboard' : '/fleet'} />
        <Screen home={homeIsDashboard(me.username) ? '/dashboard' : '/fleet'} />
      </div>
    </AppContext.Provider>
  );
}

/** The first stop of the Tab key: straight to the screen (focusable, tabIndex -1), past the top bar and the sections. */
function SkipLink() {
  return (
    <a class="skip-link" href="#main">
      Skip to content
    </a>
  );
}

function TopBar({ app }: { app: App }) {
  const state = useChannelState(app.channel);
  const [name, setName] = useState(app.channel.hello?.hub.name);
  useEffect(() => {
    if (state.kind === 'live') setName(app.channel.hello?.hub.name);
  }, [state, app.channel]);
  return (
    <header class="top">
      <span class="brand">
        {name ?? 'Halyard'}
        {name && name.toLowerCase() !== 'halyard' ? <small class="hide-narrow">Halyard</small> : null}
      </span>
      <ConnectionDot channel={app.channel} />
      <span class="spacer" />
      <AlarmCounts />
      <span class="who" data-testid="operator">
        {app.me.username} <span class="muted">({app.me.role})</span>
      </span>
      <PasswordButton />
      <button type="button" class="btn small" onClick={app.logout}>
        Log out
      </button>
    </header>
  );
}

function Rail({ role, home }: { role: OperatorInfo['role']; home: string }) {
  const { path } = useLocation();
  const items: [string, string, boolean][] = [
    ['/dashboard', 'Dashboard', true],
    ['/fleet', 'Fleet', true],
    ['/provision', 'Provision', hasRole(role, 'operator')],
    ['/map', 'Map', true],
    ['/alarms', 'Alarms', true],
    ['/events', 'Events', true],
    ['/jobs', 'Jobs', true],
    ['/firmware', 'Firmware', true],
    ['/hub', 'Hub', true],
    ['/admin', 'Admin', hasRole(role, 'admin')],
  ];
  const active = (href: string) =>
    path === href || path.startsWith(`${href}/`) || (href === home && path === '/') || (href === '/fleet' && path.startsWith('/devices/'));
  // On a phone the rail is a row that scrolls sideways: keep the current section in sight.
  const nav = useRef<HTMLElement>(null);
  // Dependencies: the path decides which link is current
  useEffect(() => {
    const el = nav.current;
    const a = el?.querySelector('[aria-current="page"]');
    if (!el || !a || el.scrollWidth <= el.clientWidth) return;
    const box = el.getBoundingClientRect();
    const item = a.getBoundingClientRect();
    if (item.left < box.left) el.scrollLeft -= box.left - item.left + 8;
    else if (item.right > box.right) el.scrollLeft += item.right - box.right + 8;
  }, [path]);
  return (
    <nav class="rail" aria-label="Sections" ref={nav}>
      {items
        .filter(([, , show]) => show)
        .map(([href, label]) => (
          <Link key={href} href={href} aria-current={active(href) ? 'page' : undefined}>
            {label}
          </Link>
        ))}
    </nav>
  );
}

function Screen({ home }: { home: string }) {
  const { path } = useLocation();
  if ((path === '/' && home === '/fleet') || path === '/fleet') {
    return (
      <main class="main fill" id="main" tabIndex={-1}>
        <FlashNotice path={path} />
        <Fleet />
      </main>
    );
  }
  return (
    <main class="main main-scroll" id="main" tabIndex={-1}>
      <FlashNotice path={path} />
      {route(path)}
    </main>
  );
}

function route(path: string) {
  const device = match('/devices/:id/:tab?', path);
  if (device) return <DevicePage id={device.id as string} tab={device.tab ?? 'telemetry'} />;
  const model = match('/models/:model', path);
  if (model) return <ModelProfileScreen model={model.model as string} />;
  const alarms = match('/alarms/:tab?', path);
  if (alarms) return <AlarmsScreen tab={alarms.tab ?? 'list'} />;
  if (path === '/provision') return <Provision />;
  if (path === '/events') return <EventsScreen />;
  if (path === '/jobs') return <JobsScreen />;
  if (path === '/firmware') return <FirmwareScreen />;
  if (path === '/jobs/new') return <NewJobScreen />;
  const job = match('/jobs/:id', path);
  if (job?.id !== undefined) return <JobScreen id={job.id} />;
  if (path === '/map') return <MapScreen />;
  if (path === '/dashboard' || path === '/') return <DashboardScreen />;
  if (path === '/hub') return <HubScreen />;
  const admin = match('/admin/:tab?', path);
  if (admin) return <Admin tab={admin.tab ?? 'operators'} />;
  return (
    <p>
      Nothing at {path}. <Link href="/fleet">Go to the fleet</Link>.
    </p>
  );
}
