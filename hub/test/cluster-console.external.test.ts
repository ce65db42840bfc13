// The console's Hub page of a cluster, in headless Debian Chromium through HAProxy
// (README.md, Running a cluster): the cluster-nodes table lists every node, marks the
// one leader and the node serving the page's channel; a node killed drops off the table
// within seconds, and if it led, the node left takes over and is marked so.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { startTestCluster, type TestCluster } from './helpers/cluster.js';

const OUT = fileURLToPath(new URL('../../test-output/console', import.meta.url));
const WAIT = { timeout: 20_000 };

interface NodeRow {
  node: string;
  self: boolean;
  leader: boolean;
}

/** The rows of the cluster-nodes table as the operator reads them. */
function rows(page: Page): Promise<NodeRow[]> {
  return page.locator('[data-testid="hub-nodes"] tbody tr').evaluateAll((trs) =>
    trs.map((tr) => {
      const [name, role] = [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '');
      return {
        node: (name ?? '').split(' ')[0] ?? '',
        self: (name ?? '').includes('(this page)'),
        leader: (role ?? '').includes('leader'),
      };
    }),
  );
}

describe('the Hub page of a cluster, in a browser', { timeout: 180_000 }, () => {
  let c: TestCluster;
  let context: BrowserContext;
  let page: Page;
  let profile: string;

  before(async () => {
    c = await startTestCluster({ nodes: 2, fsync: false });
    profile = mkdtempSync(join(tmpdir(), 'halyard-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: process.env.HALYARD_CHROMIUM ?? '/usr/bin/chromium',
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
      viewport: { width: 1280, height: 900 },
      colorScheme: 'light',
    });
    page = context.pages()[0] ?? (await context.newPage());
    mkdirSync(OUT, { recursive: true });
  });

  after(async () => {
    await context?.close();
    await c?.stop();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it('lists both nodes, one leader, the page own node marked; a killed node drops off and the other leads', async () => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${c.urls.http}/hub`);
    await page.fill('#login-user', 'admin');
    await page.fill('#login-password', c.adminPassword);
    await page.click('button[type=submit]');
    await page.waitForSelector('.conn[data-state="live"]', WAIT);
    const table = page.locator('[data-testid="hub-nodes"] tbody tr');
    await table.nth(1).waitFor(WAIT);
    const before = await rows(page);
    assert.deepEqual(before.map((r) => r.node).sort(), ['node1', 'node2']);
    assert.equal(before.filter((r) => r.leader).length, 1, JSON.stringify(before));
    const self = before.filter((r) => r.self);
    assert.equal(self.length, 1, JSON.stringify(before));
    // Redis and PostgreSQL are up for both.
    const health = await page
      .locator('[data-testid="hub-nodes"] tbody tr')
      .evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].slice(-2).map((td) => td.textContent)));
    assert.deepEqual(health, [
      ['up', 'up'],
      ['up', 'up'],
    ]);
    // The page's own console is counted on its node.
    await table.filter({ hasText: '(this page)' }).locator('td:nth-child(4)', { hasText: /^1$/ }).waitFor(WAIT);
    await page.screenshot({ path: join(OUT, 'cluster-hub.png'), fullPage: true });

    // The node not serving this page is killed: it drops off, and the page's node leads.
    const other = before.find((r) => !r.self)?.node;
    const index = c.nodes.findIndex((n) => n.id === other);
    assert.ok(index >= 0, `no node ${other}`);
    await c.kill(index);
    await table.nth(1).waitFor({ state: 'detached', ...WAIT });
    await table.filter({ hasText: 'leader' }).waitFor({ timeout: 40_000 });
    const left = await rows(page);
    assert.deepEqual(left, [{ node: self[0]?.node, self: true, leader: true }]);
    assert.equal(await page.locator('.conn[data-state="live"]').count(), 1, 'the page stayed live');
    assert.deepEqual(errors, []);
  });
});
