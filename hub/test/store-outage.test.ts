// What the hub does when its store's database server stops and starts answering
// (the store's 'connection' event; store/postgres/connection-state.ts raises it,
// store/postgres/outage.test.ts shows it against a real server): /healthz 503 with
// the reason, halyard_store_up 0, one log line each way, device reads paused and new
// device connections refused with 503; then all of it back.

import assert from 'node:assert/strict';
import type { EventEmitter } from 'node:events';
import { after, before, describe, it } from 'node:test';
import type { StoreConnection } from '../src/store/store.js';
import { TestDevice } from './helpers/device.js';
import { metricSample, startTestHub, type TestHub } from './helpers/hub.js';

describe('store outage in the hub', () => {
  let t: TestHub;
  before(async () => {
    t = await startTestHub();
  });
  after(() => t.close());

  it('reports it, holds devices back, and resumes', async () => {
    const token = await t.api.provision('outage-1');
    // Raised by hand, on either engine: SQLite's events come from its writer thread's emitter, PostgreSQL's from the store.
    const opened = t.hub.ctx.store as unknown as EventEmitter & { thread?: EventEmitter };
    const store = opened.thread ?? opened;
    const since = Date.now();
    const down: StoreConnection = { engine: 'postgres', up: false, since, error: 'connect ECONNREFUSED 10.0.0.9:5432', attempts: 0 };
    const logsBefore = t.logs.length;
    store.emit('connection', down);
    store.emit('connection', { ...down, error: 'still refused' });

    const health = await fetch(`${t.http}/healthz`);
    assert.equal(health.status, 503);
    const body = (await health.json()) as { problems: string[] };
    assert.ok(
      body.problems.some((p) => /storage is unreachable since .*postgres: still refused/.test(p)),
      JSON.stringify(body.problems),
    );
    assert.equal(await metricSample(t, 'halyard_store_up{engine="postgres"}'), 0);
    assert.equal(await metricSample(t, 'halyard_store_outages_total{engine="postgres"}'), 1);
    await assert.rejects(TestDevice.open(t.ws, token), (err: { status?: number }) => err.status === 503);

    store.emit('connection', { ...down, up: true, since: since + 1_500, attempts: 7 });
    const healthy = await fetch(`${t.http}/healthz`);
    assert.equal(healthy.status, 200);
    assert.equal(await metricSample(t, 'halyard_store_up{engine="postgres"}'), 1);
    assert.equal(await metricSample(t, 'halyard_store_down_seconds_total{engine="postgres"}'), 1.5);
    const d = await TestDevice.open(t.ws, token);
    await d.close();

    const lines = t.logs.slice(logsBefore).filter((l) => /^storage (unreachable|reachable again)/.test(l.msg));
    assert.deepEqual(
      lines.map((l) => l.msg.split(':')[0]),
      ['storage unreachable', 'storage reachable again'],
      'one line each way',
    );
    assert.equal(lines[1]?.downMs, 1_500);
  });
});
