// The cluster's sessions per account on a real PostgreSQL: listed with their
// holders and queues; --mqtt-max-sessions counted across holders, exactly, even
// when logins reach two nodes at once; the oldest away session ends first; a dead
// node's session is deleted only while nobody adopted it.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startPostgres, type TestPostgres } from '../../test/helpers/postgres.js';
import { migrate } from '../store/postgres/migrate.js';
import { createPool, type Pool } from '../store/postgres/pool.js';
import { PgSessionDb } from './session-pg.js';
import { SessionAccounts } from './session-pg-accounts.js';

/** Ends a node's heartbeat, as if it had died NODE_TTL_MS ago. */
async function lapse(pool: Pool, node: string): Promise<void> {
  await pool.query(`UPDATE mqtt_session_nodes SET alive_until = now() - interval '1 second' WHERE node = $1`, [node]);
}

describe('persistent MQTT sessions per account in PostgreSQL (cluster)', () => {
  let server: TestPostgres;
  let pool: Pool;

  before(async () => {
    server = await startPostgres({ fsync: false });
    pool = createPool((await server.newDatabase()).url, { max: 8 });
    await migrate(pool);
  });
  after(async () => {
    await pool?.end();
    await server?.stop();
  });

  it("lists every holder's sessions of the accounts asked for, with queue depth, bytes, drops and whether the holder lives", async () => {
    const a = new PgSessionDb(pool, 'list-a');
    const b = new PgSessionDb(pool, 'list-b');
    await Promise.all([a.heartbeat(), b.heartbeat()]);
    a.opened('erp:on-a');
    await a.subscribed('erp:on-a', [{ topic: 't/#', qos: 1 }]);
    b.left('erp:on-b', 1_000);
    await b.subscribed('erp:on-b', [{ topic: 't/#', qos: 1 }]);
    for (let n = 1; n <= 3; n++) {
      b.put('erp:on-b', n, { topic: 't/x', payload: Buffer.from('12345'), qos: 1, brokerId: 'k', brokerCounter: n, messageId: undefined });
    }
    b.dropCount('erp:on-b', 7);
    b.opened('other:x');
    await Promise.all([a.flush(), b.flush()]);
    await lapse(pool, 'list-a');

    const view = new SessionAccounts(pool, 'list-c');
    const got = await view.sessionsOf(['erp']);
    assert.deepEqual(got, [
      { clientId: 'erp:on-a', holder: 'list-a', holderAlive: false, leftAt: undefined, messages: 0, bytes: 0, dropped: 0 },
      { clientId: 'erp:on-b', holder: 'list-b', holderAlive: true, leftAt: 1_000, messages: 3, bytes: 3 * (3 + 5), dropped: 7 },
    ]);
    assert.ok((await view.aliveNodes()).includes('list-b'));
    assert.ok(!(await view.aliveNodes()).includes('list-a'));
    assert.deepEqual(await view.holderOf('erp:on-b'), { holder: 'list-b', alive: true });
    assert.equal(await view.holderOf('erp:none'), undefined);
  });

  it('counts --mqtt-max-sessions across nodes: refused while that many are connected, else the oldest away ones end', async () => {
    const a = new PgSessionDb(pool, 'cap-a');
    const b = new PgSessionDb(pool, 'cap-b');
    await Promise.all([a.heartbeat(), b.heartbeat()]);
    const onA = new SessionAccounts(pool, 'cap-a');
    const onB = new SessionAccounts(pool, 'cap-b');
    assert.deepEqual(await onA.createSession('cap', 'cap:1', 3), { kind: 'created', evicted: [] });
    assert.deepEqual(await onB.createSession('cap', 'cap:2', 3), { kind: 'created', evicted: [] });
    assert.deepEqual(await onB.createSession('cap', 'cap:2', 3), { kind: 'exists' });
    assert.deepEqual(await onA.createSession('cap', 'cap:3', 3), { kind: 'created', evicted: [] });
    assert.deepEqual(await onB.createSession('cap', 'cap:4', 3), { kind: 'full', connected: 3 });
    // Two go away, the later first: the one that left first ends first, for the new one only.
    b.left('cap:2', 2_000);
    a.left('cap:1', 1_000);
    await Promise.all([a.flush(), b.flush()]);
    assert.deepEqual(await onB.createSession('cap', 'cap:4', 3), { kind: 'created', evicted: [{ clientId: 'cap:1', holder: 'cap-a' }] });
    assert.deepEqual(
      (await onB.sessionsOf(['cap'])).map((s) => s.clientId),
      ['cap:2', 'cap:3', 'cap:4'],
    );
    // A dead node's clients are gone: its sessions are away, not connected.
    await lapse(pool, 'cap-a');
    assert.deepEqual(await onB.createSession('cap', 'cap:5', 3), { kind: 'created', evicted: [{ clientId: 'cap:2', holder: 'cap-b' }] });
  });

  it('admits exactly the bound when logins of one account reach two nodes at once', async () => {
    const a = new PgSessionDb(pool, 'race-a');
    const b = new PgSessionDb(pool, 'race-b');
    await Promise.all([a.heartbeat(), b.heartbeat()]);
    const nodes = [new SessionAccounts(pool, 'race-a'), new SessionAccounts(pool, 'race-b')];
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) => (nodes[i % 2] as SessionAccounts).createSession('race', `race:${i}`, 5)),
    );
    assert.equal(answers.filter((r) => r.kind === 'created').length, 5, JSON.stringify(answers));
    assert.equal(answers.filter((r) => r.kind === 'full').length, 7);
    assert.equal((await nodes[0]?.sessionsOf(['race']))?.length, 5);
  });

  it("deletes a dead node's session only while nobody adopted it, and a node's own row only if it holds it", async () => {
    const dead = new PgSessionDb(pool, 'orphan-dead');
    const live = new PgSessionDb(pool, 'orphan-live');
    await Promise.all([dead.heartbeat(), live.heartbeat()]);
    dead.left('o:1', 1_000);
    dead.left('o:2', 1_000);
    await dead.flush();
    const view = new SessionAccounts(pool, 'orphan-live');
    assert.equal(await view.deleteOrphan('o:1', 'orphan-dead'), false, 'its holder is alive');
    await lapse(pool, 'orphan-dead');
    assert.equal(await view.deleteOrphan('o:1', 'orphan-dead'), true);
    assert.equal(await view.holderOf('o:1'), undefined);
    // o:2 adopted meanwhile: not deleted as an orphan, and another node's row is not "mine".
    await live.adoptOrphans();
    assert.equal(await view.deleteOrphan('o:2', 'orphan-dead'), false);
    assert.equal(await new SessionAccounts(pool, 'orphan-dead').deleteMine('o:2'), false);
    assert.equal(await view.deleteMine('o:2'), true);
  });
});
