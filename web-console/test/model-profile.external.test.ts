// Model profiles in real headless Chromium against a real hub and a simulated
// thermostat: an operator describes the model (starting from the commands its devices
// declared in HELLO caps), then the command form offers a parameter form and checks
// it, the twin editor lists the known desired keys and checks them, and the charts
// take the profile's label, unit and decimals. Screenshots go to test-output/console/.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Fleet, startFleet } from '@halyard/device-sim';
import type { BrowserContext, Page } from 'playwright-core';
import { ADMIN_PASSWORD, type Api, type HubProcess, logIn, OUT, openPage, provision, startConsoleHub, tearDown } from './e2e-support.ts';

const WAIT = { timeout: 15_000 };
const MODEL = 'sim-thermostat';
const DEVICE = 'thermo-0001';

describe('model profiles in the console', () => {
  let hub: HubProcess;
  let api: Api;
  let context: BrowserContext;
  let profile: string;
  let page: Page;
  let fleet: Fleet | undefined;
  const errors: string[] = [];

  before(async () => {
    ({ hub, api } = await startConsoleHub());
    const thermos = await provision(hub, 1, 'thermo-', 'thermostat');
    fleet = startFleet({ hub: hub.ws, devices: thermos, rate: 2, backoff: { baseMs: 200, capMs: 1_000 } });
    ({ context, profile, page } = await openPage(errors));
    await logIn(page, hub, 'admin', ADMIN_PASSWORD, `a[data-device="${DEVICE}"]:has-text("online")`);
  });

  after(() => tearDown({ context, profile, hub }, fleet));

  it('an operator describes the model, starting from the commands its devices declared', async () => {
    await page.goto(`${hub.http}/devices/${DEVICE}/telemetry`);
    await page.click(`a[href="/models/${MODEL}"]`);
    const form = page.locator(`form[aria-label="Profile of ${MODEL}"]`);
    await form.waitFor(WAIT);
    await form.locator('text=Nobody has described this model yet.').waitFor(WAIT);
    // The thermostat declared cmd:set_setpoint (and the built-ins) in HELLO caps.
    await form.locator('button:has-text("Add set_setpoint")').click();
    await form.locator('button:has-text("Add a parameter to set_setpoint")').click();
    const p = 'Command set_setpoint parameter 1';
    await form.getByLabel(`${p} name`).fill('value');
    await form.getByLabel(`${p} min`).fill('5');
    await form.getByLabel(`${p} max`).fill('30');
    await form.getByLabel(`${p} unit`).fill('Cel');
    await form.getByLabel(`${p} required`).check();

    await form.locator('button:has-text("Add a metric")').click();
    await form.getByLabel('Metric 1 name').fill('temperature');
    await form.getByLabel('Metric 1 decimals').fill('1');
    await form.getByLabel('Metric 1 label').fill('Room temperature');

    await form.locator('button:has-text("Add a desired key")').click();
    await form.getByLabel('Desired key 1 name').fill('setpoint');
    await form.getByLabel('Desired key 1 min').fill('5');
    await form.getByLabel('Desired key 1 max').fill('30');
    await form.locator('button:has-text("Add a desired key")').click();
    await form.getByLabel('Desired key 2 name').fill('mode');
    await form.getByLabel('Desired key 2 type').selectOption('enum');
    // An enum without values: the hub's refusal, in words naming the row.
    await form.locator('button:has-text("Save profile")').click();
    await form.locator('text=desired key mode, values').waitFor(WAIT);
    await form.getByLabel('Desired key 2 values').fill('heat, cool, auto, off');
    await form.locator('button:has-text("Save profile")').click();
    await form.locator('text=Saved.').waitFor(WAIT);
    await page.screenshot({ path: join(OUT, 'model-profile-editor.png'), fullPage: true });

    const stored = (await api.call('GET', `/models/${MODEL}/profile`)) as { commands: unknown; metrics: unknown; desired: unknown };
    assert.deepEqual(stored.commands, [
      { name: 'set_setpoint', params: [{ name: 'value', type: 'number', min: 5, max: 30, unit: 'Cel', required: true }] },
    ]);
    assert.deepEqual(stored.metrics, [{ name: 'temperature', decimals: 1, label: 'Room temperature' }]);
    assert.deepEqual(stored.desired, [
      { name: 'setpoint', type: 'number', min: 5, max: 30 },
      { name: 'mode', type: 'enum', values: ['heat', 'cool', 'auto', 'off'] },
    ]);
  });

  it('the command form offers a parameter form and checks it', async () => {
    await page.goto(`${hub.http}/devices/${DEVICE}/commands`);
    const form = page.locator('form[aria-label="Send a command"]');
    await form.waitFor(WAIT);
    await form.locator('input[name=command]').fill('set_setpoint');
    const value = form.locator('input[name="param-value"]');
    await value.waitFor(WAIT);
    assert.equal(await form.locator('textarea[name=params]').count(), 0, 'the parameter form replaces the JSON');
    await value.fill('50');
    await form.locator('text=value must be at most 30 Cel').waitFor(WAIT);
    await value.fill('22');
    await form.locator('button[type=submit]').click();
    await page.locator('ul[aria-label="Commands, newest first"] li:has-text("set_setpoint")').first().waitFor(WAIT);
    const { commands } = (await api.call('GET', `/devices/${DEVICE}/commands`)) as { commands: { name: string; params: unknown }[] };
    assert.deepEqual(commands[0]?.params, { value: 22 });
    await page.screenshot({ path: join(OUT, 'model-profile-command.png') });
  });

  it('the twin editor lists the known desired keys and checks them', async () => {
    await page.goto(`${hub.http}/devices/${DEVICE}/twin`);
    await page.locator('button:has-text("Edit desired")').click();
    const keys = page.locator('table[aria-label="Desired keys this model understands"]');
    await keys.waitFor(WAIT);
    assert.match((await keys.textContent()) ?? '', /setpoint\s*a number from 5 to 30/);
    assert.match((await keys.textContent()) ?? '', /mode\s*one of heat, cool, auto, off/);
    await page.fill('#desired-editor', '{"setpoint": 99, "mode": "warm"}');
    await page.locator('#desired-note:has-text("setpoint must be at most 30")').waitFor(WAIT);
    assert.match((await page.locator('#desired-note').textContent()) ?? '', /mode must be one of heat, cool, auto, off/);
    assert.equal(await page.locator('button:has-text("Save desired")').isDisabled(), true);
    await page.fill('#desired-editor', '{"setpoint": 21, "fan": 1}');
    await page.locator('#desired-note:has-text("Not in the model\'s profile: fan")').waitFor(WAIT);
    assert.equal(await page.locator('button:has-text("Save desired")').isDisabled(), false);
    await page.screenshot({ path: join(OUT, 'model-profile-twin.png') });
  });

  it('charts and latest values take the profile label and decimals', async () => {
    await page.goto(`${hub.http}/devices/${DEVICE}/telemetry`);
    await page.locator('.chart-block[data-chart="temperature"] h3:has-text("Room temperature")').waitFor(WAIT);
    const latest = ((await page.locator('[data-metric="temperature"] .value').textContent()) ?? '').trim();
    assert.match(latest, /^-?\d+\.\d °C$/, latest);
    assert.deepEqual(errors, []);
  });
});
