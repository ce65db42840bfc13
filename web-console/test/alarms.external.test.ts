// Alarms in real headless Chromium against a real hub and a simulated thermostat that
// overheats and cools again (device-sim --overheat): an operator writes the rule in
// the console's editor, the top bar counts the alarm by severity as it is raised, the
// alarms page acknowledges it with a note, it clears by itself, the device page lists
// it and its charts mark the raise and the clear; a viewer reads but cannot edit.
// Screenshots go to test-output/console/.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Fleet, startFleet } from '@halyard/device-sim';
import type { AlarmInfo } from '@halyard/firmware-protocol';
import type { BrowserContext, Page } from 'playwright-core';
import { ADMIN_PASSWORD, type Api, type HubProcess, logIn, OUT, openPage, provision, startConsoleHub, tearDown } from './e2e-support.ts';

const WAIT = { timeout: 20_000 };
const DEVICE = 'hot-0001';

describe('alarms in the console', () => {
  let hub: HubProcess;
  let api: Api;
  let context: BrowserContext;
  let profile: string;
  let page: Page;
  let fleet: Fleet | undefined;
  const errors: string[] = [];

  before(async () => {
    ({ hub, api } = await startConsoleHub());
    const thermos = await provision(hub, 1, 'hot-', 'thermostat');
    // Hot for 6 s (time to acknowledge with the keyboard on a busy machine), then cooling for 6 s, ten readings a second.
    fleet = startFleet({ hub: hub.ws, devices: thermos, rate: 10, overheatMs: 12_000, backoff: { baseMs: 200, capMs: 1_000 } });
    ({ context, profile, page } = await openPage(errors));
    await logIn(page, hub, 'admin', ADMIN_PASSWORD, `a[data-device="${DEVICE}"]:has-text("online")`);
  });

  after(() => tearDown({ context, profile, hub }, fleet));

  it('an operator writes a rule in the editor; a refusal names the field', async () => {
    await page.click('nav.rail a[href="/alarms"]');
    await page.click('nav.tabs a[href="/alarms/rules"]');
    await page.click('button:has-text("New rule")');
    const form = page.locator('form[aria-label="New alarm rule"]');
    // The editor opens with the focus in its first box.
    await page.waitForFunction(() => (document.activeElement as HTMLInputElement | null)?.name === 'name');
    // Each box under its words, lined up, as in the console's other forms.
    const label = await form.locator('label', { hasText: 'Severity' }).boundingBox();
    const box = await form.getByLabel('Severity').boundingBox();
    assert.ok(label && box && Math.abs(label.x - box.x) < 2 && box.y > label.y + 8, 'the severity box sits beside its label');
    // Created with no name: the hub's refusal marks the Name box and gives it the focus.
    await form.locator('button:has-text("Create rule")').click();
    await page.waitForFunction(
      () => {
        const box = document.activeElement as HTMLInputElement | null;
        return box?.name === 'name' && box.getAttribute('aria-invalid') === 'true';
      },
      undefined,
      WAIT,
    );
    await form.getByLabel('Name').fill('Too hot');
    await form.getByLabel('Severity').selectOption('critical');
    await form.getByLabel('Devices (ids, comma-separated; empty: any)').fill(DEVICE);
    await form.getByLabel('Metric', { exact: true }).fill('temperature');
    // Neither above nor below: the hub refuses, in words.
    await form.locator('button:has-text("Create rule")').click();
    await form.locator('text=above, below, or both').waitFor(WAIT);
    await form.getByLabel('Above').fill('30');
    await form.getByLabel('Hysteresis (clears this far back inside)').fill('2');
    await form.locator('button:has-text("Create rule")').click();
    const row = page.locator('tr[data-rule="Too hot"]');
    await row.waitFor(WAIT);
    assert.match((await row.textContent()) ?? '', /temperature above 30 \(hysteresis 2\)/);
    await page.screenshot({ path: join(OUT, 'alarm-rules.png'), fullPage: true });
    // The actions are a cell of the row (down to its bottom line), and asking to delete puts the focus on "Keep".
    const rowBox = await row.boundingBox();
    const cellBox = await row.locator('td').last().boundingBox();
    assert.ok(
      rowBox && cellBox && Math.abs(rowBox.y + rowBox.height - (cellBox.y + cellBox.height)) < 1.5,
      'the actions cell ends above its row',
    );
    await row.locator('button:has-text("Delete…")').click();
    await page.waitForFunction(() => document.activeElement?.textContent === 'Keep');
    await page.keyboard.press('Enter');
    await row.locator('button:has-text("Delete…")').waitFor(WAIT);
  });

  it('the top bar counts the alarm by severity; the alarms page acknowledges it with a note; it clears by itself', async () => {
    const badge = page.locator('[data-testid="alarm-counts"] [data-severity="critical"]');
    await badge.waitFor(WAIT);
    assert.match((await badge.textContent()) ?? '', /1 critical/);
    await badge.click();
    const row = page.locator(`tr[data-device="${DEVICE}"][data-state="active"]`);
    await row.waitFor(WAIT);
    const id = (await row.getAttribute('data-alarm')) as string;
    // With the keyboard: the note box takes the focus, Escape closes it and gives the focus back.
    await row.locator('button:has-text("Acknowledge")').focus();
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.activeElement?.getAttribute('aria-label') === 'Note');
    // The open note form does not squeeze the device id onto two lines.
    assert.equal(await row.locator('a', { hasText: DEVICE }).evaluate((el) => el.getClientRects().length), 1);
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => document.activeElement?.textContent === 'Acknowledge');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.activeElement?.getAttribute('aria-label') === 'Note');
    await page.keyboard.type('opening the window');
    await page.keyboard.press('Enter');
    await page.locator(`tr[data-alarm="${id}"][data-state="acknowledged"]:has-text("by admin: opening the window")`).waitFor(WAIT);
    await page.screenshot({ path: join(OUT, 'alarms.png'), fullPage: true });
    // On a phone each alarm is a card of labelled lines: State and Clear are on screen, no sideways scroll.
    await page.setViewportSize({ width: 375, height: 640 });
    const card = page.locator(`tr[data-alarm="${id}"]`);
    const fits = await card.evaluate((tr) => {
      const box = tr.getBoundingClientRect();
      const scroller = tr.closest('.scroll-x') as HTMLElement;
      return { right: box.right, width: window.innerWidth, overflow: scroller.scrollWidth - scroller.clientWidth };
    });
    assert.ok(fits.right <= fits.width && fits.overflow <= 0, `the alarm card fits the phone: ${JSON.stringify(fits)}`);
    const clear = card.locator('button:has-text("Clear")');
    const clearBox = await clear.boundingBox();
    assert.ok(clearBox !== null && clearBox.x + clearBox.width <= 375, 'Clear is on screen');
    assert.match((await card.locator('td.alarm-state').evaluate((td) => getComputedStyle(td, '::before').content)) ?? '', /State/);
    await page.screenshot({ path: join(OUT, 'alarms-phone.png'), fullPage: true });
    await page.setViewportSize({ width: 1280, height: 800 });
    // The thermostat cools: the alarm clears by itself, live, and leaves the "not cleared" view.
    await page.selectOption('select[name="state"]', 'all');
    await page.locator(`tr[data-alarm="${id}"][data-state="cleared"]`).waitFor(WAIT);
    const stored = (await api.call('GET', `/alarms/${id}`)) as AlarmInfo;
    assert.equal(stored.acknowledgedBy, 'admin');
    assert.equal(stored.clearedBy, null);
    assert.ok((stored.clearedValue as number) <= 28);
  });

  it('the device page lists its alarms and its charts mark the raise and the clear', async () => {
    await page.goto(`${hub.http}/devices/${DEVICE}/alarms`);
    await page.locator(`section[aria-label="Alarms of the device"] tr[data-state="cleared"]`).first().waitFor(WAIT);
    await page.goto(`${hub.http}/devices/${DEVICE}/telemetry`);
    const marks = page.locator('[data-chart="temperature"] [data-testid="chart-marks"]');
    await marks
      .locator('li[data-tone="bad"]')
      .first()
      .waitFor({ ...WAIT, state: 'attached' });
    await marks
      .locator('li[data-tone="good"]')
      .first()
      .waitFor({ ...WAIT, state: 'attached' });
    assert.match((await marks.locator('li[data-tone="bad"]').first().textContent()) ?? '', /Too hot raised \(critical\)/);
    // Not by colour alone: the key says which line is which.
    assert.match((await page.locator('[data-chart="temperature"] [data-testid="chart-key"]').textContent()) ?? '', /raised.*cleared/);
    // The rule watches temperature: the other metrics' charts carry none of its marks.
    const others = page.locator('[data-chart]:not([data-chart="temperature"])');
    assert.ok((await others.count()) > 0, 'the thermostat sends other metrics');
    await page.waitForFunction(
      () => document.querySelectorAll('[data-chart]:not([data-chart="temperature"]) [data-testid="chart-marks"] li').length === 0,
      undefined,
      WAIT,
    );
    await page.screenshot({ path: join(OUT, 'alarm-marks.png'), fullPage: true });
    // The marks' screen-reader lists stay inside the scrolling content: the page itself never
    // grows past the window, so the top bar and navigation cannot scroll away.
    for (const size of [
      { width: 375, height: 640 },
      { width: 1280, height: 600 },
    ]) {
      await page.setViewportSize(size);
      const [page_, win] = await page.evaluate(() => [document.documentElement.scrollHeight, window.innerHeight]);
      assert.ok((page_ as number) <= (win as number), `the page is ${page_} px tall in a ${win} px window (${size.width} px wide)`);
    }
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  it('a viewer reads alarms and rules but is offered no edit, acknowledge or clear', async () => {
    await api.call('POST', '/operators', { username: 'watcher', password: 'watcher-password', role: 'viewer' });
    const viewer = await openPage(errors);
    try {
      await logIn(viewer.page, hub, 'watcher', 'watcher-password');
      await viewer.page.goto(`${hub.http}/alarms?state=all`);
      await viewer.page.locator(`tr[data-device="${DEVICE}"]`).first().waitFor(WAIT);
      assert.equal(await viewer.page.locator('button:has-text("Acknowledge"), button:has-text("Clear")').count(), 0);
      await viewer.page.goto(`${hub.http}/alarms/rules`);
      await viewer.page.locator('tr[data-rule="Too hot"]').waitFor(WAIT);
      assert.equal(await viewer.page.locator('button:has-text("New rule"), button:has-text("Edit")').count(), 0);
    } finally {
      await viewer.context.close();
    }
    assert.deepEqual(errors, []);
  });
});
