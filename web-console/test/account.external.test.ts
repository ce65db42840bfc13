// The operator's own account in real headless Chromium against a real hub: changing
// one's password from the top bar, by keyboard, with errors in words; the other
// session ends, this one goes on. The first Tab on any screen offers a skip link.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { Api, type HubProcess, logIn, OUT, openPage, startConsoleHub, tearDown } from './e2e-support.ts';

const WAIT = { timeout: 15_000 };

describe('own account in the console', () => {
  let hub: HubProcess;
  let api: Api;
  let context: BrowserContext;
  let profile: string;
  let page: Page;
  const errors: string[] = [];

  before(async () => {
    ({ hub, api } = await startConsoleHub());
    await api.call('POST', '/operators', { username: 'vic', password: 'vic-first-pass', role: 'viewer' });
    ({ context, profile, page } = await openPage(errors));
    await logIn(page, hub, 'vic', 'vic-first-pass');
  });

  after(() => tearDown({ context, profile, hub }));

  it('a viewer changes their password by keyboard; wrong input is explained; other sessions end', async () => {
    const other = new Api(hub.http);
    await other.login('vic', 'vic-first-pass');

    await page.focus('button:has-text("Password")');
    await page.keyboard.press('Enter');
    const dialog = page.locator('dialog.password-dialog');
    await dialog.waitFor({ state: 'visible', ...WAIT });
    // The first field has the focus: typing goes into it.
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('autocomplete')), 'current-password');

    // Mismatch and short password: said in words, nothing sent.
    await page.keyboard.type('vic-first-pass');
    await page.keyboard.press('Tab');
    await page.keyboard.type('short');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    await page.keyboard.type('other');
    await page.keyboard.press('Enter');
    await dialog.locator('text=at least 8 characters').first().waitFor(WAIT);
    await dialog.locator('text=The two new passwords differ.').waitFor(WAIT);

    // A wrong current password: the hub's refusal, on the field.
    await dialog.getByLabel('Current password').fill('not-my-password');
    await dialog.getByLabel('New password', { exact: true }).fill('vic-second-pass');
    await dialog.getByLabel('New password again').fill('vic-second-pass');
    await dialog.getByLabel('New password again').press('Enter');
    await dialog.locator('text=That is not your current password.').waitFor(WAIT);

    await dialog.getByLabel('Current password').fill('vic-first-pass');
    await dialog.getByLabel('New password again').press('Enter');
    await dialog.locator('text=Your password is changed').waitFor(WAIT);
    await page.screenshot({ path: join(OUT, 'account-password.png') });
    await page.keyboard.press('Enter');
    await dialog.waitFor({ state: 'hidden', ...WAIT });
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Password');

    // This session goes on (the live channel too); the other one ended.
    await page.waitForTimeout(500);
    assert.equal(await page.locator('.conn[data-state="live"]').count(), 1);
    await assert.rejects(other.call('GET', '/me'), /401/);
    const fresh = new Api(hub.http);
    await fresh.login('vic', 'vic-second-pass');
    assert.deepEqual(errors, []);
  });

  it('Escape closes the dialog and nothing changes', async () => {
    await page.click('button:has-text("Password")');
    const dialog = page.locator('dialog.password-dialog');
    await dialog.waitFor({ state: 'visible', ...WAIT });
    assert.equal(await dialog.getByLabel('Current password').inputValue(), '');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden', ...WAIT });
  });

  it('the first Tab offers "Skip to content", which takes the focus past the top bar and the sections', async () => {
    await page.goto(`${hub.http}/fleet`);
    await page.waitForSelector('.conn[data-state="live"]', WAIT);
    const skip = page.locator('a.skip-link');
    assert.equal(await skip.isVisible(), true, 'in the page, out of sight until focused');
    assert.ok(((await skip.boundingBox())?.y ?? 0) < 0, 'out of sight before the focus');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content');
    assert.ok(((await skip.boundingBox())?.y ?? -1) >= 0, 'in sight once focused');
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'main');
    assert.equal(new URL(page.url()).pathname, '/fleet', 'the screen stays');
    // The next Tab lands inside the screen, not on the top bar or the sections.
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.closest('main')?.id), 'main');
    assert.deepEqual(errors, []);
  });
});
