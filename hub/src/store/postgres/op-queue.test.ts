// The bound on PostgresStore's queue of named operations: with the server not
// answering (here a lock another session holds, so the first operation waits), a
// flood is refused at once with HUB_ERR_UNAVAILABLE past maxQueuedOps, each refusal
// counted in halyard_store_ops_refused_total, one log line when refusing starts and
// one when the queue has drained to half; what was accepted still runs, in order.

import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { startPostgres, type TestPostgres } from '../../../test/helpers/postgres.js';
import { HubError } from '../../errors.js';
import { createLogger } from '../../log.js';
import { createMetrics } from '../../metrics.js';
import { watchStorage } from '../../storage-health.js';
import { createPool } from './pool.js';
import { PostgresStore } from './postgres-store.js';

const MAX = 4;

function createDevice(store: PostgresStore, id: string) {
  return store.op('createDevice', { id, name: null, model: null, tags: [], secretHash: new Uint8Array(32), createdAt: 0 });
}

describe('PostgreSQL store: the queue of named operations is bounded', () => {
  let server: TestPostgres;

  before(async () => {
    server = await startPostgres({ fsync: false });
  });
  after(async () => {
    await server?.stop();
  });

  it('refuses past maxQueuedOps with a specific error, counted, logged once each way, and recovers', async () => {
    const store = await PostgresStore.open({
      url: server.url,
      commitIntervalMs: 2,
      maxBatchFrames: 100,
      maxFrame: 65536,
      retentionMs: 0,
      maintenanceIntervalMs: 0,
      maxQueuedOps: MAX,
    });
    const lines: { level: string; msg: string }[] = [];
    store.on('log', (l) => lines.push(l));
    const metrics = createMetrics();
    const sink = new Writable({ write: (_c, _e, cb) => cb() });
    await watchStorage(store, metrics, createLogger({ logLevel: 'info', logFormat: 'json' }, sink), 'postgres');
    const admin = createPool(server.url, { max: 1 });
    const locker = await admin.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE devices IN ACCESS EXCLUSIVE MODE');
      const accepted = Array.from({ length: MAX }, (_, i) => createDevice(store, `ok-${i}`));
      const refused = Array.from({ length: 6 }, (_, i) => createDevice(store, `no-${i}`));
      for (const p of refused) {
        await assert.rejects(p, (err: unknown) => {
          assert.ok(err instanceof HubError);
          assert.equal(err.code, 'HUB_ERR_UNAVAILABLE');
          assert.match(err.message, /4 writes waiting for PostgreSQL \(at most 4\); retry later/);
          return true;
        });
      }
      assert.equal(store.opsRefused, 6);
      assert.deepEqual(
        lines.map((l) => l.level),
        ['error'],
        'one line when refusing starts, not one per refusal',
      );
      assert.match(lines[0]?.msg ?? '', /write queue full \(4 operations waiting\)/);

      await locker.query('ROLLBACK');
      const done = await Promise.all(accepted);
      assert.deepEqual(
        done.map((d) => d.id),
        ['ok-0', 'ok-1', 'ok-2', 'ok-3'],
      );
      assert.deepEqual(
        lines.map((l) => l.level),
        ['error', 'info'],
      );
      assert.match(lines[1]?.msg ?? '', /accepting writes again \(6 refused so far\)/);
      // Accepting again.
      assert.equal((await createDevice(store, 'after')).id, 'after');
      assert.deepEqual(
        (await store.listDevices()).map((d) => d.id).sort(),
        ['after', 'ok-0', 'ok-1', 'ok-2', 'ok-3'],
        'the refused ones were not stored',
      );
      const metric = await metrics.storeOpsRefused.get();
      assert.deepEqual(
        metric.values.map((v) => [v.labels.op, v.value]),
        [['createDevice', 6]],
      );
    } finally {
      locker.release();
      await admin.end();
      await store.close();
    }
  });
});
