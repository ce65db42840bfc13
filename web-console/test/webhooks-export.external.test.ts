// Webhooks and CSV downloads in real headless Chromium: an admin adds a webhook
// pointing at a receiver in this test (node:http on loopback, allowed by
// --webhook-allow), sees its secret once, sends a test delivery that arrives signed
// and shows as delivered in the log; the audit log and a device's chart download
// CSV files through the browser's own download.

import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { type Api, type HubProcess, logIn, openPage, startConsoleHub, tearDown } from './e2e-support.ts';

const WAIT = { timeout: 15_000 };

describe('webhooks and CSV downloads in the console', () => {
  let hub: HubProcess;
  let api: Api;
  let context: BrowserContext;
  let profile: string;
  let page: Page;
  const errors: string[] = [];
  const received: { headers: Record<string, string | string[] | undefined>; body: string }[] = [];
  const receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString() });
      res.writeHead(204).end();
    });
  });

  before(async () => {
    receiver.listen(0, '127.0.0.1');
    await once(receiver, 'listening');
    ({ hub, api } = await startConsoleHub(['--webhook-allow', '127.0.0.1']));
    ({ context, profile, page } = await openPage(errors));
    await logIn(page, hub);
  });

  after(async () => {
    await tearDown({ context, profile, hub });
    receiver.closeAllConnections();
    await new Promise((r) => receiver.close(r));
  });

  it('adds a webhook, shows its secret once, and a test delivery arrives signed and shows as delivered', async () => {
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    await page.goto(`${hub.http}/admin/webhooks`);
    await page.fill('input[name="webhook-name"]', 'ops');
    await page.fill('input[name="webhook-url"]', url);
    await page.click('form[aria-label="New webhook"] button[type=submit]');
    const secret = (await page.locator('[data-testid="webhook-secret"]').textContent(WAIT)) ?? '';
    assert.match(secret, /^whsec_/);
    await page.click('tr[data-webhook="ops"] button:has-text("Send test")');
    await page.locator('tr[data-state="delivered"]').first().waitFor(WAIT);
    assert.equal(received.length, 1);
    const [r] = received;
    const sig = String(r?.headers['halyard-signature']);
    const t = /t=(\d+)/.exec(sig)?.[1];
    assert.equal(sig, `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${r?.body}`).digest('hex')}`);
    assert.equal(JSON.parse(r?.body ?? '').type, 'test');
    // Gone once dismissed: the list shows no secret.
    await page.click('button:has-text("Done")');
    assert.equal(await page.locator('[data-testid="webhook-secret"]').count(), 0);
    const listed = (await api.call('GET', '/webhooks')) as { webhooks: Record<string, unknown>[] };
    assert.equal(listed.webhooks[0]?.secret, undefined);
  });

  it('on a phone each event box stays beside its words and a long URL stays on one line', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      await page.goto(`${hub.http}/admin/webhooks`);
      const labels = page.locator('form[aria-label="New webhook"] fieldset label');
      await labels.first().waitFor(WAIT);
      for (const label of await labels.all()) {
        // The first line of the words starts level with the box, to its right.
        const offset = await label.evaluate((el) => {
          const box = (el.querySelector('input') as HTMLInputElement).getBoundingClientRect();
          const words = document.createRange();
          words.selectNodeContents(el);
          const first = [...words.getClientRects()].find((r) => r.width > 0 && r.left >= box.right);
          return first === undefined ? Number.POSITIVE_INFINITY : Math.abs(first.top + first.height / 2 - (box.top + box.height / 2));
        });
        assert.ok(offset < 8, `"${await label.textContent()}" sits ${offset} px off its box`);
      }
      // And no box is squeezed by long words.
      const widths = await labels.locator('input').evaluateAll((els) => els.map((el) => Math.round(el.getBoundingClientRect().width)));
      assert.equal(new Set(widths).size, 1, `box widths ${widths.join(', ')}`);
      // A long URL is one line cut with an ellipsis, the whole URL in its title, and the
      // table scrolls inside itself rather than widening the page.
      const long = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/${'very-long-segment/'.repeat(6)}end?token=abc`;
      await api.call('POST', '/webhooks', {
        name: 'long',
        url: long,
        events: ['device.offline', 'device.online', 'command.failed', 'alarm'],
      });
      await page.reload();
      const cell = page.locator('tr[data-webhook="long"] td:nth-child(2)');
      await cell.waitFor(WAIT);
      const url = await cell.evaluate((el) => {
        // The line boxes of the URL's text (not of the elements around it).
        const text = document.createTreeWalker(el, NodeFilter.SHOW_TEXT).nextNode() as Text;
        const words = document.createRange();
        words.selectNodeContents(text);
        const lines = new Set([...words.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)));
        const cut = el.querySelector('[title]');
        return { lines: lines.size, title: cut?.getAttribute('title'), cut: cut !== null && cut.scrollWidth > cut.clientWidth };
      });
      assert.equal(url.lines, 1, `the URL takes ${url.lines} lines`);
      assert.equal(url.title, long);
      assert.ok(url.cut, 'a long URL is cut with an ellipsis');
      // The events wrap between names, never inside one.
      const events = await page.locator('tr[data-webhook="long"] td:nth-child(3) .word').evaluateAll((els) =>
        els.map((el) => {
          const words = document.createRange();
          words.selectNodeContents(el);
          return {
            name: el.textContent,
            lines: new Set([...words.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top))).size,
          };
        }),
      );
      assert.deepEqual(events.map((e) => e.name).sort(), ['alarm', 'command.failed', 'device.offline', 'device.online']);
      for (const e of events) assert.equal(e.lines, 1, `${e.name} takes ${e.lines} lines`);
      const pageWidth = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(pageWidth <= 390, `page is ${pageWidth} px wide on a 390 px phone`);
    } finally {
      await page.setViewportSize({ width: 1280, height: 800 });
    }
  });

  it('downloads the audit log and a chart as CSV', async () => {
    await page.goto(`${hub.http}/admin/audit`);
    const [auditFile] = await Promise.all([page.waitForEvent('download', WAIT), page.click('[data-testid="download-csv"]')]);
    assert.equal(auditFile.suggestedFilename(), 'audit.csv');
    const audit = readFileSync((await auditFile.path()) as string, 'utf8');
    assert.match(audit, /^id,at,actor,action,target,detail\r\n/);
    assert.match(audit, /,admin,webhook\.create,/);

    await api.call('POST', '/devices', { id: 'csv-1' });
    await page.goto(`${hub.http}/devices/csv-1/telemetry`);
    const [chartFile] = await Promise.all([
      page.waitForEvent('download', WAIT),
      page.click('section[aria-label="Telemetry"] .toolbar [data-testid="download-csv"]'),
    ]);
    assert.equal(chartFile.suggestedFilename(), 'csv-1-telemetry.csv');
    assert.equal(readFileSync((await chartFile.path()) as string, 'utf8'), 'time,ts,device,metric,unit,value\r\n');
    assert.deepEqual(errors, []);
  });

  it('opens a telemetry link on the range in its URL and keeps the URL in step', async () => {
    const pressed = page.locator('section[aria-label="Telemetry"] fieldset.ranges button[aria-pressed="true"]');
    await page.goto(`${hub.http}/devices/csv-1/telemetry?range=7d`);
    assert.equal(await pressed.textContent(WAIT), '7 d');
    const entries = await page.evaluate(() => history.length);
    await page.click('section[aria-label="Telemetry"] fieldset.ranges button:has-text("1 h")');
    await page.waitForURL(/\?range=1h$/, WAIT);
    assert.equal(await pressed.textContent(), '1 h');
    assert.equal(await page.evaluate(() => history.length), entries, 'picking a range replaces the history entry');
    // A range the picker does not offer is the default.
    await page.goto(`${hub.http}/devices/csv-1/telemetry?range=8d`);
    assert.equal(await pressed.textContent(WAIT), '15 min');
    assert.deepEqual(errors, []);
  });
});
