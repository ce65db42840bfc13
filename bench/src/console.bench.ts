// Benchmark scenario: the web console at fleet scale, in headless Debian Chromium
// (README.md § Web console). 5,000 devices seeded, 200 of them live (device-sim, in
// this process); measured: the first rows of the fleet table after a reload, frame
// lengths while the table scrolls (a brisk wheel, a scrollbar drag end to end), with
// three value columns changing live, then the map with every device reporting its
// position during a pointer sweep, and a dashboard (a count, a chart of 20 devices,
// the latest events) during a scroll and a sweep over its chart.
//
// The baselines are measured in the same browser and run: for frames, a page that
// does nothing but count frames (about:blank), the best this machine's software
// rendering gives with the same fleet streaming; for the first rows, a reload of the
// console's login form (the same files and boot, no fleet). Frame ratios near 1.0 mean
// frames at the display's rate. These figures were asserted in the fleet-scale browser
// test until a shared CI machine's noise failed it (a p95 of 133 ms on the map); the
// test now checks what the console does at this scale, and this scenario how fast.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type DeviceSpec, startFleet } from '@halyard/device-sim';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { type BenchRow, parseBenchArgs, report, size } from '../../scripts/bench-lib.js';
import { ADMIN_PASSWORD, login, seedDevices, startHub } from './lib.js';

const args = parseBenchArgs();
const DEVICES = size(args, 5_000, 5_000, 100);
const LIVE = size(args, 200, 200, 10);
/** Frames per measurement (at 60 Hz, 3 s). */
const FRAMES = size(args, 180, 180, 30);
const CHROMIUM = process.env.HALYARD_CHROMIUM ?? '/usr/bin/chromium';
const CONSOLE_DIST = fileURLToPath(new URL('../../web-console/dist', import.meta.url));
const WAIT = { timeout: 60_000 };

if (!existsSync(CHROMIUM)) {
  console.log(`  console: skipped, Chromium not found at ${CHROMIUM} (install the Debian package chromium, or set HALYARD_CHROMIUM)`);
  process.exit(0);
}
if (!existsSync(join(CONSOLE_DIST, 'index.html'))) {
  // `npm run bench` builds the TypeScript only; the console is built by `npm run build`.
  const r = spawnSync('npx', ['vite', 'build', '--logLevel', 'warn'], { cwd: join(CONSOLE_DIST, '..'), stdio: 'inherit' });
  if (r.status !== 0) throw new Error('could not build the web console (npm run build --workspace=@halyard/web-console)');
}

interface Frames {
  p50: number;
  p95: number;
  n: number;
}

/** Frame lengths in the page while `act` runs (at least FRAMES frames), as p50/p95. */
async function frames(page: Page, act: () => Promise<void> = async () => {}): Promise<Frames> {
  // As a string: tsx would wrap a named function in a helper the page does not have.
  await page.evaluate(`(() => {
    window.__gaps = [];
    window.__stop = false;
    let last = 0;
    function tick(now) {
      window.__gaps.push(now - last);
      last = now;
      if (!window.__stop) requestAnimationFrame(tick);
    }
    requestAnimationFrame((now) => { last = now; requestAnimationFrame(tick); });
  })()`);
  await act();
  await until(page, `window.__gaps.length >= ${FRAMES}`);
  const gaps = (await page.evaluate('window.__stop = true, [...window.__gaps].sort((a, b) => a - b)')) as number[];
  return { p50: gaps[Math.floor(gaps.length / 2)] as number, p95: gaps[Math.floor(gaps.length * 0.95)] as number, n: gaps.length };
}

/** Scrolls the fleet table one step per frame: `stepRows` rows a frame, or (undefined) the whole list in FRAMES steps. */
function scroll(page: Page, stepRows: number | undefined): Promise<Frames> {
  // Page-side code as strings, here and below: this package is compiled without the DOM's types.
  return frames(page, () =>
    page.evaluate(`(async () => {
      const el = document.querySelector('.vlist');
      const step = ${stepRows === undefined ? `Math.ceil(el.scrollHeight / ${FRAMES})` : stepRows * 30};
      for (let y = 0, k = 0; y <= el.scrollHeight && k < ${FRAMES}; y += step, k++) {
        el.scrollTop = y;
        await new Promise((r) => requestAnimationFrame(() => r()));
      }
    })()`),
  );
}

/** Waits until `expression`, evaluated in the page every 50 ms, is true (page.evaluate: the console's CSP refuses eval). */
async function until(page: Page, expression: string, timeoutMs = WAIT.timeout): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still not true after ${timeoutMs} ms: ${expression}`)), timeoutMs);
  });
  const met = page.evaluate(`new Promise((done) => {
    const check = () => ((${expression}) ? done(true) : setTimeout(check, 50));
    check();
  })`);
  try {
    await Promise.race([met, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** A pointer sweep across the element's middle, left to right. */
async function sweep(page: Page, selector: string): Promise<void> {
  const box = await page.locator(selector).first().boundingBox();
  if (box === null) throw new Error(`${selector} is not on screen`);
  for (let i = 0; i <= 60; i++) await page.mouse.move(box.x + (box.width * i) / 60, box.y + box.height / 2);
}

const seeded = seedDevices(DEVICES);
const hub = await startHub(seeded.dir, ['--console-dir', CONSOLE_DIST]);
const http = `http://127.0.0.1:${hub.port}`;
const ws = `ws://127.0.0.1:${hub.port}`;
const devices: DeviceSpec[] = seeded.tokens.map((token) => ({ id: token.slice(0, token.lastIndexOf('.')), token }));
const live = startFleet({ hub: ws, devices: devices.slice(0, LIVE), profile: 'mixed', rate: 1, seed: 21 });
let trackers: ReturnType<typeof startFleet> | undefined;
const profile = mkdtempSync(join(tmpdir(), 'halyard-chromium-'));
let context: BrowserContext | undefined;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
    viewport: { width: 1280, height: 800 },
  });
  const page = context.pages()[0] ?? (await context.newPage());

  // Baselines: a page that only counts frames; the login form reloaded.
  await page.goto('about:blank');
  const blank = await frames(page);
  await page.goto(`${http}/fleet`);
  await page.waitForSelector('#login-user', WAIT);
  let t0 = performance.now();
  await page.reload();
  await page.waitForSelector('#login-user', WAIT);
  const loginMs = performance.now() - t0;

  await page.fill('#login-user', 'admin');
  await page.fill('#login-password', ADMIN_PASSWORD);
  await page.click('button[type=submit]');
  await until(page, `document.querySelector('[data-testid="count-all"]')?.textContent === '${DEVICES}'`);
  await until(page, `document.querySelector('[data-testid="count-online"]')?.textContent === '${LIVE}'`);
  t0 = performance.now();
  await page.reload();
  await page.waitForSelector('a[data-device]', WAIT);
  const firstRowsMs = performance.now() - t0;
  const domRows = await page.locator('a[data-device]').count();
  if (domRows > 60) throw new Error(`${domRows} rows in the DOM for ${DEVICES} devices: the table is not virtualised`);

  const wheel = await scroll(page, 3);
  const drag = await scroll(page, undefined);

  // Three value columns, sorted by the first, changing live.
  await page.evaluate(`document.querySelector('.vlist').scrollTop = 0`);
  await page.click('summary:has-text("Value columns")');
  await until(page, `document.querySelectorAll('input[name=metric]').length >= 3`);
  const picked = (await page.evaluate(`[...document.querySelectorAll('input[name=metric]')].slice(0, 3).map((i) => i.value)`)) as string[];
  for (const m of picked) await page.check(`input[name=metric][value="${m}"]`);
  await page.click('summary:has-text("Value columns")');
  const first = picked[0] as string;
  await page.click(`button[aria-label^="Sort by ${first}"]`);
  await page.waitForSelector(`a[data-device] [data-metric="${first}"]:not(:empty)`, WAIT);
  const valuesIdle = await frames(page);
  const valuesWheel = await scroll(page, 3);

  // Every device a tracker now, so each has a position; the map shows them all.
  await live.stop();
  const rate = size(args, 0.05, 0.05, 1);
  trackers = startFleet({ hub: ws, devices: devices.map((d) => ({ ...d, profile: 'tracker' as const })), rate, rampMs: 10_000, seed: 22 });
  await page.goto(`${http}/map`);
  // The console re-reads every device's latest values every 10 s.
  await until(
    page,
    `document.querySelector('[data-testid="map-count"]')?.textContent?.startsWith('${DEVICES} of ${DEVICES}') === true`,
    180_000,
  );
  const map = await frames(page, () => sweep(page, '.coord-view'));

  const token = await login(hub.port);
  const ids = devices.slice(0, 20).map((d) => d.id);
  const put = await fetch(`${http}/api/v1/me/dashboard`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      panels: [
        { kind: 'count', title: 'Devices by status', by: 'status' },
        { kind: 'chart', title: 'Speed', metric: 'speed', devices: ids, minutes: 15 },
        { kind: 'events', title: 'Latest events', limit: 10 },
      ],
    }),
  });
  if (!put.ok) throw new Error(`PUT /me/dashboard: ${put.status} ${await put.text()}`);
  // The console's session is the form login's, not this token's: the same operator, the same dashboard.
  await page.goto(`${http}/dashboard`);
  await page.waitForSelector('[data-panel=chart] canvas', WAIT);
  await page.waitForSelector('[data-panel=count] a', WAIT);
  const dash = await frames(page, async () => {
    await page.mouse.wheel(0, 400);
    await page.mouse.wheel(0, -400);
    await sweep(page, '[data-panel=chart] canvas');
  });

  const r1 = (n: number) => Math.round(n * 10) / 10;
  const frameRow = (what: string, f: Frames): BenchRow => ({
    scenario: 'console',
    case: `${what}: p95 frame`,
    value: r1(f.p95),
    unit: 'ms',
    baseline: 'a page doing nothing, p95',
    baselineValue: r1(blank.p95),
    extra: { p50: r1(f.p50), frames: f.n, baselineP50: r1(blank.p50) },
  });
  const rows: BenchRow[] = [
    {
      scenario: 'console',
      case: `fleet of ${DEVICES}: first rows after a reload`,
      value: Math.round(firstRowsMs),
      unit: 'ms',
      baseline: 'login form after a reload',
      baselineValue: Math.round(loginMs),
      extra: { domRows },
    },
    frameRow(`fleet of ${DEVICES}, wheel scroll`, wheel),
    frameRow(`fleet of ${DEVICES}, scrollbar drag`, drag),
    frameRow(`3 value columns live, ${LIVE} devices changing`, valuesIdle),
    frameRow('3 value columns, wheel scroll', valuesWheel),
    frameRow(`map of ${DEVICES} live, pointer sweep`, map),
    frameRow('dashboard (count, chart of 20, events), scroll and sweep', dash),
  ];
  report(rows, args);
} finally {
  await context?.close();
  await Promise.all([live.stop(), trackers?.stop()]);
  await hub.child.stop();
  rmSync(profile, { recursive: true, force: true });
  rmSync(seeded.dir, { recursive: true, force: true });
}
