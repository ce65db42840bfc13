// One device's row that compaction cannot store must not stop compaction: it is set
// aside (telemetry_quarantine), counted, named in one log line and shown in
// /healthz, and a restart does not wedge on it either.

import assert from 'node:assert/strict';
import type { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { encode } from '@halyard/firmware-protocol';
import Database from 'better-sqlite3';
import type { SqliteStore } from '../src/store/sqlite-store.js';
import { TestDevice } from './helpers/device.js';
import { startTestHub, type TestHub } from './helpers/hub.js';
import { onPostgres, sqliteOnly } from './helpers/test-store.js';

const health = (t: TestHub) => fetch(`${t.http}/healthz`).then((r) => r.json() as Promise<Record<string, unknown>>);

describe('telemetry compaction and a row it cannot store', () => {
  let t: TestHub | undefined;
  after(() => t?.close());

  it('quarantines the row, compacts the other devices, counts it, and a restart does not wedge', {
    skip: sqliteOnly('plants a row in the SQLite telemetry log; PostgreSQL has no log to compact (points are stored as they commit)'),
  }, async () => {
    t = await startTestHub();
    const tokens = { bad: await t.api.provision('wild'), good: await t.api.provision('tame') };
    const good = await TestDevice.connect(t.ws, tokens.good);
    const T = Date.now() - 60_000;
    await good.waitAck(good.telemetry([{ n: 'temp', v: 1, t: T / 1000 }]));
    await good.close();
    const dir = t.dir;
    const wild = t.hub.ctx.fleet.get('wild')?.record.rowid as number;
    const tame = t.hub.ctx.fleet.get('tame')?.record.rowid as number;
    await t.stop();

    // As an older hub would have acknowledged it: a frame whose time is finite but absurd.
    const db = new Database(join(dir, 'halyard.db'));
    const gen = Number(db.prepare("SELECT value FROM meta WHERE key = 'telemetry.gen'").pluck().get());
    const insert = db.prepare(`INSERT INTO telemetry_log${gen % 2} (device, received, frame) VALUES (?, ?, ?)`);
    insert.run(wild, T, encode({ type: 3, seq: 1, pack: [{ n: 'temp', v: 1, t: 1e300 }] }));
    insert.run(tame, T, encode({ type: 3, seq: 2, pack: [{ n: 'temp', v: 2, t: T / 1000 + 1 }] }));
    db.close();

    t = await startTestHub([], dir);
    await t.hub.ctx.store.compactNow();
    const latest = await t.api.get('/devices/tame/telemetry?name=temp&from=0');
    assert.deepEqual(
      latest.body.series[0].points.map((p: { v: number }) => p.v),
      [1, 2],
    );
    assert.equal(await t.hub.ctx.store.telemetry.compacted(), gen, 'the generation holding the bad row is compacted');
    const h = await health(t);
    assert.equal(h.status, 'ok');
    assert.deepEqual(h.storage, { quarantined: 1 });
    const metrics = await fetch(`${t.http}/metrics`).then((r) => r.text());
    assert.match(metrics, /halyard_telemetry_quarantined_total\{kind="frame"\} 1/);
    const lines = t.logs.filter((l) => l.device === 'wild' && /telemetry_quarantine/.test(l.msg));
    assert.equal(lines.length, 1, 'one log line names the device');
    assert.match(String(lines[0]?.reason), /PROTO_ERR_SENML/);

    // After another restart nothing is redone or stuck: new telemetry compacts as usual.
    await t.stop();
    t = await startTestHub([], dir);
    const again = await TestDevice.connect(t.ws, tokens.good);
    await again.waitAck(again.telemetry([{ n: 'temp', v: 3, t: T / 1000 + 2 }]));
    await t.hub.ctx.store.compactNow();
    assert.ok((await t.hub.ctx.store.telemetry.compacted()) > gen);
    assert.deepEqual((await health(t)).storage, { quarantined: 1 });
    assert.equal((await t.hub.ctx.store.stats()).failures, 0);
    await again.close();
    const check = new Database(join(dir, 'halyard.db'), { readonly: true });
    try {
      assert.equal(check.prepare('SELECT count(*) FROM telemetry_quarantine WHERE device = ?').pluck().get(wild), 1);
    } finally {
      check.close();
    }
  });

  it('/healthz reports maintenance that keeps failing, and recovers with it', async () => {
    const hub = await startTestHub();
    // Where each engine reports its maintenance steps: SQLite's writer thread, or PostgresStore itself.
    const reporter = onPostgres ? (hub.hub.ctx.store as unknown as EventEmitter) : (hub.hub.ctx.store as SqliteStore<unknown>).thread;
    try {
      // As the writer thread reports failing steps (a full disk, say): the first two may be a passing lock.
      reporter.emit('maintenance', 2);
      assert.equal((await fetch(`${hub.http}/healthz`)).status, 200);
      reporter.emit('maintenance', 3);
      const r = await fetch(`${hub.http}/healthz`);
      assert.equal(r.status, 503);
      assert.match(JSON.stringify(await r.json()), /storage maintenance is failing: 3 steps in a row/);
      const metrics = await fetch(`${hub.http}/metrics`).then((x) => x.text());
      assert.match(metrics, /halyard_store_maintenance_failures_total 2/);
      reporter.emit('maintenance', 0);
      assert.equal((await fetch(`${hub.http}/healthz`)).status, 200);
    } finally {
      await hub.close();
    }
  });
});
