// The defects an operator met in a first session (issue 19), each checked in real
// headless Chromium against a real hub and simulated devices: the device tab bar with
// tall content, reconnecting after an outage, command rows, the twin's stuck keys,
// the events feed, device editing. Screenshots go to test-output/console/first-*.png.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type DeviceSpec, type Fleet, startFleet } from '@halyard/device-sim';
import { DEVICE_SUBPROTOCOL, encode, MessageType, PROTOCOL_VERSION } from '@halyard/firmware-protocol';
import type { BrowserContext, Page } from 'playwright-core';
import WebSocket from 'ws';
import { Api, type HubProcess, logIn, OUT, openPage, provision, startConsoleHub, tearDown } from './e2e-support.ts';

const WAIT = { timeout: 15_000 };
const BACKOFF = { baseMs: 200, capMs: 1_000 };
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 375, height: 640 };

/** Polls a condition on the hub (its writes land in batches) until it holds. */
async function until(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('the condition did not hold in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(OUT, `first-${name}.png`), fullPage: false });
}

describe('an operator’s first session (issue 19)', () => {
  let hub: HubProcess;
  let api: Api;
  let context: BrowserContext;
  let profile: string;
  let page: Page;
  let fleet: Fleet | undefined;
  let lateFleet: Fleet | undefined;
  let late: DeviceSpec[];
  let skewed: DeviceSpec[];
  const errors: string[] = [];

  before(async () => {
    ({ hub, api } = await startConsoleHub());
    const meters = await provision(hub, 1, 'meter-', 'power-meter');
    const thermos = await provision(hub, 1, 'thermo-', 'thermostat');
    const relays = await provision(hub, 1, 'relay-', 'relay');
    await api.call('POST', '/devices', { id: 'never-1', tags: ['lab'] });
    skewed = await provision(hub, 1, 'skewed-', 'relay');
    late = await provision(hub, 1, 'late-', 'relay');
    fleet = startFleet({ hub: hub.ws, devices: [...meters, ...thermos, ...relays], rate: 2, backoff: BACKOFF });
    ({ context, profile, page } = await openPage(errors));
    await logIn(page, hub);
    await page.waitForSelector('a[data-device="meter-0001"]:has-text("online")', WAIT);
  });

  after(() => tearDown({ context, profile, hub }, fleet, lateFleet));

  it('keeps the device tab bar whole and every tab reachable with tall content, on desktop and phone', async () => {
    for (const [size, viewport] of [
      ['desktop', DESKTOP],
      ['phone', PHONE],
    ] as const) {
      await page.setViewportSize(viewport);
      await page.goto(`${hub.http}/devices/meter-0001/telemetry`);
      // Four charts: taller than either window.
      await page.waitForSelector('[data-chart="energy"] canvas', WAIT);
      const tall = await page.evaluate(() => {
        const main = document.querySelector('#main') as HTMLElement;
        return main.scrollHeight > main.clientHeight;
      });
      assert.ok(tall, `the telemetry tab is taller than the ${size} window`);
      const height = await page.evaluate(() => document.querySelector('nav.tabs')?.getBoundingClientRect().height ?? 0);
      assert.ok(height >= 28, `the tab bar keeps its height on ${size} (${height} px)`);
      await shot(page, `tabs-${size}`);
      for (const tab of ['Twin', 'Commands', 'Events', 'Presence', 'Credentials', 'Telemetry']) {
        await page.click(`nav.tabs >> text=${tab}`, { timeout: 5_000 });
        await page.waitForFunction((t) => location.pathname.endsWith(`/${t.toLowerCase()}`), tab, WAIT);
      }
      // The Admin screen's tabs too (operators, integrators, audit).
      await page.goto(`${hub.http}/admin/audit`);
      await page.waitForSelector('nav.tabs', WAIT);
      const adminHeight = await page.evaluate(() => document.querySelector('nav.tabs')?.getBoundingClientRect().height ?? 0);
      assert.ok(adminHeight >= 28, `the admin tab bar keeps its height on ${size} (${adminHeight} px)`);
    }
    await page.setViewportSize(DESKTOP);
  });

  it('reconnects within seconds of the hub coming back, and the device page says it is not live meanwhile', async () => {
    await page.goto(`${hub.http}/devices/thermo-0001/telemetry`);
    await page.waitForSelector('[data-testid=device-status]:has-text("online")', WAIT);
    await hub.stop();
    await page.waitForSelector('.conn[data-state="reconnecting"], .conn[data-state="lost"]', WAIT);
    // A 9 s outage (the issue's): the longest wait the dot announces stays a few seconds.
    // (A string, so the test runner's transform adds no helper the page lacks.)
    const longest = (await page.evaluate(`new Promise((done) => {
      let max = 0;
      const obs = new MutationObserver(() => {
        const m = /retrying in (\\d+) s/.exec(document.querySelector('.conn')?.getAttribute('title') ?? '');
        if (m) max = Math.max(max, Number(m[1]));
      });
      obs.observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
      setTimeout(() => { obs.disconnect(); done(max); }, 9000);
    })`)) as number;
    assert.ok(longest <= 5, `the console waits at most a few seconds between attempts (saw ${longest} s)`);
    // Returning to the tab skips the rest of the wait: with 2 s or more still to go, an
    // attempt starts at once ("trying again now").
    await page.waitForFunction(
      () => /retrying in ([2-9]|\d\d) s/.test(document.querySelector('.conn')?.getAttribute('title') ?? ''),
      undefined,
      WAIT,
    );
    const triedAtOnce = await page.evaluate(`new Promise((done) => {
      const obs = new MutationObserver(() => {
        if ((document.querySelector('.conn')?.getAttribute('title') ?? '').includes('trying again now')) { obs.disconnect(); done(true); }
      });
      obs.observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
      document.dispatchEvent(new Event('visibilitychange'));
      setTimeout(() => { obs.disconnect(); done(false); }, 500);
    })`);
    assert.equal(triedAtOnce, true, 'a visible page retries at once');
    // The device page shows the same banner as the fleet page.
    await page.waitForSelector('.notice[data-testid=stale]:has-text("Not live")', WAIT);
    await shot(page, 'device-not-live');
    hub = await hub.restart();
    // The wait between attempts is checked above (at most 5 s); the bound here is three of
    // them, so that a loaded machine's slow restart is not taken for a console that gave up.
    await page.waitForSelector('.conn[data-state="live"]', { timeout: 15_000 });
    await page.waitForSelector('.notice[data-testid=stale]', { state: 'detached', ...WAIT });
  });

  it('says in the row why a command was rejected, when an open one gives up, and delays in seconds', async () => {
    await page.goto(`${hub.http}/devices/thermo-0001/commands`);
    await page.fill('input[name=command]', 'set_setpoint');
    await page.fill('textarea[name=params]', '{"value": 99}');
    await page.click('form[aria-label="Send a command"] button[type=submit]');
    const why = page.locator('li[data-command][data-state="rejected"] > [data-testid=command-outcome]').first();
    await why.waitFor(WAIT);
    assert.match((await why.textContent()) ?? '', /^bad_params: expected a setpoint/);

    // A command for a device that has never connected waits, and says until when.
    const queued = (await api.call('POST', '/devices/never-1/commands', { name: 'ping', ttl: '10m' })) as { id: string };
    await page.goto(`${hub.http}/devices/never-1/commands`);
    const due = page.locator(`li[data-command="${queued.id}"] [data-testid=command-deadline]`);
    await due.waitFor(WAIT);
    assert.match((await due.textContent()) ?? '', /^expires in (9 min \d+ s|10 min 0 s) \(at \d\d:\d\d:\d\d\)$/);

    // A device that connects a while after its command was queued: the delay reads in seconds.
    const cmd = (await api.call('POST', '/devices/late-0001/commands', { name: 'ping' })) as { id: string };
    await page.goto(`${hub.http}/devices/late-0001/commands`);
    const row = `li[data-command="${cmd.id}"]`;
    // The row's own age says the command has waited 2 s or more.
    await page.waitForSelector(`${row} .cmd-head:has-text("s ago")`, WAIT);
    lateFleet = startFleet({ hub: hub.ws, devices: late, rate: 1, backoff: BACKOFF });
    await page.waitForSelector(`${row}[data-state="succeeded"]`, WAIT);
    const timeline = (await page.textContent(`${row} ol.timeline`)) ?? '';
    assert.doesNotMatch(timeline, /\d{4,} ms/, timeline);
    assert.match(timeline, /sent\s*\+\d+\.\d s/, timeline);
    await shot(page, 'commands');
    // A primary button stays readable under the pointer: its text is not the hover background's colour.
    await page.hover('button:has-text("Send command")');
    const [fg, bg] = await page.$eval('button:has-text("Send command")', (b) => [
      getComputedStyle(b).color,
      getComputedStyle(b).backgroundColor,
    ]);
    assert.notEqual(fg, bg);
    assert.notEqual(bg, 'rgb(238, 240, 243)', 'not the light hover background under white text');
    // TTL and timeout side by side in equal columns; an error in place of a hint moves neither.
    const boxes = async () =>
      Promise.all(['ttl', 'timeout'].map(async (n) => (await page.locator(`input[name=${n}]`).boundingBox()) as { x: number; y: number }));
    const [ttl, timeout] = await boxes();
    assert.ok(ttl && timeout && ttl.y === timeout.y && ttl.x < timeout.x, 'TTL and timeout on one line');
    await page.fill('input[name=ttl]', 'soon');
    await page.waitForSelector('.field-error:has-text("a duration such as")', WAIT);
    assert.deepEqual(await boxes(), [ttl, timeout], 'the error moved neither field');
    await page.fill('input[name=ttl]', '');
  });

  it('tells a twin key the device ignores from one it is applying, and never calls an unseen device in sync', async () => {
    await page.goto(`${hub.http}/devices/never-1/twin`);
    const sync = '[data-testid=twin-sync]';
    await page.waitForSelector(`${sync}[data-state="never"]:has-text("Never connected")`, WAIT);
    assert.doesNotMatch((await page.textContent(sync)) ?? '', /In sync/);

    // The console's setting (README): keys not applied after 3 s count as not applied.
    await page.evaluate(() => localStorage.setItem('halyard.twinNotAppliedAfter', '3s'));
    await page.goto(`${hub.http}/devices/thermo-0001/twin`);
    await page.waitForSelector('[data-testid=desired-version]', WAIT);
    // The thermostat applies setpoint and mode; it ignores anything else.
    const twin = (await api.call('GET', '/devices/thermo-0001/twin')) as { desiredVersion: number };
    await api.call('PATCH', '/devices/thermo-0001/twin/desired', { fan: 'high' }, { 'if-match': String(twin.desiredVersion) });
    const waiting = await page.waitForSelector(`${sync}[data-state="waiting"]`, WAIT);
    assert.match((await waiting.textContent()) ?? '', /key fan .*desired since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d/);
    const stuck = await page.waitForSelector(`${sync}[data-state="not-applied"]`, WAIT);
    assert.match((await stuck.textContent()) ?? '', /^Not applied.*has not applied key fan/);
    await shot(page, 'twin-not-applied');
    await page.evaluate(() => localStorage.removeItem('halyard.twinNotAppliedAfter'));
  });

  it('orders events by when the hub received them, shows a wrong device clock, keeps the filter in the URL, and lists connects', async () => {
    const spec = skewed[0] as DeviceSpec;
    // A device whose clock runs an hour ahead, by hand: HELLO, then an event stamped with its clock.
    const ws = new WebSocket(`${hub.ws}/v1/device`, DEVICE_SUBPROTOCOL, { headers: { authorization: `Bearer ${spec.token}` } });
    await once(ws, 'open');
    const welcome = once(ws, 'message');
    ws.send(encode({ type: MessageType.Hello, proto: PROTOCOL_VERSION, fw: '1.0.0', model: 'hand-made' }));
    await welcome;
    const hourAhead = (Date.now() + 3_600_000) / 1000;
    ws.send(encode({ type: MessageType.Event, seq: 1, name: 'from_the_future', level: 2, t: hourAhead }));
    await page.goto(`${hub.http}/events`);
    const future = 'tr[data-event="from_the_future"]';
    await page.waitForSelector(future, WAIT);
    assert.match((await page.textContent(`${future} [data-testid=device-time]`, WAIT)) ?? '', /device clock .* \(1 h 0 min ahead\)/);
    // An event with a true clock, received later, goes above it.
    ws.send(encode({ type: MessageType.Event, seq: 2, name: 'on_time', level: 2 }));
    await page.waitForSelector('tr[data-event="on_time"]', WAIT);
    const order = await page.$$eval('tbody tr[data-kind="event"]', (rows) => rows.map((r) => r.getAttribute('data-event')));
    assert.ok(order.indexOf('on_time') < order.indexOf('from_the_future'), `newest received first: ${order.join(', ')}`);

    // The device's connect is in the feed (live), and its disconnect when it goes.
    ws.close();
    await page.waitForSelector(`tr[data-kind="presence"][data-event="disconnected"]:has-text("${spec.id}")`, WAIT);
    await shot(page, 'events');

    // The filter lives in the URL: a reload keeps it.
    await page.fill('input[aria-label="Filter events"]', 'future');
    await page.selectOption('select[name=level]', '2');
    await page.waitForFunction(() => new URLSearchParams(location.search).get('q') === 'future', undefined, WAIT);
    await page.reload();
    await page.waitForSelector(future, WAIT);
    assert.equal(await page.inputValue('input[aria-label="Filter events"]'), 'future');
    assert.equal(await page.inputValue('select[name=level]'), '2');
    assert.equal(await page.locator('tr[data-event="on_time"]').count(), 0);

    // The device's own Events tab has its connects and disconnects from history (once the hub has stored them).
    await until(async () => ((await api.call('GET', `/devices/${spec.id}/presence`)) as { presence: unknown[] }).presence.length >= 2);
    await page.goto(`${hub.http}/devices/${spec.id}/events`);
    await page.waitForSelector('tr[data-kind="presence"][data-event="connected"]', WAIT);
    await page.waitForSelector('tr[data-kind="presence"][data-event="disconnected"]', WAIT);
  });

  it('edits a device’s name and tags, refuses duplicate tags, hides an offline RTT, names the page in the title', async () => {
    await page.goto(`${hub.http}/devices/thermo-0001/twin`);
    await page.waitForSelector('[data-testid=device-status]', WAIT);
    await page.waitForFunction(() => document.title === 'thermo-0001 · Twin · Halyard', undefined, WAIT);
    await page.click('button:has-text("Edit name and tags")');
    // The form opens with the cursor in it and works from the keyboard.
    await page.waitForFunction(() => document.activeElement?.getAttribute('name') === 'name', undefined, WAIT);
    await page.keyboard.press('Control+A');
    await page.keyboard.type('Boiler room');
    await page.fill('form[aria-label="Edit device"] input[name=tags]', 'lab, floor-2, lab');
    const dup = await page.waitForSelector('.field-error:has-text("is listed twice")', WAIT);
    assert.equal(await dup.textContent(), '"lab" is listed twice');
    assert.equal(await page.isDisabled('form[aria-label="Edit device"] button[type=submit]'), true);
    await page.fill('form[aria-label="Edit device"] input[name=tags]', 'lab, floor-2');
    await page.press('form[aria-label="Edit device"] input[name=tags]', 'Enter');
    await page.waitForSelector('form[aria-label="Edit device"]', { state: 'detached', ...WAIT });
    const d = (await api.call('GET', '/devices/thermo-0001')) as { name: string; tags: string[] };
    assert.deepEqual([d.name, d.tags], ['Boiler room', ['lab', 'floor-2']]);
    await page.waitForSelector('.device-head:has-text("Boiler room")', WAIT);
    await shot(page, 'device-edited');

    // RTT is for a device online now: gone with the device.
    const spec = skewed[0] as DeviceSpec;
    const ws = new WebSocket(`${hub.ws}/v1/device`, DEVICE_SUBPROTOCOL, { headers: { authorization: `Bearer ${spec.token}` } });
    await once(ws, 'open');
    ws.send(encode({ type: MessageType.Hello, proto: PROTOCOL_VERSION, fw: '1.0.0', model: 'hand-made' }));
    await page.goto(`${hub.http}/fleet`);
    await page.waitForFunction(() => document.title === 'Fleet · Halyard', undefined, WAIT);
    const row = `a[data-device="${spec.id}"]`;
    await page.waitForSelector(`${row}:has-text(" ms")`, WAIT);
    // A cell that may be cut short carries the whole text as its tooltip.
    await page.waitForSelector(`${row} .cell[title="hand-made"]`, WAIT);
    ws.close();
    await page.waitForSelector(`${row}:has-text("offline")`, WAIT);
    assert.doesNotMatch((await page.textContent(row)) ?? '', /\d ms/);

    // The search box's placeholder fits, on desktop and phone.
    for (const viewport of [DESKTOP, PHONE]) {
      await page.setViewportSize(viewport);
      const fits = await page.evaluate(`(() => {
        const input = document.querySelector('input[type=search]');
        const style = getComputedStyle(input);
        const ctx = document.createElement('canvas').getContext('2d');
        ctx.font = style.font;
        const room = input.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - 20;
        return [ctx.measureText(input.placeholder).width, room];
      })()`);
      const [text, room] = fits as [number, number];
      assert.ok(text <= room, `the placeholder (${Math.round(text)} px) fits its box (${Math.round(room)} px) at ${viewport.width} px`);
    }
    await page.setViewportSize(DESKTOP);
  });

  it('charts read well: values under the cursor, scaled units, on/off steps, bucket labels, a custom range', async () => {
    await page.goto(`${hub.http}/devices/meter-0001/telemetry`);
    await page.waitForSelector('[data-chart="energy"] canvas', WAIT);
    // Joules in the billions read as watt-hours with a prefix, on the chart and the big number.
    const energyUnit = await page.getAttribute('[data-chart="energy"]', 'data-unit');
    assert.match(energyUnit ?? '', /^[kMG]Wh$/);
    const big = (await page.textContent('[data-metric="energy"] .value')) ?? '';
    assert.doesNotMatch(big, /e\+|J/, big);
    assert.match(big, /Wh/);

    // Hovering a single-series chart reads out the time and the value there.
    const voltage = page.locator('[data-chart="voltage"] .u-over');
    await voltage.scrollIntoViewIfNeeded();
    const box = await voltage.boundingBox();
    assert.ok(box);
    await voltage.hover({ position: { x: box.width - 3, y: box.height / 2 } });
    await page.waitForFunction(
      () => /\d V/.test(document.querySelector('[data-chart="voltage"] .u-legend')?.textContent ?? ''),
      undefined,
      WAIT,
    );
    const legend = (await page.textContent('[data-chart="voltage"] .u-legend')) ?? '';
    assert.match(legend, /\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/, legend);
    await shot(page, 'chart-hover');

    // A bucket width in plain words.
    await page.click('fieldset.ranges button:has-text("24 h")');
    await page.waitForSelector('.toolbar:has-text("averages per 5 min")', WAIT);
    assert.doesNotMatch((await page.textContent('.toolbar')) ?? '', /5 min 0 s/);

    // A custom range, typed.
    await page.click('button:has-text("Custom range")');
    await page.fill('input[name=from]', '2026-01-01T10:00');
    await page.fill('input[name=to]', '2026-01-01T09:00');
    await page.press('input[name=to]', 'Enter');
    await page.waitForSelector('[role=alert]:has-text("the end must come after the start")', WAIT);
    await page.fill('input[name=to]', '2026-01-01T12:00');
    await page.press('input[name=to]', 'Enter');
    await page.waitForSelector('button:has-text("Reset zoom (2026-01-01 10:00:00 – 2026-01-01 12:00:00)")', WAIT);
    // Kept in the URL: a reload (or a shared link) shows the same stretch; Reset zoom takes it out.
    const kept = new URL(page.url()).searchParams;
    assert.equal(new Date(kept.get('from') ?? '').getTime(), new Date(2026, 0, 1, 10).getTime(), page.url());
    assert.equal(new Date(kept.get('to') ?? '').getTime(), new Date(2026, 0, 1, 12).getTime(), page.url());
    await page.reload();
    await page.click('button:has-text("Reset zoom (2026-01-01 10:00:00 – 2026-01-01 12:00:00)")', WAIT);
    await page.waitForFunction(() => !location.search.includes('from='), undefined, WAIT);

    // Zoomed in to two minutes: the time labels stay apart (see the screenshot).
    await page.click('button:has-text("Custom range")');
    const local = (ms: number) => new Date(ms - new Date(ms).getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
    const nowMs = Date.now();
    await page.fill('input[name=from]', local(nowMs - 120_000));
    await page.fill('input[name=to]', local(nowMs + 60_000));
    await page.press('input[name=to]', 'Enter');
    await page.waitForSelector('[data-chart="voltage"] canvas', WAIT);
    await page.locator('[data-chart="voltage"]').scrollIntoViewIfNeeded();
    await shot(page, 'chart-zoomed');

    // A boolean steps between labelled levels: the readout says on or off.
    await page.goto(`${hub.http}/devices/relay-0001/telemetry`);
    await page.waitForSelector('[data-chart="on"] canvas', WAIT);
    const onChart = page.locator('[data-chart="on"] .u-over');
    await onChart.scrollIntoViewIfNeeded();
    const onBox = await onChart.boundingBox();
    assert.ok(onBox);
    await onChart.hover({ position: { x: onBox.width - 3, y: onBox.height / 2 } });
    await page.waitForFunction(
      () => /\b(on|off)$/.test(document.querySelector('[data-chart="on"] .u-legend .u-series:nth-child(2) .u-value')?.textContent ?? ''),
      undefined,
      WAIT,
    );
    await shot(page, 'chart-bool');
  });

  it('admin: disabling asks once, passwords can be set, errors show in the row, failed logins are audited', async () => {
    await api.call('POST', '/operators', { username: 'olga', password: 'first-password', role: 'viewer' });
    await api.call('POST', '/operators', { username: 'gone', password: 'first-password', role: 'viewer' });
    await page.goto(`${hub.http}/admin/operators`);
    const olga = 'tr[data-operator="olga"]';
    await page.waitForSelector(olga, WAIT);

    // Disabling ends sessions: it asks once.
    await page.click(`${olga} button:has-text("Disable")`);
    await page.waitForSelector('tr[data-operator-detail="olga"]:has-text("Their sessions end at once")', WAIT);
    assert.match((await page.textContent(olga)) ?? '', /active/);
    await page.click('tr[data-operator-detail="olga"] button:has-text("Disable olga")');
    await page.waitForSelector(`${olga}:has-text("disabled")`, WAIT);
    await page.click(`${olga} button:has-text("Enable")`);
    await page.waitForSelector(`${olga}:has-text("active")`, WAIT);

    // A new password, from the keyboard.
    await page.click(`${olga} button:has-text("Set password")`);
    await page.waitForFunction(() => document.activeElement?.getAttribute('name') === 'reset-password', undefined, WAIT);
    await page.keyboard.type('short');
    await page.waitForSelector('tr[data-operator-detail="olga"] .field-error:has-text("at least 8 characters")', WAIT);
    await page.keyboard.type('-but-now-long-enough');
    await page.keyboard.press('Enter');
    await page.waitForSelector('tr[data-operator-detail="olga"] [role=status]:has-text("Password changed")', WAIT);
    await new Api(hub.http).login('olga', 'short-but-now-long-enough');

    // The hub's refusal shows in the row where the action was taken.
    await api.call('DELETE', '/operators/gone');
    await page.selectOption('select[aria-label="Role of gone"]', 'operator');
    const refusal = await page.waitForSelector('tr[data-operator-detail="gone"] [role=alert]', WAIT);
    assert.ok(((await refusal.textContent()) ?? '').length > 0);
    await shot(page, 'admin-operators');

    // A failed login is in the audit log.
    await assert.rejects(new Api(hub.http).login('olga', 'not-her-password'));
    await page.click('nav.tabs >> text=Audit log');
    await page.waitForSelector('tr:has(td:text-is("olga")):has(td:text-is("login.failed"))', WAIT);
  });

  it('provisioning: another device starts from an empty form, and closing the tab or leaving the page with a token on screen asks first', async () => {
    const tab = await context.newPage();
    await tab.goto(`${hub.http}/provision`);
    await tab.fill('input[name=id]', 'prov-1');
    await tab.fill('input[name=model]', 'm-1');
    await tab.fill('input[name=tags]', 'lab');
    await tab.click('button:has-text("Create device")');
    await tab.waitForSelector('[data-testid=device-token]', WAIT);
    const asked = new Promise<string>((done) => {
      tab.once('dialog', (d) => {
        done(d.type());
        void d.accept();
      });
      tab.once('close', () => done('closed without asking'));
    });
    await tab.close({ runBeforeUnload: true });
    assert.equal(await asked, 'beforeunload');

    await page.goto(`${hub.http}/provision`);
    await page.fill('input[name=id]', 'prov-2');
    await page.fill('input[name=model]', 'm-2');
    await page.fill('input[name=tags]', 'lab');
    await page.click('button:has-text("Create device")');
    await page.waitForSelector('[data-testid=device-token]', WAIT);
    // Leaving through the console's own navigation asks too; staying keeps the token on screen.
    const question = new Promise<string>((done) => {
      page.once('dialog', (d) => {
        done(`${d.type()}: ${d.message()}`);
        void d.dismiss();
      });
    });
    await page.click('.rail a:has-text("Fleet")');
    assert.match(await question, /^confirm: .*prov-2 is shown only once/);
    assert.equal(new URL(page.url()).pathname, '/provision');
    await page.waitForSelector('[data-testid=device-token]', WAIT);
    await page.click('button:has-text("Provision another")');
    await page.waitForSelector('input[name=id]', WAIT);
    for (const field of ['id', 'name', 'model', 'tags']) assert.equal(await page.inputValue(`input[name=${field}]`), '', field);
  });
});
