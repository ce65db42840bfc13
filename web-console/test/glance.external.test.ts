// Issue 19, the rest: what to run with a new device's token and where integrators
// connect, the hub's version and uptime with charts that outlive a hub restart, the
// confirmations after creating an operator and deleting a device, and the fleet at a
// glance (latest-value columns, the map, the dashboard). Real headless Chromium against
// a real hub and simulated devices; screenshots go to test-output/console/glance-*.png.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Fleet, startFleet } from '@halyard/device-sim';
import type { BrowserContext, Page } from 'playwright-core';
import {
  ADMIN_PASSWORD,
  Api,
  type HubProcess,
  logIn,
  OUT,
  openPage,
  provision,
  ROOT,
  removeDir,
  startConsoleHub,
  tearDown,
} from './e2e-support.ts';

/** Polls `check` until it holds (the hub's answers arrive in their own time). */
async function eventually(check: () => Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const WAIT = { timeout: 15_000 };
const BACKOFF = { baseMs: 200, capMs: 1_000 };

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(OUT, `glance-${name}.png`), fullPage: false });
}

describe('the fleet at a glance and the rest of the first session (issue 19)', () => {
  let hub: HubProcess;
  let api: Api;
  let context: BrowserContext;
  let profile: string;
  let page: Page;
  let fleet: Fleet | undefined;
  const errors: string[] = [];

  before(async () => {
    ({ hub, api } = await startConsoleHub());
    const thermos = await provision(hub, 2, 'thermo-', 'thermostat');
    const trackers = await provision(hub, 2, 'tracker-', 'tracker');
    fleet = startFleet({ hub: hub.ws, devices: [...thermos, ...trackers], rate: 2, backoff: BACKOFF, seed: 19 });
    ({ context, profile, page } = await openPage(errors));
    await logIn(page, hub);
    await page.waitForSelector('a[data-device="thermo-0001"]:has-text("online")', WAIT);
  });

  after(async () => {
    await tearDown({ context, profile, hub }, fleet);
    assert.deepEqual(errors, [], 'no uncaught errors in the page');
  });

  it('shows the MQTT endpoint with its bound port where integrator accounts are created', async () => {
    const { mqtt } = (await api.call('GET', '/integrators')) as { mqtt?: { port: number } };
    assert.ok(mqtt !== undefined && mqtt.port > 0, 'the hub names its bound MQTT port');
    await page.goto(`${hub.http}/admin/integrators`);
    const panel = await page.waitForSelector('[data-testid=mqtt-endpoint]', WAIT);
    const text = (await panel.textContent()) ?? '';
    assert.ok(text.includes(`mqtt://127.0.0.1:${mqtt.port}`), text);
    assert.ok(text.includes('/mqtt'), 'MQTT over WebSocket');
    await shot(page, 'integrators-endpoint');
  });

  it('shows the hub version and uptime, and keeps the charts across a hub restart', async () => {
    await page.click('nav.rail >> text=Hub');
    await page.waitForSelector('[data-testid=hub-version]:has-text("0.")', WAIT);
    await page.waitForFunction(
      () => /\d+ s|min|h/.test(document.querySelector('[data-testid=hub-uptime]')?.textContent ?? ''),
      undefined,
      WAIT,
    );
    await page.waitForSelector('.chart canvas', WAIT);
    await page.waitForFunction(
      () => Number(document.querySelector('[data-testid=hub-stats]')?.getAttribute('data-count')) >= 3,
      undefined,
      WAIT,
    );
    const firstPoint = await page.getAttribute('[data-testid=hub-stats]', 'data-first');
    // The hub restarts while the operator looks elsewhere; its stats replay then starts from nothing.
    await page.click('nav.rail >> text=Fleet');
    await hub.stop();
    hub = await hub.restart();
    await page.waitForSelector('.conn[data-state="live"]', { timeout: 30_000 });
    await page.click('nav.rail >> text=Hub');
    await page.waitForSelector('[data-testid=hub-restarted]', WAIT);
    // The console kept the seconds from before the restart.
    assert.equal(await page.getAttribute('[data-testid=hub-stats]', 'data-first'), firstPoint);
    await shot(page, 'hub-after-restart');
  });

  it('a hub that answers "who am I" with anything but 401 is said unreachable and asked again, not a login form', async () => {
    // A bare 400 (what Node answers a request it times out under load) once sent a logged-in operator to the login form.
    await page.route('**/api/v1/me', (route) => route.fulfill({ status: 400, body: '' }));
    try {
      await page.goto(`${hub.http}/fleet`);
      await page.locator('[data-testid="hub-unreachable"]', { hasText: 'Cannot reach the hub' }).waitFor(WAIT);
      assert.equal(await page.locator('#login-user').count(), 0, 'no login form for a session that may still be good');
    } finally {
      await page.unroute('**/api/v1/me');
    }
    await page.click('button:has-text("Try now")');
    await page.waitForSelector('.conn[data-state="live"]', WAIT);
    assert.equal(await page.locator('#login-user').count(), 0);
  });

  it('confirms a new operator and a deleted device in words', async () => {
    await page.goto(`${hub.http}/admin/operators`);
    await page.fill('input[name=new-username]', 'nina');
    await page.fill('input[name=new-password]', 'nina-password-1');
    await page.selectOption('select[name=new-role]', 'operator');
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-testid=operator-created]:has-text("Created the operator nina (operator)")', WAIT);
    await page.waitForSelector('tr[data-operator="nina"]', WAIT);

    await api.call('POST', '/devices', { id: 'doomed-1' });
    await page.goto(`${hub.http}/devices/doomed-1/credentials`);
    // Rotated and revoked from the keyboard: the focus lands on what came of it, not the top of the page.
    const confirmTyped = async () => {
      await page.waitForFunction(() => document.activeElement?.matches('form.confirm input') === true, undefined, WAIT);
      await page.keyboard.type('doomed-1');
      await page.keyboard.press('Enter');
    };
    await page.click('section[aria-label=Credentials] > button:has-text("Rotate token")');
    await confirmTyped();
    await page.waitForFunction(() => document.activeElement?.textContent === 'New token for doomed-1', undefined, WAIT);
    await page.click('section[aria-label=Credentials] > button:has-text("Revoke device")');
    await confirmTyped();
    await page.waitForFunction(() => document.activeElement?.textContent?.startsWith('Reinstate') === true, undefined, WAIT);
    await page.click('section[aria-label=Credentials] > button:has-text("Delete device")');
    // The confirmation takes the focus: type the id, press Enter.
    await page.waitForSelector('form.confirm input', WAIT);
    // It takes it once rendered: typing before that would go nowhere.
    await page.waitForFunction(() => document.activeElement?.matches('form.confirm input') === true, undefined, WAIT);
    await page.keyboard.type('doomed-1');
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/fleet$/, WAIT);
    await page.waitForSelector('[data-testid=flash]:has-text("Deleted the device doomed-1")', WAIT);
    await shot(page, 'device-deleted');
    // It was about that moment: elsewhere it is gone.
    await page.click('nav.rail >> text=Events');
    await page.waitForSelector('h1:has-text("Events")', WAIT);
    assert.equal(await page.$('[data-testid=flash]'), null);
  });

  it('fleet value columns: picked metrics show each device’s latest value with unit and age, live, sortable, remembered', async () => {
    await page.goto(`${hub.http}/fleet`);
    await page.waitForSelector('a[data-device="thermo-0001"]', WAIT);
    await page.click('summary:has-text("Value columns")');
    await page.check('input[name=metric][value=temperature]', WAIT);
    const cell = 'a[data-device="thermo-0001"] [data-metric="temperature"]';
    await page.waitForFunction((sel) => /°C/.test(document.querySelector(sel)?.textContent ?? ''), cell, WAIT);
    // Live: the value on screen changes within a few seconds (the thermostat reports twice a second).
    const first = await page.textContent(cell);
    await page.waitForFunction(([sel, was]) => (document.querySelector(sel as string)?.textContent ?? '') !== was, [cell, first], WAIT);
    assert.match((await page.textContent(cell)) ?? '', /now|\d+ s ago/);
    // The picker is a menu: Escape closes it (it would cover the headers below it).
    await page.keyboard.press('Escape');
    await page.waitForSelector('details.picker:not([open])', WAIT);
    // Sortable: trackers have no temperature and sort last either way.
    await page.click('button[aria-label^="Sort by temperature"]');
    await page.waitForURL(/sort=m%3Atemperature/, WAIT);
    const order = await page.$$eval('a[data-device]', (as) => as.map((a) => a.getAttribute('data-device')));
    assert.deepEqual(order.slice(-2).sort(), ['tracker-0001', 'tracker-0002']);
    await shot(page, 'fleet-columns');
    // Remembered for this operator in this browser.
    await page.reload();
    await page.waitForFunction((sel) => /°C/.test(document.querySelector(sel)?.textContent ?? ''), cell, WAIT);
  });

  it('fleet value columns that do not fit the window scroll sideways, head and rows together', async () => {
    // 1280 px wide (openPage), temperature already picked: three more.
    await page.goto(`${hub.http}/fleet`);
    await page.waitForSelector('a[data-device="thermo-0001"]', WAIT);
    await page.click('summary:has-text("Value columns")');
    for (const m of ['humidity', 'battery', 'speed']) await page.check(`input[name=metric][value=${m}]`, WAIT);
    await page.keyboard.press('Escape');
    await page.waitForSelector('button[aria-label^="Sort by speed"]', WAIT);
    const fit = () =>
      page.evaluate(() => {
        const table = document.querySelector('.table') as HTMLElement;
        const box = table.getBoundingClientRect();
        const head = document.querySelector('button[aria-label^="Sort by speed"]')?.getBoundingClientRect();
        const cell = document.querySelector('a[data-device="tracker-0001"] [data-metric="speed"]')?.getBoundingClientRect();
        return {
          over: table.scrollWidth - table.clientWidth,
          right: box.right,
          head,
          cell,
          page: document.documentElement.scrollWidth - innerWidth,
        };
      });
    const before = await fit();
    assert.ok(before.over > 0, 'four value columns do not fit 1280 px');
    assert.equal(before.page, 0, 'the page itself does not slide sideways');
    await page.$eval('.table', (t) => {
      t.scrollLeft = t.scrollWidth;
    });
    const after = await fit();
    assert.ok(after.head !== undefined && after.cell !== undefined);
    assert.ok(after.head.right <= after.right, `the last column comes into view (${after.head.right} > ${after.right})`);
    assert.ok(Math.abs(after.head.left - after.cell.left) < 2, 'its cells move with its head');
    await shot(page, 'fleet-columns-wide');
    await page.click('summary:has-text("Value columns")');
    for (const m of ['humidity', 'battery', 'speed']) await page.uncheck(`input[name=metric][value=${m}]`, WAIT);
    await page.keyboard.press('Escape');
  });

  it('map: trackers appear by position with their status, and a tracker’s page draws its trail', async () => {
    await page.click('nav.rail >> text=Map');
    await page.waitForSelector('[data-marker="tracker-0001"][data-tone="good"]', WAIT);
    await page.waitForSelector('[data-marker="tracker-0002"]', WAIT);
    // Thermostats report no position.
    assert.equal(await page.$('[data-marker="thermo-0001"]'), null);
    assert.match((await page.textContent('[data-testid=map-count]')) ?? '', /^2 of \d+ devices report a position/);
    // No tiles unless a tile URL is set: nothing is fetched from outside.
    assert.equal(await page.$('.coord-view image'), null);
    await shot(page, 'map');
    await page.click('[data-marker="tracker-0001"]');
    await page.waitForURL(/\/devices\/tracker-0001/, WAIT);
    await page.waitForSelector('[data-testid=trail]', WAIT);
    await shot(page, 'trail');
  });

  it('dashboard: arranged from panels by keyboard, saved per operator on the hub (a fresh browser shows it), shared by URL', async () => {
    await page.click('nav.rail >> text=Dashboard');
    // A starter layout: counts and events.
    await page.waitForSelector('[data-panel=count] tr[data-count=online]:has-text("4")', WAIT);
    await page.click('button:has-text("Arrange")');
    // A single value with an alarm threshold the thermostat is sure to pass.
    await page.selectOption('select[name=panel-kind]', 'value');
    await page.fill('input[name=panel-devices]', 'thermo-0001');
    await page.fill('input[name=panel-metric]', 'temperature');
    await page.fill('input[name=panel-alarm]', '-50');
    await page.press('input[name=panel-alarm]', 'Enter');
    await page.waitForSelector('[data-panel=value] [data-state=alarm]:has-text("alarm")', WAIT);
    // A chart across two devices.
    await page.selectOption('select[name=panel-kind]', 'chart');
    await page.fill('input[name=panel-devices]', 'thermo-0001, thermo-0002');
    await page.fill('input[name=panel-metric]', 'temperature');
    await page.fill('input[name=panel-minutes]', '15');
    await page.press('input[name=panel-minutes]', 'Enter');
    await page.waitForSelector('[data-panel=chart] canvas', WAIT);
    // Wrong input is said in words where it was entered.
    await page.selectOption('select[name=panel-kind]', 'value');
    await page.fill('input[name=panel-devices]', '');
    await page.press('input[name=panel-metric]', 'Enter');
    await page.waitForSelector('form[aria-label="Add a panel"] [role=alert]:has-text("name one device")', WAIT);
    await page.click('button:has-text("Done arranging")');
    await shot(page, 'dashboard');
    const panels = await page.$$eval('[data-panel]', (els) => els.map((e) => e.getAttribute('data-panel')));
    assert.deepEqual(panels, ['count', 'count', 'events', 'value', 'chart']);

    // Saved for this operator: a reload keeps it.
    await page.reload();
    await page.waitForSelector('[data-panel=chart] canvas', WAIT);

    // Saved on the hub: a fresh browser (its own profile, nothing in localStorage)
    // signed in as the same operator shows the same panels. In it, an operator whose
    // dashboard a console kept only in the browser (before the hub kept them) has it
    // moved up to the hub when the dashboard opens.
    const fresh = await openPage(errors);
    try {
      const p2 = fresh.page;
      await p2.goto(`${hub.http}/dashboard`);
      await p2.fill('#login-user', 'admin');
      await p2.fill('#login-password', ADMIN_PASSWORD);
      await p2.click('button[type=submit]');
      await p2.waitForSelector('[data-panel=chart] canvas', WAIT);
      assert.deepEqual(
        await p2.$$eval('[data-panel]', (els) => els.map((e) => e.getAttribute('data-panel'))),
        ['count', 'count', 'events', 'value', 'chart'],
        'the dashboard saved in the first browser',
      );
      await shot(p2, 'dashboard-fresh-browser');
      await p2.click('button:has-text("Log out")');
      await p2.evaluate(() =>
        localStorage.setItem('halyard.dashboard.nina', JSON.stringify({ panels: [{ kind: 'events', title: 'Old', limit: 5 }] })),
      );
      await p2.goto(`${hub.http}/dashboard`);
      await p2.fill('#login-user', 'nina');
      await p2.fill('#login-password', 'nina-password-1');
      await p2.click('button[type=submit]');
      await p2.waitForSelector('[data-testid=dashboard-note]:has-text("now saved on the hub")', WAIT);
      const nina = new Api(hub.http);
      await nina.login('nina', 'nina-password-1');
      const saved = (await nina.call('GET', '/me/dashboard')) as { panels: unknown[] };
      assert.deepEqual(saved.panels, [{ kind: 'events', title: 'Old', limit: 5 }]);
    } finally {
      await fresh.context.close();
      removeDir(fresh.profile);
    }
    const link = (await page.getAttribute('[data-testid=dashboard-link]', 'href')) as string;
    assert.match(link, /\/dashboard\?d=[A-Za-z0-9_-]+$/);

    // Another operator opening the link sees the same panels, and can keep them.
    await page.click('button:has-text("Log out")');
    await page.goto(link);
    await page.fill('#login-user', 'nina');
    await page.fill('#login-password', 'nina-password-1');
    await page.click('button[type=submit]');
    await page.waitForSelector('[role=status]:has-text("A shared dashboard from a link (5 panels)")', WAIT);
    await page.waitForSelector('[data-panel=value] [data-state=alarm]', WAIT);
    await page.click('button:has-text("Keep as my dashboard")');
    await page.waitForSelector('[data-testid=dashboard-note]:has-text("Saved as your dashboard")', WAIT);
    // Once arranged (kept), the dashboard is the operator's home page.
    await page.goto(`${hub.http}/`);
    await page.waitForSelector('[data-panel=chart] canvas', WAIT);
    assert.equal(await page.getAttribute('nav.rail a[aria-current=page]', 'href'), '/dashboard');
  });

  it('provisioning: the connect snippet as shown runs as a device that the hub accepts and stores a reading from', async () => {
    await page.goto(`${hub.http}/provision`);
    await page.fill('input[name=id]', 'snippet-1');
    await page.click('button:has-text("Create device")');
    const token = ((await page.textContent('[data-testid=device-token]', WAIT)) ?? '').trim();
    const snippet = (await page.textContent('[data-testid=connect-snippet]')) ?? '';
    // Inside the repository so its imports (ws, @halyard/firmware-protocol) resolve as after `npm install`.
    const dir = mkdtempSync(join(ROOT, 'test-output', 'snippet-'));
    writeFileSync(join(dir, 'snippet-1.token'), `${token}\n`);
    writeFileSync(join(dir, 'device.mjs'), snippet);
    const child = spawn(process.execPath, ['device.mjs'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      out += c.toString();
    });
    try {
      // WELCOME, then the ACK of the one reading (seq 1).
      await eventually(async () => /type: 4,\s*seq: 1/.test(out), "the hub ACKs the snippet's reading", 15_000).catch((err: Error) => {
        throw new Error(`${err.message}\nsnippet output:\n${out}`);
      });
      const latest = (await api.call('GET', '/devices/snippet-1/telemetry/latest')) as { metrics: { name: string; v?: number }[] };
      assert.equal(latest.metrics.find((m) => m.name === 'temperature')?.v, 21.5);
    } finally {
      child.kill('SIGTERM');
      removeDir(dir);
    }
    await page.click('button:has-text("Provision another")');
  });
});
