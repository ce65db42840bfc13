// The command form's name suggestions in real headless Chromium: a simulated relay
// declares its commands in HELLO caps (`cmd:<name>`, SPEC.md §5.1) and the form
// offers them before the device has run any; history adds what it ran.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Fleet, startFleet } from '@halyard/device-sim';
import type { BrowserContext, Page } from 'playwright-core';
import { type Api, type HubProcess, logIn, openPage, provision, startConsoleHub, tearDown } from './e2e-support.ts';

const WAIT = { timeout: 15_000 };

describe('command suggestions from caps', () => {
  let hub: HubProcess;
  let api: Api;
  let context: BrowserContext;
  let profile: string;
  let page: Page;
  let fleet: Fleet | undefined;
  const errors: string[] = [];

  before(async () => {
    ({ hub, api } = await startConsoleHub());
    ({ context, profile, page } = await openPage(errors));
    await logIn(page, hub);
  });

  after(() => tearDown({ context, profile, hub }, fleet));

  const suggestions = () => page.$$eval('#command-names option', (os) => os.map((o) => (o as HTMLOptionElement).value));

  it('offers the commands a device declared, even when it came online after the console loaded', async () => {
    const relays = await provision(hub, 1, 'relay-', 'relay');
    // Open the tab first: the device has not said HELLO yet, so only the built-ins are known.
    await page.goto(`${hub.http}/devices/relay-0001/commands`);
    await page.waitForSelector('form[aria-label="Send a command"]', WAIT);
    assert.deepEqual(await suggestions(), ['ping', 'reboot']);

    fleet = startFleet({ hub: hub.ws, devices: relays, rate: 1, backoff: { baseMs: 200, capMs: 1_000 } });
    await page.waitForFunction(() => document.querySelectorAll('#command-names option[value="toggle"]').length === 1, undefined, WAIT);
    assert.deepEqual(await suggestions(), ['ping', 'reboot', 'toggle', 'set']);
    const device = (await api.call('GET', '/devices/relay-0001')) as { caps: string[] };
    assert.deepEqual(device.caps, ['commands', 'twin', 'ota', 'cmd:ping', 'cmd:reboot', 'cmd:toggle', 'cmd:set']);

    // A command it did not declare is refused as unknown, shows in the history, and is not suggested.
    const sent = (await api.call('POST', '/devices/relay-0001/commands', { name: 'calibrate' })) as { id: string };
    for (let i = 0; ; i++) {
      const c = (await api.call('GET', `/commands/${sent.id}`)) as { state: string };
      if (c.state === 'rejected') break;
      assert.ok(i < 100, `the relay did not refuse it (${c.state})`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await page.locator('ul[aria-label="Commands, newest first"] li:has-text("calibrate")').first().waitFor(WAIT);
    await page.waitForTimeout(300);
    assert.deepEqual(await suggestions(), ['ping', 'reboot', 'toggle', 'set']);
    assert.deepEqual(errors, []);
  });
});
