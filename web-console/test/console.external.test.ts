// The web console end to end, in real headless Chromium: a real hub process, real
// simulated devices (device-sim), and the built console the hub serves. Walks the
// issue's flow (log in, presence live, a growing chart, a command to succeeded, desired
// followed by reported, provisioning with the shown token, a viewer without controls,
// reconnecting after a hub restart) and saves screenshots under test-output/console/.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type DeviceSpec, type Fleet, startFleet } from '@halyard/device-sim';
import type { BrowserContext, Page } from 'playwright-core';
import {
  ADMIN_PASSWORD,
  type Api,
  type HubProcess,
  OUT,
  openPage,
  provision,
  type SimProcess,
  startConsoleHub,
  startSimCommand,
  tearDown,
} from './e2e-support.ts';

const WAIT = { timeout: 15_000 };
/** Devices retry fast, so a hub restart is over in seconds. */
const BACKOFF = { baseMs: 200, capMs: 1_000 };

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(OUT, `${name}.png`), fullPage: false });
}

async function logIn(page: Page, username: string, password: string): Promise<void> {
  await page.fill('#login-user', username);
  await page.fill('#login-password', password);
  await page.click('button[type=submit]');
  await page.waitForSelector('.conn[data-state="live"]', WAIT);
}

async function count(page: Page, status: string): Promise<number> {
  return Number(await page.textContent(`[data-testid="count-${status}"]`));
}

async function waitCount(page: Page, status: string, n: number): Promise<void> {
  await page.waitForFunction(
    ([s, want]) => document.querySelector(`[data-testid="count-${s}"]`)?.textContent === String(want),
    [status, n],
    WAIT,
  );
}

describe('web console in Chromium', () => {
  let hub: HubProcess;
  let api: Api;
  let context: BrowserContext;
  let profile: string;
  let page: Page;
  let steady: Fleet;
  let flaky: Fleet | undefined;
  let flakySpec: DeviceSpec[];
  let sim: SimProcess | undefined;
  const errors: string[] = [];

  before(async () => {
    ({ hub, api } = await startConsoleHub());
    await api.call('POST', '/operators', { username: 'vera', password: 'viewer-password', role: 'viewer' });
    const thermos = await provision(hub, 3, 'thermo-', 'thermostat');
    flakySpec = await provision(hub, 1, 'relay-', 'relay');
    steady = startFleet({ hub: hub.ws, devices: thermos, rate: 2, backoff: BACKOFF, seed: 22 });
    flaky = startFleet({ hub: hub.ws, devices: flakySpec, rate: 1, backoff: BACKOFF, seed: 23 });
    ({ context, profile, page } = await openPage(errors));
  });

  after(() => tearDown({ context, profile, hub }, steady, flaky, sim));

  it('logs in and shows the operator, the hub and the fleet live', async () => {
    await page.goto(`${hub.http}/fleet`);
    await page.waitForSelector('#login-user', WAIT);
    await shot(page, 'login');
    await page.fill('#login-user', 'admin');
    await page.fill('#login-password', 'wrong-password');
    await page.click('button[type=submit]');
    await page.waitForSelector('[role=alert]:has-text("wrong username or password")', WAIT);
    await logIn(page, 'admin', ADMIN_PASSWORD);
    assert.match((await page.textContent('[data-testid=operator]')) ?? '', /admin.*\(admin\)/);
    assert.equal(await page.textContent('.brand'), 'e2e-hubHalyard');
    await waitCount(page, 'online', 4);
    await page.waitForSelector('a[data-device="thermo-0001"]', WAIT);
    await shot(page, 'fleet');
  });

  it('shows a device going offline and online again without a reload', async () => {
    const row = 'a[data-device="relay-0001"]';
    await page.waitForSelector(`${row}:has-text("online")`, WAIT);
    await flaky?.stop();
    flaky = undefined;
    await page.waitForSelector(`${row}:has-text("offline")`, WAIT);
    await waitCount(page, 'online', 3);
    assert.equal(await count(page, 'offline'), 1);
    // The status counts filter the table, and the URL keeps the filter.
    await page.click('button[data-status="offline"]');
    await page.waitForFunction(() => location.search === '?status=offline', undefined, WAIT);
    assert.equal(await page.locator('a[data-device]').count(), 1);
    await shot(page, 'fleet-offline-filter');
    await page.click('button[data-status="offline"]');
    flaky = startFleet({ hub: hub.ws, devices: flakySpec, rate: 1, backoff: BACKOFF, seed: 23 });
    await page.waitForSelector(`${row}:has-text("online")`, WAIT);
    await waitCount(page, 'online', 4);
  });

  it('opens a device and its chart grows with live points', async () => {
    await page.click('a[data-device="thermo-0001"]');
    await page.waitForSelector('[data-testid=device-status]:has-text("online")', WAIT);
    const chart = '[data-chart="temperature"]';
    await page.waitForSelector(chart, WAIT);
    const before = Number(await page.getAttribute(chart, 'data-points'));
    await page.waitForFunction(
      ([sel, n]) => Number(document.querySelector(sel as string)?.getAttribute('data-points')) > (n as number),
      [chart, before],
      WAIT,
    );
    await page.waitForSelector('[data-metric="temperature"]', WAIT);
    await shot(page, 'device-telemetry');
  });

  it('sends a command and shows it reaching succeeded', async () => {
    await page.click('nav.tabs >> text=Commands');
    // The thermostat accepts set_setpoint first and answers 50 ms later: every state shows.
    await page.fill('input[name=command]', 'set_setpoint');
    await page.fill('textarea[name=params]', '{"value": 22}');
    await page.click('form[aria-label="Send a command"] button[type=submit]');
    const done = await page.waitForSelector('li[data-command][data-state="succeeded"]', WAIT);
    const text = (await done.textContent()) ?? '';
    assert.match(text, /queued.*sent.*accepted.*succeeded/s);
    assert.match(text, /"setpoint": 22/);
    // A malformed params document is refused in the form, in words, before anything is sent.
    await page.fill('textarea[name=params]', '{"echo": }');
    await page.waitForSelector('.field-error:has-text("not valid JSON")', WAIT);
    await shot(page, 'device-commands');
    await page.fill('textarea[name=params]', '{}');
  });

  it('edits desired and shows reported following; a conflicting edit is explained', async () => {
    await page.click('nav.tabs >> text=Twin');
    await page.waitForSelector('[data-testid=desired-version]', WAIT);
    await page.click('button:has-text("Edit desired")');
    await page.fill('#desired-editor', '{"setpoint": 23.5}');
    await page.click('button:has-text("Save desired")');
    await page.waitForSelector('[data-testid=desired-version]:has-text("version 1")', WAIT);
    await page.waitForSelector('pre[data-doc="Reported document"]:has-text("23.5")', WAIT);
    await page.waitForSelector('[data-testid=twin-sync]:has-text("In sync")', WAIT);
    await shot(page, 'device-twin');

    // Someone else writes version 2 while this editor holds version 1.
    await page.click('button:has-text("Edit desired")');
    await page.fill('#desired-editor', '{"setpoint": 19}');
    await api.call('PATCH', '/devices/thermo-0001/twin/desired', { mode: 'auto' }, { 'if-match': '1' });
    await page.waitForSelector('[data-testid=desired-version]:has-text("version 2")', WAIT);
    await page.click('button:has-text("Save desired")');
    await page.waitForSelector('[role=alert]:has-text("was saved by admin while you edited version 1")', WAIT);
    await shot(page, 'device-twin-conflict');
    await page.click('button:has-text("Apply my changes on top of version 2")');
    await page.waitForSelector('[data-testid=desired-version]:has-text("version 3")', WAIT);
    await page.waitForSelector('pre[data-doc="Desired document"]:has-text("auto")', WAIT);
    await page.waitForSelector('pre[data-doc="Reported document"]:has-text("19")', WAIT);
  });

  it('provisions a device whose shown token connects a simulated device', async () => {
    await page.click('nav.rail >> text=Provision');
    await page.fill('input[name=id]', 'e2e-new');
    await page.fill('input[name=tags]', 'e2e, lab');
    await page.click('button:has-text("Create device")');
    const token = ((await page.textContent('[data-testid=device-token]', WAIT)) ?? '').trim();
    assert.match(token, /^e2e-new\./);
    await shot(page, 'provision-token');
    // The secret stays off the command line (shell history, ps): the command reads the downloaded file.
    const runSim = (await page.textContent('[data-testid=sim-command]')) ?? '';
    assert.ok(!runSim.includes(token.split('.').pop() as string), 'no secret in the command');
    assert.equal(runSim.split('\n').length, 1, 'one line to copy');
    const download = page.waitForEvent('download');
    await page.click('button:has-text("Download e2e-new.token")');
    const saved = await download;
    assert.equal(saved.suggestedFilename(), 'e2e-new.token');
    const fileText = readFileSync((await saved.path()) as string, 'utf8');
    assert.equal(fileText.trim(), token);
    // Run the command line exactly as shown (the simulator's CLI from source, so no build is needed), next to the saved file.
    sim = startSimCommand(runSim, ['--backoff-base', '200ms', '--backoff-cap', '1s'], { 'e2e-new.token': fileText });
    assert.ok(((await page.textContent('[data-testid=connect-snippet]')) ?? '').includes("readFileSync('e2e-new.token'"));
    // Leaving the token's page asks first (the token is not shown again); yes.
    page.once('dialog', (d) => void d.accept());
    await page.click('a:has-text("Open e2e-new")');
    await page.waitForSelector('[data-testid=device-status]:has-text("online")', WAIT).catch((err: Error) => {
      throw new Error(`${err.message}\nsimulator output:\n${sim?.output()}`);
    });
  });

  it('shows the hub, events and admin screens', async () => {
    await page.click('nav.rail >> text=Hub');
    await page.waitForSelector('.chart canvas', WAIT);
    await page.waitForFunction(() => /devices? connected/.test(document.body.textContent ?? ''), undefined, WAIT);
    await shot(page, 'hub');
    await page.click('nav.rail >> text=Events');
    await page.waitForSelector('h1:has-text("Events")', WAIT);
    await shot(page, 'events');
    await page.click('nav.rail >> text=Admin');
    await page.waitForSelector('tr[data-operator="vera"]', WAIT);
    await shot(page, 'admin-operators');
    await page.click('nav.tabs >> text=Audit log');
    await page.waitForSelector('td:has-text("twin.desired.patch")', WAIT);
    await shot(page, 'admin-audit');
    // Narrowed to a family of actions, by keyboard.
    const audit = page.locator('form[aria-label="Filter the audit log"]');
    await audit.getByLabel('Action').fill('twin.');
    await audit.getByLabel('Action').press('Enter');
    await page.waitForFunction(
      () => {
        const cells = [...document.querySelectorAll('section[aria-label="Audit log"] tbody tr td:nth-child(3)')];
        return cells.length > 0 && cells.every((td) => td.textContent?.startsWith('twin.'));
      },
      undefined,
      WAIT,
    );
    await audit.getByLabel('Action').fill('no.such.');
    await audit.getByLabel('Action').press('Enter');
    await page.waitForSelector('[data-testid=audit-none]:has-text("No entry matches this filter.")', WAIT);
    // A refused filter: said in words, at its box.
    await audit.getByLabel('Action').fill('Twin');
    await audit.getByLabel('Action').press('Enter');
    await page.waitForSelector('form[aria-label="Filter the audit log"] [name=action][aria-invalid=true]', WAIT);
    await page.waitForSelector('section[aria-label="Audit log"] [role=alert]:has-text("action:")', WAIT);
  });

  it('works in a narrow window and in the dark theme', async () => {
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.goto(`${hub.http}/devices/thermo-0001/telemetry`);
    await page.waitForSelector('[data-chart="temperature"] canvas', WAIT);
    await shot(page, 'device-telemetry-dark');
    await page.setViewportSize({ width: 420, height: 800 });
    await page.goto(`${hub.http}/fleet`);
    await page.waitForSelector('a[data-device="thermo-0001"]', WAIT);
    await shot(page, 'fleet-narrow-dark');
    // The top bar keeps one line on a phone, down to 375 px (a line is about 38 px).
    for (const width of [420, 375]) {
      await page.setViewportSize({ width, height: 800 });
      const top = await page.locator('header.top').boundingBox();
      assert.ok(top && top.height < 50, `the top bar at ${width} px is ${top?.height} px high`);
    }
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.emulateMedia({ colorScheme: 'light' });
  });

  it('shows reconnecting while the hub restarts, then resubscribes on its own', async () => {
    await page.goto(`${hub.http}/fleet`);
    await waitCount(page, 'online', 5);
    await hub.stop();
    await page.waitForSelector('.conn[data-state="reconnecting"], .conn[data-state="lost"]', WAIT);
    await shot(page, 'reconnecting');
    hub = await hub.restart();
    await page.waitForSelector('.conn[data-state="live"]', { timeout: 30_000 });
    // The fleet subscription was renewed: devices reconnect and show online again, live.
    await waitCount(page, 'online', 5);
  });

  it('shows a viewer no controls it cannot use', async () => {
    await page.click('button:has-text("Log out")');
    await page.waitForSelector('.notice:has-text("You have logged out")', WAIT);
    await logIn(page, 'vera', 'viewer-password');
    assert.match((await page.textContent('[data-testid=operator]')) ?? '', /vera.*\(viewer\)/);
    assert.equal(await page.locator('nav.rail >> text=Provision').count(), 0);
    assert.equal(await page.locator('nav.rail >> text=Admin').count(), 0);
    await page.goto(`${hub.http}/devices/thermo-0001/commands`);
    await page.waitForSelector('h2:has-text("History")', WAIT);
    assert.equal(await page.locator('form[aria-label="Send a command"]').count(), 0);
    assert.equal(await page.locator('nav.tabs >> text=Credentials').count(), 0);
    assert.equal(await page.locator('button:has-text("Cancel")').count(), 0);
    await page.click('nav.tabs >> text=Twin');
    await page.waitForSelector('[data-testid=desired-version]', WAIT);
    assert.equal(await page.locator('button:has-text("Edit desired")').count(), 0);
    await shot(page, 'viewer-device');
    // The hub checks too: the viewer's own session cannot create a command over the API.
    const status = await page.evaluate(async () => {
      const r = await fetch('/api/v1/devices/thermo-0001/commands', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'reboot' }),
      });
      return r.status;
    });
    assert.equal(status, 403);
    assert.deepEqual(errors, [], 'no uncaught errors in the page');
  });
});
