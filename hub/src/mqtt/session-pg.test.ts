// The cluster's journal of persistent sessions on a real PostgreSQL: what one node
// writes another reads back; a node that lost a session (adopted elsewhere) cannot
// change it any more; nodes adopting at once never both take a session.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startPostgres, type TestPostgres } from '../../test/helpers/postgres.js';
import { migrate } from '../store/postgres/migrate.js';
import { createPool, type Pool } from '../store/postgres/pool.js';
import type { QueuedPacket } from './offline-queue.js';
import { PgSessionDb } from './session-pg.js';

const packet = (n: number, messageId?: number): QueuedPacket => ({
  topic: `halyard/devices/d${n % 3}/telemetry`,
  payload: Buffer.from(JSON.stringify([{ n: 'v', v: n }])),
  qos: 1,
  brokerId: 'broker-1',
  brokerCounter: n,
  messageId,
});

/** Ends a node's heartbeat, as if it had died NODE_TTL_MS ago. */
async function lapse(pool: Pool, node: string): Promise<void> {
  await pool.query(`UPDATE mqtt_session_nodes SET alive_until = now() - interval '1 second' WHERE node = $1`, [node]);
}

describe('persistent MQTT sessions in PostgreSQL (cluster journal)', () => {
  let server: TestPostgres;
  let pool: Pool;

  before(async () => {
    server = await startPostgres({ fsync: false });
    pool = createPool((await server.newDatabase()).url, { max: 6 });
    await migrate(pool);
  });
  after(async () => {
    await pool?.end();
    await server?.stop();
  });

  it("writes a session's subscriptions, queue and packet ids in batches; a later start of its node reads them back in order", async () => {
    const a = new PgSessionDb(pool, 'keep-a');
    assert.deepEqual(await a.load(), []);
    a.opened('erp:one');
    await a.subscribed('erp:one', [
      { topic: 'halyard/devices/+/telemetry', qos: 1 },
      { topic: 'halyard/devices/+/events', qos: 0 },
    ]);
    for (let n = 1; n <= 5; n++) a.put('erp:one', n, packet(n));
    a.delete('erp:one', 2);
    a.put('erp:one', 1, packet(1, 77));
    a.unsubscribed('erp:one', ['halyard/devices/+/events']);
    a.dropCount('erp:one', 4);
    a.left('erp:one', 1_760_000_000_000);
    await a.close();

    const again = new PgSessionDb(pool, 'keep-a');
    const [s, ...others] = await again.load();
    assert.equal(others.length, 0);
    assert.ok(s);
    assert.equal(s.clientId, 'erp:one');
    assert.equal(s.leftAt, 1_760_000_000_000);
    assert.equal(s.dropped, 4);
    assert.deepEqual(s.subscriptions, [{ topic: 'halyard/devices/+/telemetry', qos: 1 }]);
    assert.deepEqual(
      s.queue.map((q) => [q.seq, q.packet.brokerCounter, q.packet.messageId]),
      [
        [1, 1, 77],
        [3, 3, undefined],
        [4, 4, undefined],
        [5, 5, undefined],
      ],
    );
    assert.deepEqual(s.queue[0]?.packet.payload, packet(1).payload);
    again.ended('erp:one');
    await again.close();
    assert.equal((await pool.query('SELECT count(*)::int AS n FROM mqtt_session_messages')).rows[0].n, 0, 'its messages went with it');
  });

  it('writes a backlog larger than one transaction takes, all of it', async () => {
    const a = new PgSessionDb(pool, 'backlog-a');
    await a.load();
    a.opened('erp:big');
    for (let n = 1; n <= 25_000; n++) a.put('erp:big', n, packet(n));
    await a.flush();
    // The parts after the first are written right after it.
    await a.close();
    const [s] = await new PgSessionDb(pool, 'backlog-a').load();
    assert.equal(s?.queue.length, 25_000);
    assert.deepEqual(
      s?.queue.slice(0, 3).map((q) => q.seq),
      [1, 2, 3],
    );
  });

  it('a node whose session was adopted elsewhere cannot change it any more', async () => {
    const a = new PgSessionDb(pool, 'fence-a');
    const b = new PgSessionDb(pool, 'fence-b');
    await a.load();
    await b.load();
    a.opened('erp:fenced');
    a.put('erp:fenced', 1, packet(1));
    await a.flush();
    await lapse(pool, 'fence-a');
    const adopted = await b.adoptOrphans();
    assert.deepEqual(
      adopted.map((s) => [s.clientId, s.queue.length]),
      [['erp:fenced', 1]],
    );
    // Node A, back, goes on writing as if it still held it.
    a.put('erp:fenced', 2, packet(2));
    a.delete('erp:fenced', 1);
    a.left('erp:fenced', 1);
    a.ended('erp:fenced');
    await a.flush();
    assert.equal(await a.heartbeat(), true, 'node A learns its heartbeat had lapsed');
    assert.deepEqual([...(await a.held())], []);
    const [s] = await b.claim('erp:fenced').then(async () => [await b.received('erp:fenced')]);
    assert.deepEqual(
      s?.queue.map((q) => q.seq),
      [1],
      "node A's late writes changed nothing",
    );
    await a.close();
    await b.close();
  });

  it('nodes adopting at once take each orphaned session once, and a returning client takes its own from a dead holder', async () => {
    const dead = new PgSessionDb(pool, 'orphan-x');
    await dead.load();
    const ids = Array.from({ length: 300 }, (_, i) => `erp:o${i}`);
    for (const id of ids) dead.opened(id);
    await dead.flush();
    await lapse(pool, 'orphan-x');
    const [b, c, d] = ['orphan-b', 'orphan-c', 'orphan-d'].map((n) => new PgSessionDb(pool, n));
    for (const n of [b, c, d]) await n?.load();
    assert.ok(b && c && d);
    const claimed = await d.claim('erp:o7');
    assert.ok(typeof claimed === 'object' && 'taken' in claimed, 'the client took its session from the dead node');
    const got = await Promise.all([b.adoptOrphans(), c.adoptOrphans()]);
    // (Sessions of the nodes closed above are orphans too, now: adopted as well.)
    const all = got
      .flat()
      .map((s) => s.clientId)
      .filter((id) => id.startsWith('erp:o'));
    assert.equal(new Set(all).size, all.length, 'no session adopted twice');
    assert.deepEqual([...all, 'erp:o7'].sort(), [...ids].sort());
    assert.deepEqual(await d.claim('erp:o8'), { held: got[0]?.some((s) => s.clientId === 'erp:o8') ? 'orphan-b' : 'orphan-c' });
    for (const n of [dead, b, c, d]) await n.close();
  });
});
