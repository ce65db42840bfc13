// The alarm-rule and webhook caps under concurrent creates. The cap is counted in the
// store's transaction (SQLite: the one writer; PostgreSQL: under a transaction
// advisory lock), not by each hub on its own: requests sent at the same instant, to
// one hub or (on PostgreSQL) to two hubs of one database, create exactly up to the
// cap, and every other one gets 429 HUB_ERR_QUEUE_FULL. Runs on the test store
// (SQLite, or PostgreSQL with HALYARD_TEST_STORE=postgres).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AlarmRule } from '@halyard/firmware-protocol';
import { MAX_ALARM_RULES } from '../src/alarms/service.js';
import { PostgresStore } from '../src/store/postgres/postgres-store.js';
import type { WebhookRecord } from '../src/store/store.js';
import { MAX_WEBHOOKS } from '../src/webhooks/service.js';
import { type Api, startTestHub, type TestHub } from './helpers/hub.js';
import { databaseFor, onPostgres } from './helpers/test-store.js';

// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON bodies
type Json = any;

/** Creates sent at once, and room left under the cap before they are sent. */
const PARALLEL = 24;
const ROOM = 5;

describe('caps under concurrent creates', () => {
  let a: TestHub;
  /** A second hub on the same PostgreSQL database (on SQLite, the same hub again: a SQLite file has one hub). */
  let b: TestHub | undefined;
  let apis: Api[];
  before(async () => {
    a = await startTestHub(['--webhook-allow', '127.0.0.1']);
    if (onPostgres) b = await startTestHub(['--webhook-allow', '127.0.0.1', '--store', (await databaseFor(a.dir)).url]);
    apis = [a.api, b?.api ?? a.api];
  });
  after(async () => {
    await b?.stop();
    await a.close();
  });

  /** Sends PARALLEL requests at once, alternating between the hubs; their answers. */
  async function race(path: string, body: (i: number) => unknown): Promise<{ status: number; body: Json }[]> {
    return Promise.all(Array.from({ length: PARALLEL }, (_, i) => (apis[i % apis.length] as Api).post(path, body(i))));
  }

  function expectCap(answers: { status: number; body: Json }[], what: string): void {
    const created = answers.filter((r) => r.status === 201);
    const refused = answers.filter((r) => r.status !== 201);
    assert.equal(created.length, ROOM, `exactly the room left under the ${what} cap is created`);
    for (const r of refused) {
      assert.equal(r.status, 429, JSON.stringify(r.body));
      assert.equal(r.body.error.code, 'HUB_ERR_QUEUE_FULL');
      assert.match(r.body.error.message, new RegExp(`at most \\d+ ${what}`));
    }
  }

  it(`alarm rules: ${PARALLEL} creates at once with room for ${ROOM}`, async () => {
    const doc = { name: 'r', severity: 'minor', condition: { kind: 'offline', for: '1m' } };
    const first = await a.api.post('/alarm-rules', doc);
    assert.equal(first.status, 201, JSON.stringify(first.body));
    // Filled in the store directly (a thousand requests would only be slower).
    const rule = (await a.hub.ctx.store.getAlarmRule(first.body.id)) as AlarmRule;
    for (let i = 1; i < MAX_ALARM_RULES - ROOM; i++) await a.hub.ctx.store.op('putAlarmRule', { ...rule, id: `r-fill-${i}` });
    expectCap(await race('/alarm-rules', (i) => ({ ...doc, name: `race-${i}` })), 'alarm rules');
    assert.equal((await a.api.get('/alarm-rules')).body.rules.length, MAX_ALARM_RULES);
    if (b !== undefined) assert.equal((await b.api.get('/alarm-rules')).body.rules.length, MAX_ALARM_RULES);
  });

  it(`webhooks: ${PARALLEL} creates at once with room for ${ROOM}`, async () => {
    const doc = { name: 'w', url: 'http://127.0.0.1:9/hook', events: ['alarm'] };
    const first = await a.api.post('/webhooks', doc);
    assert.equal(first.status, 201, JSON.stringify(first.body));
    const hook = (await a.hub.ctx.store.getWebhook(first.body.id)) as WebhookRecord;
    for (let i = 1; i < MAX_WEBHOOKS - ROOM; i++) await a.hub.ctx.store.op('putWebhook', { ...hook, id: `wh-fill-${i}` });
    expectCap(await race('/webhooks', (i) => ({ ...doc, name: `race-${i}` })), 'webhooks');
    assert.equal((await a.api.get('/webhooks')).body.webhooks.length, MAX_WEBHOOKS);
  });

  it('an update never brings back a rule or webhook deleted meanwhile (by another hub): it is refused as unknown', async () => {
    const rule = (await a.hub.ctx.store.listAlarmRules())[0] as AlarmRule;
    const hook = (await a.hub.ctx.store.listWebhooks())[0] as WebhookRecord;
    await a.hub.ctx.store.op('deleteAlarmRule', { id: rule.id });
    await a.hub.ctx.store.op('deleteWebhook', { id: hook.id });
    await assert.rejects(a.hub.ctx.store.op('replaceAlarmRule', { ...rule, name: 'late' }), { code: 'HUB_ERR_ALARM_RULE_UNKNOWN' });
    await assert.rejects(a.hub.ctx.store.op('replaceWebhook', { ...hook, name: 'late' }), { code: 'HUB_ERR_WEBHOOK_UNKNOWN' });
    assert.equal(await a.hub.ctx.store.getAlarmRule(rule.id), undefined);
    assert.equal(await a.hub.ctx.store.getWebhook(hook.id), undefined);
  });

  it('hold with many writers at once: eight stores on one PostgreSQL database, three creates each', {
    skip: onPostgres ? false : 'PostgreSQL only: a SQLite file has one writer',
  }, async () => {
    // Each hub sends its own writes one at a time; eight stores are eight hubs' worth of transactions in flight together.
    const url = (await databaseFor(a.dir)).url;
    const stores = await Promise.all(
      Array.from({ length: 8 }, () =>
        PostgresStore.open({ url, commitIntervalMs: 2, maxBatchFrames: 50, maxFrame: 65536, retentionMs: 0, maintenanceIntervalMs: 0 }),
      ),
    );
    try {
      const hook = (await a.hub.ctx.store.listWebhooks())[0] as WebhookRecord;
      const rule = (await a.hub.ctx.store.listAlarmRules())[0] as AlarmRule;
      for (const [what, have, create] of [
        [
          'webhooks',
          (await a.hub.ctx.store.listWebhooks()).length,
          (s: PostgresStore<unknown>, i: number, max: number) => s.op('createWebhook', { webhook: { ...hook, id: `wh-many-${i}` }, max }),
        ],
        [
          'alarm rules',
          (await a.hub.ctx.store.listAlarmRules()).length,
          (s: PostgresStore<unknown>, i: number, max: number) => s.op('createAlarmRule', { rule: { ...rule, id: `r-many-${i}` }, max }),
        ],
      ] as const) {
        const max = have + ROOM;
        const outcomes = await Promise.allSettled(stores.flatMap((s, k) => [0, 1, 2].map((j) => create(s, k * 3 + j, max))));
        assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, ROOM, `${what}: exactly the room left`);
        for (const o of outcomes)
          if (o.status === 'rejected') assert.equal((o.reason as { code?: string }).code, 'HUB_ERR_QUEUE_FULL', String(o.reason));
        const now = what === 'webhooks' ? (await a.hub.ctx.store.listWebhooks()).length : (await a.hub.ctx.store.listAlarmRules()).length;
        assert.equal(now, max, `${what}: the table holds the cap`);
      }
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });
});
