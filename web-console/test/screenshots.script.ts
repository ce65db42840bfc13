// The console's screenshots for the README (docs/console/*.png): a hub and a small
// simulated fleet, then the fleet with value columns, a device's telemetry, the map,
// a dashboard, the twin and commands, at 1280x800 in the light theme. Run by
// `node scripts/screenshots.mjs` (not a test: it runs only when asked).

import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type Fleet, provisionDevices, startFleet } from '@halyard/device-sim';
import { ADMIN_PASSWORD, Api, ensureConsoleBuilt, type HubProcess, launchBrowser, ROOT, removeDir, startHub } from './e2e-support.ts';

const DIR = join(ROOT, 'docs/console');
const WAIT = { timeout: 20_000 };
/** README.md keeps each picture under this. */
const MAX_BYTES = 150_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  ensureConsoleBuilt();
  mkdirSync(DIR, { recursive: true });
  let hub: HubProcess | undefined;
  let fleet: Fleet | undefined;
  let browser: Awaited<ReturnType<typeof launchBrowser>> | undefined;
  try {
    hub = await startHub();
    const api = new Api(hub.http);
    await api.login('admin', ADMIN_PASSWORD);
    const auth = { user: 'admin', password: ADMIN_PASSWORD };
    const devices = [];
    for (const [prefix, profile, count] of [
      ['thermo-', 'thermostat', 4],
      ['tracker-', 'tracker', 4],
      ['meter-', 'power-meter', 2],
      ['relay-', 'relay', 2],
      ['door-', 'door-sensor', 2],
    ] as const)
      devices.push(...(await provisionDevices({ hub: hub.ws, count, idPrefix: prefix, profile, auth })).devices);
    fleet = startFleet({ hub: hub.ws, devices, rate: 1, backoff: { baseMs: 200, capMs: 1_000 }, seed: 7 });
    await api.call('PATCH', '/devices/thermo-0001', { name: 'Boiler room', tags: ['plant', 'floor-1'] });
    await api.call('PUT', '/me/dashboard', {
      panels: [
        { kind: 'count', title: 'Devices by status', by: 'status' },
        { kind: 'value', title: 'Boiler room', device: 'thermo-0001', metric: 'temperature', warn: 24, alarm: 28 },
        { kind: 'chart', title: 'Temperatures', metric: 'temperature', devices: ['thermo-0001', 'thermo-0002', 'thermo-0003'], minutes: 5 },
        { kind: 'events', title: 'Latest events', limit: 8 },
      ],
    });
    // Some history to chart and a few commands and a twin change to show.
    await sleep(12_000);
    await api.call('POST', '/devices/thermo-0001/commands', { name: 'ping' });
    await api.call('POST', '/devices/thermo-0001/commands', { name: 'set_setpoint', params: { value: 99 } });
    await api.call('POST', '/devices/thermo-0001/commands', { name: 'reboot' });
    const twin = (await api.call('GET', '/devices/thermo-0001/twin')) as { desiredVersion: number };
    await api.call(
      'PATCH',
      '/devices/thermo-0001/twin/desired',
      { setpoint: 21.5, mode: 'heat' },
      { 'If-Match': String(twin.desiredVersion) },
    );
    await sleep(3_000);

    browser = await launchBrowser();
    const page = browser.context.pages()[0] ?? (await browser.context.newPage());
    await page.goto(`${hub.http}/fleet`);
    await page.fill('#login-user', 'admin');
    await page.fill('#login-password', ADMIN_PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForSelector('.conn[data-state="live"]', WAIT);
    await page.waitForSelector('a[data-device="thermo-0001"]:has-text("online")', WAIT);
    const shot = async (name: string) => {
      await sleep(600);
      const path = join(DIR, `${name}.png`);
      await page.screenshot({ path });
      const size = statSync(path).size;
      console.log(`${path}: ${Math.round(size / 1024)} KB`);
      if (size > MAX_BYTES) throw new Error(`${name}.png is ${size} bytes, over ${MAX_BYTES}`);
    };

    await page.click('summary:has-text("Value columns")');
    await page.waitForSelector('input[name=metric][value="temperature"]', WAIT);
    for (const m of ['temperature', 'power', 'battery']) {
      const box = page.locator(`input[name=metric][value="${m}"]`);
      if ((await box.count()) > 0) await box.check();
    }
    await page.click('summary:has-text("Value columns")');
    await page.waitForSelector('a[data-device] [data-metric="temperature"]:not(:empty)', WAIT);
    await shot('fleet');

    await page.goto(`${hub.http}/devices/thermo-0001/telemetry`);
    await page.waitForSelector('canvas', WAIT);
    await shot('device-telemetry');

    await page.goto(`${hub.http}/map`);
    await page.waitForSelector('[data-marker="tracker-0004"]', WAIT);
    await shot('map');

    await page.goto(`${hub.http}/dashboard`);
    await page.waitForSelector('[data-panel=chart] canvas', WAIT);
    await shot('dashboard');

    await page.goto(`${hub.http}/devices/thermo-0001/twin`);
    await page.waitForSelector('text=setpoint', WAIT);
    await shot('twin');

    await page.goto(`${hub.http}/devices/thermo-0001/commands`);
    await page.waitForSelector('li[data-command]', WAIT);
    await shot('commands');
  } finally {
    await browser?.context.close();
    if (browser) removeDir(browser.profile);
    await fleet?.stop();
    await hub?.stop();
    if (hub) removeDir(hub.dataDir);
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
