// The Hub page's MQTT accounts in real headless Chromium against a real hub: a
// persistent session that is away shows with its queue; an admin ends it with the
// button (typing its client id), and the hub forgets it. Connected clients are named. On a phone the tables scroll
// inside themselves, not the page.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import type { BrowserContext, Page } from 'playwright-core';
import { type Api, type HubProcess, logIn, OUT, openPage, startConsoleHub, tearDown } from './e2e-support.ts';

const WAIT = { timeout: 15_000 };

interface Listed {
  integrators: { username: string; clients: number; sessions: { clientId: string; queued: number }[] }[];
  mqtt: { port: number };
}

describe('MQTT sessions on the Hub page', () => {
  let hub: HubProcess;
  let api: Api;
  let context: BrowserContext;
  let profile: string;
  let page: Page;
  const errors: string[] = [];

  before(async () => {
    ({ hub, api } = await startConsoleHub());
    await api.call('POST', '/integrators', { username: 'erp', password: 'erp-password' });
    ({ context, profile, page } = await openPage(errors));
    await logIn(page, hub);
  });

  after(() => tearDown({ context, profile, hub }));

  it('shows a waiting session with its queue, and an admin ends it', async () => {
    const listed = (await api.call('GET', '/integrators')) as Listed;
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${listed.mqtt.port}`, {
      username: 'erp',
      password: 'erp-password',
      clientId: 'billing-feed',
      clean: false,
      reconnectPeriod: 0,
    });
    await client.subscribeAsync('halyard/hub/status', { qos: 1 });
    await client.endAsync();

    // A clean-session client connected now is named on its account's row, not only counted.
    const live = await mqtt.connectAsync(`mqtt://127.0.0.1:${listed.mqtt.port}`, {
      username: 'erp',
      password: 'erp-password',
      clientId: 'live-view',
      reconnectPeriod: 0,
    });
    await page.goto(`${hub.http}/hub`);
    await page.locator('[data-testid="mqtt-clients"]', { hasText: 'live-view' }).waitFor(WAIT);
    await live.endAsync();
    const row = page.locator('[data-testid="mqtt-sessions"] tr', { hasText: 'billing-feed' });
    await row.waitFor(WAIT);
    assert.match((await row.textContent()) ?? '', /away/);
    await page.screenshot({ path: join(OUT, 'hub-mqtt-sessions.png') });
    // On a phone the wide tables scroll inside themselves; the page does not slide sideways.
    await page.setViewportSize({ width: 390, height: 844 });
    await row.locator('button:has-text("End session")').scrollIntoViewIfNeeded();
    const main = await page.locator('main').evaluate((el) => ({ scroll: el.scrollWidth, client: el.clientWidth, left: el.scrollLeft }));
    assert.ok(main.scroll <= main.client && main.left === 0, `the Hub page is ${main.scroll} px wide in ${main.client} px`);
    await page.screenshot({ path: join(OUT, 'hub-mqtt-sessions-phone.png') });
    await page.setViewportSize({ width: 1280, height: 800 });

    await row.locator('button:has-text("End session")').click();
    const confirm = page.locator('form.confirm');
    await confirm.locator('input').fill('billing-feed');
    await confirm.locator('button:has-text("End session")').click();
    await row.waitFor({ state: 'detached', ...WAIT });
    const afterDrop = (await api.call('GET', '/integrators')) as Listed;
    assert.deepEqual(afterDrop.integrators.find((i) => i.username === 'erp')?.sessions, []);
    assert.deepEqual(errors, []);
  });
});
