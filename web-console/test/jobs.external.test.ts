// Fleet jobs in real headless Chromium against a real hub (docs/jobs.md): the new-job
// form takes the fleet filters from the URL and counts the devices they take in; a
// desired-patch job runs to completed on its page, whose devices link to each device;
// a command job to devices that are offline waits with them pending and is paused,
// resumed and cancelled with the page's buttons (those devices end skipped); a job
// given a deadline in the form shows it and, its devices never back, ends timed out
// on its page live (the console channel's `jobs` stream: no re-reading every second).

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { type Api, type HubProcess, logIn, OUT, openPage, startConsoleHub, tearDown } from './e2e-support.ts';

const WAIT = { timeout: 15_000 };

describe('fleet jobs in the console', () => {
  let hub: HubProcess;
  let api: Api;
  let context: BrowserContext;
  let profile: string;
  let page: Page;
  const errors: string[] = [];

  before(async () => {
    ({ hub, api } = await startConsoleHub());
    for (const id of ['pump-1', 'pump-2', 'pump-3']) await api.call('POST', '/devices', { id, tags: ['pumps'] });
    await api.call('POST', '/devices', { id: 'fan-1', tags: ['fans'] });
    ({ context, profile, page } = await openPage(errors));
    await logIn(page, hub);
  });

  after(() => tearDown({ context, profile, hub }));

  it('creates a desired-patch job from the fleet filters, follows it to completed and links to its devices', async () => {
    await page.goto(`${hub.http}/jobs/new?tag=pumps`);
    await page.locator('[data-testid="job-preview"]', { hasText: '3 devices (0 online now)' }).waitFor(WAIT);
    await page.getByLabel('Name').fill('eco mode');
    await page.getByLabel('What').selectOption('desired');
    // Checked as it is typed: not JSON, then JSON but not an object, then right.
    const patchBox = page.getByLabel('Desired patch (JSON merge patch)');
    await patchBox.fill('{"mode": ');
    await page.locator('.field-error', { hasText: 'not JSON' }).waitFor(WAIT);
    assert.equal(await patchBox.getAttribute('aria-invalid'), 'true');
    await patchBox.fill('["eco"]');
    await page.locator('.field-error', { hasText: 'a JSON object' }).waitFor(WAIT);
    await patchBox.fill('{"mode": "eco"}');
    await page.locator('.field-error').waitFor({ state: 'detached', ...WAIT });
    assert.equal(await patchBox.getAttribute('aria-invalid'), 'false');
    await page.click('button:has-text("Start job")');
    await page.locator('[data-testid="job-state"]', { hasText: 'completed' }).waitFor(WAIT);
    const rows = page.locator('[data-testid="job-devices"] tbody tr');
    await rows.filter({ hasText: 'pump-3' }).filter({ hasText: 'succeeded' }).waitFor(WAIT);
    assert.equal(await rows.count(), 3);
    assert.match((await rows.first().textContent()) ?? '', /pump-1.*succeeded/);
    // Laid out as a table: each state sits under its column's heading.
    const heading = await page.locator('[data-testid="job-devices"] th', { hasText: 'State' }).boundingBox();
    const cell = await rows.first().locator('td').nth(2).boundingBox();
    assert.ok(heading && cell && Math.abs(heading.x - cell.x) < 2, `State heading at ${heading?.x}, its cell at ${cell?.x}`);
    await page.screenshot({ path: join(OUT, 'job-completed.png') });
    await rows.first().locator('a').click();
    await page.waitForURL(/\/devices\/pump-1/, WAIT);
    const twin = (await api.call('GET', '/devices/pump-1/twin')) as { desired: { mode: string } };
    assert.equal(twin.desired.mode, 'eco');
  });

  it('opens the job form from the fleet table: checked rows, or every device the filter matches', async () => {
    await page.goto(`${hub.http}/fleet?q=tag:pumps`);
    await page.locator('[data-device="pump-2"]').waitFor(WAIT);
    await page.click('button:has-text("New job for all 3 matching")');
    await page.waitForURL(/\/jobs\/new\?from=fleet/, WAIT);
    await page.locator('[data-testid="job-preview"]', { hasText: '3 devices' }).waitFor(WAIT);
    await page.goto(`${hub.http}/fleet`);
    await page.locator('[data-device="fan-1"]').waitFor(WAIT);
    await page.getByLabel('Select fan-1 for a job').check();
    assert.match(page.url(), /\/fleet/, 'the box toggles, the row link does not follow');
    // Beside its box the status still reads in words, not cut to "…".
    const status = page.locator('[data-device="fan-1"] .cell').first();
    assert.equal(await status.evaluate((el) => el.scrollWidth <= el.clientWidth), true, 'the status cell is clipped');
    assert.match((await status.textContent()) ?? '', /never seen/);
    await page.click('button:has-text("New job for 1 selected")');
    await page.locator('[data-testid="job-preview"]', { hasText: '1 device (' }).waitFor(WAIT);
    await page.locator('text=1 device chosen (fan-1).').waitFor(WAIT);
    // A device page's Updates tab: nothing yet, and a way to start one.
    await page.goto(`${hub.http}/devices/fan-1/updates`);
    await page.locator('text=No firmware updates yet').waitFor(WAIT);
    await page.click('button:has-text("Update this device")');
    await page.locator('text=1 device chosen (fan-1).').waitFor(WAIT);
    assert.equal(await page.getByLabel('What').inputValue(), 'update');
  });

  it('uploads an image with its progress into the firmware library, by model, and shows the signing key', async () => {
    const image = join(profile, 'relay-5.0.0.bin');
    writeFileSync(image, Buffer.alloc(300_000, 7));
    await page.goto(`${hub.http}/firmware`);
    await page.getByLabel('Image file').setInputFiles(image);
    await page.getByLabel('Model').fill('relay');
    await page.getByLabel('Version').fill('5.0.0');
    await page.getByLabel('Release notes').fill('pump timing fix');
    await page.click('button:has-text("Upload")');
    const row = page.locator('[data-testid="firmware-relay"] tr', { hasText: '5.0.0' });
    await row.waitFor(WAIT);
    assert.match((await row.textContent()) ?? '', /300,000 B.*ready/);
    // Said once it is in, and the row tells who uploaded it and why.
    await page.locator('.flash', { hasText: 'Uploaded relay 5.0.0 (300,000 B)' }).waitFor(WAIT);
    assert.match((await row.textContent()) ?? '', /by admin.*pump timing fix/);
    await page.locator('[data-testid="signing-key"]', { hasText: 'BEGIN PUBLIC KEY' }).waitFor(WAIT);
    const listed = (await api.call('GET', '/firmware?model=relay')) as { firmware: { version: string }[] };
    assert.deepEqual(
      listed.firmware.map((f) => f.version),
      ['5.0.0'],
    );
    await page.screenshot({ path: join(OUT, 'firmware-library.png') });
    // Deleting an image asks once, in its row, with the focus on "Keep".
    const scrap = join(profile, 'relay-scrap.bin');
    writeFileSync(scrap, Buffer.alloc(1000, 1));
    await page.getByLabel('Image file').setInputFiles(scrap);
    await page.getByLabel('Version').fill('5.0.1-scrap');
    await page.click('button:has-text("Upload")');
    const scrapRow = page.locator('[data-testid="firmware-relay"] tr', { hasText: '5.0.1-scrap' });
    await scrapRow.locator('button:has-text("Delete…")').click();
    await page.waitForFunction(() => document.activeElement?.textContent === 'Keep', undefined, WAIT);
    await scrapRow.locator('button:has-text("Delete relay 5.0.1-scrap")').click();
    await scrapRow.waitFor({ state: 'detached', ...WAIT });
    const after = (await api.call('GET', '/firmware?model=relay')) as { firmware: { version: string }[] };
    assert.deepEqual(
      after.firmware.map((f) => f.version),
      ['5.0.0'],
    );
    // An update job counts its devices once the image is chosen, and says why none is taken in.
    await page.goto(`${hub.http}/jobs/new?tag=pumps`);
    await page.getByLabel('What').selectOption('update');
    const preview = page.locator('[data-testid="job-preview"]');
    await preview.locator('text=Choose an image to count the devices').waitFor(WAIT);
    await page.getByLabel('Firmware image').selectOption({ label: 'relay 5.0.0' });
    await preview.locator('text=0 devices (0 online now): none of model relay matches now').waitFor(WAIT);
  });

  it('pauses, resumes and cancels a command job with the page’s buttons', async () => {
    await page.goto(`${hub.http}/jobs/new?tag=pumps`);
    await page.locator('[data-testid="job-preview"]', { hasText: '3 devices' }).waitFor(WAIT);
    await page.getByLabel('Command').fill('flush');
    // Bad params are refused in the form, naming the field.
    await page.getByLabel('Params (JSON)').fill('{bad');
    await page.click('button:has-text("Start job")');
    await page.locator('form', { hasText: 'Params (JSON): not JSON (' }).waitFor(WAIT);
    const focused = () => page.evaluate(() => document.activeElement?.getAttribute('name'));
    assert.equal(await focused(), 'action.params', 'the refusal takes the focus to its box');
    assert.equal(await page.getByLabel('Params (JSON)').getAttribute('aria-invalid'), 'true');
    await page.getByLabel('Params (JSON)').fill('');
    // The hub's refusal too: at the TTL box, though the job's own name is also a "name".
    await page.getByLabel('TTL').fill('soon');
    await page.click('button:has-text("Start job")');
    await page.locator('form', { hasText: 'action.ttl' }).waitFor(WAIT);
    assert.equal(await focused(), 'action.ttl');
    assert.notEqual(await page.getByLabel('Params (JSON)').getAttribute('aria-invalid'), 'true', 'the earlier mark is gone');
    await page.getByLabel('TTL').fill('2m');
    // Half a start window: the end it lacks is marked.
    await page.getByLabel('Start devices from (UTC)').fill('01:00');
    await page.click('button:has-text("Start job")');
    await page.locator('form', { hasText: 'rollout.window.to' }).waitFor(WAIT);
    assert.equal(await focused(), 'rollout.window.to');
    await page.getByLabel('Start devices from (UTC)').fill('');
    await page.getByLabel('Timeout').fill('45s');
    await page.getByLabel('Devices started per minute').fill('600');
    await page.click('button:has-text("Start job")');
    const state = page.locator('[data-testid="job-state"]');
    await state.locator('text=running').waitFor(WAIT);
    await page.click('button:has-text("Pause")');
    await state.locator('text=paused').waitFor(WAIT);
    // Paused by hand, nothing waits for an approval: Resume, no Approve.
    assert.equal(await page.locator('button:has-text("Approve")').count(), 0);
    await page.click('button:has-text("Resume")');
    await state.locator('text=running').waitFor(WAIT);
    // Cancelling asks once, in the page: "Keep the job" takes the focus, Escape keeps it.
    await page.click('button:has-text("Cancel job…")');
    await page.waitForFunction(() => document.activeElement?.textContent === 'Keep the job', undefined, WAIT);
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => document.activeElement?.textContent === 'Cancel job…', undefined, WAIT);
    assert.match((await state.textContent()) ?? '', /running/);
    await page.click('button:has-text("Cancel job…")');
    await page.click('button:has-text("devices not started are skipped")');
    await state.locator('text=cancelled').waitFor(WAIT);
    await page.locator('[data-testid="job-reasons"]', { hasText: 'job cancelled: 3' }).waitFor(WAIT);
    await page.screenshot({ path: join(OUT, 'job-cancelled.png') });
    const jobId = new URL(page.url()).pathname.split('/').pop() as string;
    const made = (await api.call('GET', `/jobs/${jobId}`)) as {
      spec: { action: { ttl?: unknown; timeout?: unknown }; rollout: { ratePerMinute: unknown; window: unknown } };
    };
    assert.deepEqual(
      [made.spec.action.ttl, made.spec.action.timeout, made.spec.rollout.ratePerMinute, made.spec.rollout.window],
      ['2m', '45s', 600, null],
      'the form sent its ttl, timeout and rate',
    );
    await page.goto(`${hub.http}/jobs`);
    await page.locator('[data-testid="jobs"] tbody tr').nth(1).waitFor(WAIT);
    // The list's counts add up to the job's devices: the skipped have their column.
    const cells = await page.$$eval(`tr[data-job="${jobId}"] td`, (tds) => tds.map((td) => td.textContent ?? ''));
    const counts = cells.slice(4, 10).map(Number);
    assert.equal(
      counts.reduce((a, b) => a + b, 0),
      3,
      cells.join(' | '),
    );
    assert.equal(counts[4], 3, 'the three not started are skipped');
    const audit = (await api.call('GET', '/audit?limit=50')) as { entries: { action: string }[] };
    for (const a of ['job.create', 'job.pause', 'job.resume', 'job.cancel'])
      assert.ok(
        audit.entries.some((e) => e.action === a),
        a,
      );
    assert.deepEqual(errors, []);
  });

  it('takes a deadline in the form, shows it, and follows the job live to timed out', async () => {
    await page.goto(`${hub.http}/jobs/new?tag=pumps`);
    await page.locator('[data-testid="job-preview"]', { hasText: '3 devices' }).waitFor(WAIT);
    await page.getByLabel('Name').fill('never back');
    await page.getByLabel('Command').fill('flush');
    await page.getByLabel('Deadline').fill('6s');
    // Every read of the job itself (not its device list) from here on.
    const reads: number[] = [];
    const onRequest = (r: { method(): string; url(): string }) => {
      if (r.method() === 'GET' && /\/api\/v1\/jobs\/j-[0-9a-f]{12}$/.test(r.url())) reads.push(Date.now());
    };
    page.on('request', onRequest);
    await page.click('button:has-text("Start job")');
    const state = page.locator('[data-testid="job-state"]');
    await state.locator('text=running').waitFor(WAIT);
    const id = /\/jobs\/(j-[0-9a-f]{12})/.exec(page.url())?.[1] as string;
    const created = (await api.call('GET', `/jobs/${id}`)) as { createdAt: number; deadlineAt: number };
    assert.equal(created.deadlineAt - created.createdAt, 6_000);
    await page.locator('[data-testid="job-deadline"]', { hasText: '(in ' }).waitFor(WAIT);
    await page.locator('[data-testid="job-counts"] [data-state="pending"]', { hasText: '3' }).waitFor(WAIT);
    // The offline pumps never start: at the deadline the counts and state move on the page by themselves.
    await state.locator('text=timed out').waitFor(WAIT);
    const flipped = Date.now();
    await page.locator('[data-testid="job-counts"] [data-state="timed_out"]', { hasText: '3' }).waitFor(WAIT);
    await page.locator('[data-testid="job-reasons"]', { hasText: 'job deadline passed: 3' }).waitFor(WAIT);
    page.off('request', onRequest);
    // Opening read, one more a second after the first progress, and one as it ends: never once a second for six.
    const before = reads.filter((t) => t <= flipped).length;
    assert.ok(before <= 3, `the job was read ${before} times while it ran: the page polls`);
    await page.screenshot({ path: join(OUT, 'job-timed-out.png') });
    const audit = (await api.call('GET', '/audit?limit=50')) as { entries: { action: string; target: string }[] };
    assert.ok(audit.entries.some((e) => e.action === 'job.timeout' && e.target === id));
    assert.deepEqual(errors, []);
  });

  it('on a phone the rail keeps Jobs in sight, a job no device matches says so, and no page slides sideways', async () => {
    const job = (await api.call('POST', '/jobs', {
      name: 'nobody yet',
      action: { type: 'command', name: 'flush' },
      selection: { tags: ['nobody'] },
    })) as { id: string };
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      await page.goto(`${hub.http}/jobs/${job.id}`);
      await page.locator('text=No device in this job yet').waitFor(WAIT);
      const rail = await page.locator('nav.rail').boundingBox();
      const current = await page.locator('nav.rail a[aria-current="page"]').boundingBox();
      assert.ok(rail && current, 'the rail and its current link');
      assert.ok(
        current.x >= rail.x && current.x + current.width <= rail.x + rail.width,
        `Jobs at ${current.x} in a rail of ${rail.width} px`,
      );
      // Every link of the rail is whole on screen: it wraps rather than running off the edge.
      for (const link of await page.locator('nav.rail a').all()) {
        const b = await link.boundingBox();
        assert.ok(b && b.x >= rail.x && b.x + b.width <= rail.x + rail.width + 0.5, `${await link.textContent()} cut at the edge`);
      }
      assert.equal(await page.locator('[data-testid="job-devices"]').count(), 0);
      await page.screenshot({ path: join(OUT, 'job-empty-phone.png') });
      // Nothing slides sideways: the firmware library with its key, the fleet table with its boxes.
      const sideways = () => page.locator('main').evaluate((el) => el.scrollWidth - el.clientWidth);
      await page.goto(`${hub.http}/firmware`);
      await page.locator('[data-testid="signing-key"]').waitFor(WAIT);
      assert.equal(await sideways(), 0, 'the firmware page is wider than the phone');
      await page.goto(`${hub.http}/fleet`);
      await page.locator('[data-device="fan-1"]').waitFor(WAIT);
      for (const row of ['.thead', '[data-device="fan-1"]']) {
        const over = await page.locator(`.fleet-cols${row}`).evaluate((el) => el.scrollWidth - el.clientWidth);
        assert.ok(over <= 0, `${row} is ${over} px wider than the table`);
      }
      const status = page.locator('[data-device="fan-1"] .cell').first();
      assert.equal(await status.evaluate((el) => el.scrollWidth <= el.clientWidth), true, 'the status cell is clipped on a phone');
    } finally {
      await page.setViewportSize({ width: 1280, height: 800 });
    }
    assert.deepEqual(errors, []);
  });
});
