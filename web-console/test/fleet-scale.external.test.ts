// The fleet table at the scale README.md (Web console) names: 5,000 devices, a few hundred of them live and
// changing, in real Chromium. Checks that only the visible rows exist in the DOM while
// the table scrolls end to end, that the keyboard reaches rows never rendered, that value
// columns fill and live changes reach the table without a reload; then the map and a
// dashboard at the same scale. How fast (first rows, frame lengths) is measured by the
// console scenario of `npm run bench` (bench/src/console.bench.ts), not asserted here:
// frame times on a shared CI machine are noise, not behaviour. The table's scroll
// frame lengths are still printed as diagnostics, to read in a test log.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type DeviceSpec, type Fleet, startFleet } from '@halyard/device-sim';
import type { BrowserContext, Page } from 'playwright-core';
import { ADMIN_PASSWORD, Api, type HubProcess, OUT, openPage, provision, startConsoleHub, tearDown } from './e2e-support.ts';

const DEVICES = 5_000;
const LIVE = 200;
const WAIT = { timeout: 20_000 };

describe('fleet table with 5,000 devices', () => {
  let hub: HubProcess;
  let context: BrowserContext;
  let profile: string;
  let page: Page;
  let fleet: Fleet;
  let trackers: Fleet | undefined;
  let all: readonly DeviceSpec[] = [];

  before(async () => {
    ({ hub } = await startConsoleHub());
    const live = await provision(hub, LIVE, 'live-', 'mixed', { concurrency: 16 });
    all = live;
    const idle = await provision(hub, DEVICES - LIVE, 'idle-', 'mixed', { concurrency: 16 });
    all = [...all, ...idle];
    fleet = startFleet({ hub: hub.ws, devices: live, rate: 1, backoff: { baseMs: 200, capMs: 1_000 }, seed: 21 });
    ({ context, profile, page } = await openPage());
  });

  after(() => tearDown({ context, profile, hub }, fleet, trackers));

  it('keeps the DOM small while it scrolls end to end, reaches every row by keyboard and stays live', async (t) => {
    await page.goto(`${hub.http}/fleet`);
    await page.fill('#login-user', 'admin');
    await page.fill('#login-password', ADMIN_PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForFunction((n) => document.querySelector('[data-testid="count-all"]')?.textContent === String(n), DEVICES, WAIT);
    await page.waitForFunction((n) => Number(document.querySelector('[data-testid="count-online"]')?.textContent) === n, LIVE, WAIT);

    // A reload: the session cookie, the channel, a 5,000-device snapshot, sorting, the first rows.
    await page.reload();
    await page.waitForSelector('a[data-device]', WAIT);
    const marks = await page.evaluate(() =>
      performance.getEntriesByType('mark').map((m) => `${m.name.replace('halyard:', '')} at ${Math.round(m.startTime)} ms`),
    );
    t.diagnostic(`after a reload: ${marks.join(', ')}`);
    assert.deepEqual(
      marks.map((m) => m.split(' at ')[0]),
      ['welcome', 'fleet-decoded', 'fleet-rows'],
      'the console marks its way to the first rows',
    );

    const rows = await page.locator('a[data-device]').count();
    assert.ok(rows > 10 && rows < 60, `${rows} rows in the DOM for ${DEVICES} devices`);

    // Scroll one step per frame and record every frame's length: a brisk wheel scroll
    // (3 rows a frame), then a scrollbar drag from top to bottom (the whole list in 240 frames).
    const scroll = (stepRows: number | undefined) =>
      page.evaluate(async (stepRows) => {
        const el = document.querySelector('.vlist') as HTMLElement;
        const step = stepRows === undefined ? Math.ceil(el.scrollHeight / 240) : stepRows * 30;
        const gaps: number[] = [];
        let last = performance.now();
        for (let y = 0, k = 0; y <= el.scrollHeight && k < 240; y += step, k++) {
          el.scrollTop = y;
          await new Promise<void>((r) => requestAnimationFrame(() => r()));
          const now = performance.now();
          gaps.push(now - last);
          last = now;
        }
        gaps.sort((a, b) => a - b);
        return { p50: gaps[Math.floor(gaps.length / 2)] as number, p95: gaps[Math.floor(gaps.length * 0.95)] as number };
      }, stepRows);
    const wheel = await scroll(3);
    const drag = await scroll(undefined);
    t.diagnostic(
      `wheel p50 ${wheel.p50.toFixed(1)} ms p95 ${wheel.p95.toFixed(1)} ms; drag p50 ${drag.p50.toFixed(1)} ms p95 ${drag.p95.toFixed(1)} ms`,
    );
    await page.screenshot({ path: join(OUT, 'fleet-5000-bottom.png') });
    assert.equal(await page.locator('a[data-device="live-0001"]').count(), 0, 'rows scrolled out are gone');
    assert.ok((await page.locator('a[data-device]').count()) < 60);

    // The keyboard reaches rows that were never rendered: End from the first row focuses the last.
    await page.evaluate(() => {
      (document.querySelector('.vlist') as HTMLElement).scrollTop = 0;
    });
    await page.waitForSelector('a[data-device="idle-0001"]', WAIT);
    await page.focus('a[data-device="idle-0001"]');
    await page.keyboard.press('ArrowDown');
    await page.waitForFunction(() => document.activeElement?.getAttribute('data-device') === 'idle-0002', undefined, WAIT);
    await page.keyboard.press('End');
    await page.waitForFunction(() => document.activeElement?.getAttribute('data-device') === 'live-0200', undefined, WAIT);

    // Value columns (issue 19): three metrics picked, sorted by one, the rows on screen live.
    await page.evaluate(() => {
      (document.querySelector('.vlist') as HTMLElement).scrollTop = 0;
    });
    await page.click('summary:has-text("Value columns")');
    await page.waitForFunction(() => document.querySelectorAll('input[name=metric]').length >= 3, undefined, WAIT);
    const picked = await page.$$eval('input[name=metric]', (inputs) => inputs.slice(0, 3).map((i) => (i as HTMLInputElement).value));
    for (const m of picked) await page.check(`input[name=metric][value="${m}"]`);
    await page.click('summary:has-text("Value columns")');
    const firstMetric = picked[0] as string;
    await page.click(`button[aria-label^="Sort by ${firstMetric}"]`);
    await page.click(`button[aria-label^="Sort by ${firstMetric}"]`);
    await page.waitForSelector(`a[data-device] [data-metric="${firstMetric}"]:not(:empty)`, WAIT);
    // Frames while nothing scrolls: the values on screen change live (live telemetry, re-sorts).
    const idle = await page.evaluate(async () => {
      const gaps: number[] = [];
      let last = performance.now();
      for (let k = 0; k < 180; k++) {
        await new Promise<void>((r) => requestAnimationFrame(() => r()));
        const now = performance.now();
        gaps.push(now - last);
        last = now;
      }
      gaps.sort((a, b) => a - b);
      return { p50: gaps[Math.floor(gaps.length / 2)] as number, p95: gaps[Math.floor(gaps.length * 0.95)] as number };
    });
    const valuesWheel = await scroll(3);
    const valuesDrag = await scroll(undefined);
    t.diagnostic(
      `value columns (${picked.join(', ')}): idle live p50 ${idle.p50.toFixed(1)} ms p95 ${idle.p95.toFixed(1)} ms; wheel p50 ${valuesWheel.p50.toFixed(1)} ms p95 ${valuesWheel.p95.toFixed(1)} ms; drag p50 ${valuesDrag.p50.toFixed(1)} ms p95 ${valuesDrag.p95.toFixed(1)} ms`,
    );
    await page.screenshot({ path: join(OUT, 'fleet-5000-values.png') });
    assert.ok((await page.locator('a[data-device]').count()) < 60, 'value columns keep the table virtualised');

    // Filtered to online devices; stopping them all shows up live.
    await page.goto(`${hub.http}/fleet?status=online`);
    await page.waitForSelector('a[data-device="live-0001"]', WAIT);
    await fleet.stop();
    await page.waitForFunction(() => document.querySelector('[data-testid="count-online"]')?.textContent === '0', undefined, WAIT);
    await page.waitForSelector('text=No device matches this filter', WAIT);
  });

  it('map and dashboard: 5,000 devices by position, a count and a chart across devices', async () => {
    // Every device a tracker now, each reporting its position every 20 s (250 frames/s
    // in all), so all 5,000 have one and the first 50 on the map move live.
    trackers = startFleet({
      hub: hub.ws,
      devices: all.map((d) => ({ ...d, profile: 'tracker' as const })),
      rate: 0.05,
      rampMs: 10_000,
      backoff: { baseMs: 500, capMs: 5_000 },
      seed: 22,
    });
    await page.goto(`${hub.http}/map`);
    // The console re-reads every device's latest values every 10 s.
    await page.waitForFunction(
      (n) => document.querySelector('[data-testid="map-count"]')?.textContent?.startsWith(`${n} of ${n}`) === true,
      DEVICES,
      { timeout: 120_000 },
    );
    // A pointer sweep over the map (hover, as an operator looking for a device).
    const box = await page.locator('.coord-view').boundingBox();
    assert.ok(box !== null);
    for (let i = 0; i <= 60; i++) await page.mouse.move(box.x + (box.width * i) / 60, box.y + box.height / 2);
    await page.screenshot({ path: join(OUT, 'map-5000.png') });
    // One canvas for every marker (README.md § Web console), not an element each.
    assert.equal(await page.getAttribute('[data-testid=marker-canvas]', 'data-markers'), String(DEVICES));

    const api = new Api(hub.http);
    await api.login('admin', ADMIN_PASSWORD);
    const chartDevices = all.slice(0, 20).map((d) => d.id);
    await api.call('PUT', '/me/dashboard', {
      panels: [
        { kind: 'count', title: 'Devices by status', by: 'status' },
        { kind: 'chart', title: 'Speed', metric: 'speed', devices: chartDevices, minutes: 15 },
        { kind: 'events', title: 'Latest events', limit: 10 },
      ],
    });
    await page.goto(`${hub.http}/dashboard`);
    await page.waitForSelector('[data-panel=chart] canvas', WAIT);
    await page.waitForSelector('[data-panel=count] a', WAIT);
    await page.screenshot({ path: join(OUT, 'dashboard-5000.png') });
    // The count panel counts the whole fleet: online and offline add up to it (none is revoked).
    const count = async (key: string) => Number(await page.textContent(`[data-panel=count] tr[data-count=${key}] td.num`));
    assert.equal((await count('online')) + (await count('offline')), DEVICES, 'online and offline add up to the fleet');
  });
});
