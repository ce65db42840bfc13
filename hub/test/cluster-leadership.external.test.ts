// Leader election through PostgreSQL (src/cluster/pg-leadership.ts) against a real
// server: one leader at a time; a leader that dies (SIGKILL) is replaced within the
// documented bound (retry interval plus one connection: README, Running a cluster); a
// leader that loses its connection steps down; a server restart elects again.

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PgLeadership } from '../src/cluster/pg-leadership.js';
import { eventually } from './helpers/eventually.js';
import { startPostgres, type TestDatabase, type TestPostgres } from './helpers/postgres.js';

/** Short for the test; production uses the 2 s default. */
const RETRY_MS = 300;
/** The documented bound: one retry interval, plus a connection and a query (checkTimeoutMs, here 2 s). */
const TAKEOVER_BOUND_MS = RETRY_MS + 2_000;

function changes(l: PgLeadership): boolean[] {
  const seen: boolean[] = [];
  l.onChange((leader) => seen.push(leader));
  return seen;
}

function leaderChild(url: string, nodeId: string): { proc: ChildProcess; lines: string[]; exited: Promise<void> } {
  const proc = spawn(
    process.execPath,
    ['--conditions=source', '--import', 'tsx', join(import.meta.dirname, 'helpers/leader-child.ts'), url, nodeId, String(RETRY_MS)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const lines: string[] = [];
  proc.stdout?.setEncoding('utf8').on('data', (d: string) => lines.push(...d.split('\n').filter(Boolean)));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  return { proc, lines, exited };
}

describe('leader election through PostgreSQL', () => {
  let pg: TestPostgres;
  before(async () => {
    pg = await startPostgres({ fsync: false });
  });
  after(async () => {
    await pg?.stop();
  });

  async function withDb<T>(fn: (db: TestDatabase) => Promise<T>): Promise<T> {
    const db = await pg.newDatabase();
    try {
      return await fn(db);
    } finally {
      await db.drop();
    }
  }

  it('elects one leader among several nodes, and names it', async () => {
    await withDb(async (db) => {
      const nodes = await Promise.all(['a', 'b', 'c'].map((nodeId) => PgLeadership.start({ url: db.url, nodeId, retryMs: RETRY_MS })));
      try {
        const leaders = await eventually(() => {
          const l = nodes.filter((n) => n.isLeader);
          return l.length > 0 && l;
        }, 'a leader');
        assert.equal(leaders.length, 1);
        // Several retries later, still one.
        await new Promise((r) => setTimeout(r, RETRY_MS * 3));
        assert.equal(nodes.filter((n) => n.isLeader).length, 1);
        const named = await nodes[0]?.leader();
        assert.equal(named, ['a', 'b', 'c'][nodes.findIndex((n) => n.isLeader)]);
      } finally {
        await Promise.all(nodes.map((n) => n.close()));
      }
    });
  });

  it('hands over within the bound when the leader closes', async () => {
    await withDb(async (db) => {
      const a = await PgLeadership.start({ url: db.url, nodeId: 'a', retryMs: RETRY_MS });
      const b = await PgLeadership.start({ url: db.url, nodeId: 'b', retryMs: RETRY_MS });
      try {
        assert.equal(a.isLeader, true);
        assert.equal(b.isLeader, false);
        const bSeen = changes(b);
        const aSeen = changes(a);
        await a.close();
        assert.deepEqual(aSeen, [true, false]);
        await eventually(() => b.isLeader, 'b to take over', TAKEOVER_BOUND_MS);
        assert.deepEqual(bSeen, [false, true]);
      } finally {
        await a.close();
        await b.close();
      }
    });
  });

  it('hands over within the bound when the leader process is killed (SIGKILL)', async () => {
    await withDb(async (db) => {
      const child = leaderChild(db.url, 'doomed');
      let b: PgLeadership | undefined;
      try {
        await eventually(() => child.lines.includes('leader true'), 'the child to lead', 15_000);
        b = await PgLeadership.start({ url: db.url, nodeId: 'b', retryMs: RETRY_MS });
        assert.equal(b.isLeader, false);
        assert.equal(await b.leader(), 'doomed');
        child.proc.kill('SIGKILL');
        await child.exited;
        const follower = b;
        await eventually(() => follower.isLeader, 'b to take over from the killed leader', TAKEOVER_BOUND_MS);
        assert.equal(await b.leader(), 'b');
      } finally {
        child.proc.kill('SIGKILL');
        await b?.close();
      }
    });
  });

  it('steps down when its connection is cut, and another node takes over', async () => {
    await withDb(async (db) => {
      const a = await PgLeadership.start({ url: db.url, nodeId: 'a', retryMs: RETRY_MS });
      const b = await PgLeadership.start({ url: db.url, nodeId: 'b', retryMs: RETRY_MS });
      const admin = await import('pg').then((m) => new m.default.Client({ connectionString: pg.adminUrl }));
      await admin.connect();
      try {
        const aSeen = changes(a);
        await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'halyard-leader:a'");
        await eventually(() => !a.isLeader, 'a to step down');
        assert.deepEqual(aSeen.slice(0, 2), [true, false]);
        // b may win the lock, or a on reconnecting: one of them, and only one.
        await eventually(() => a.isLeader !== b.isLeader && (a.isLeader || b.isLeader), 'a new leader', TAKEOVER_BOUND_MS);
      } finally {
        await admin.end();
        await a.close();
        await b.close();
      }
    });
  });

  it('steps down while PostgreSQL is away and elects again once it is back', async () => {
    await withDb(async (db) => {
      const a = await PgLeadership.start({ url: db.url, nodeId: 'a', retryMs: RETRY_MS });
      const b = await PgLeadership.start({ url: db.url, nodeId: 'b', retryMs: RETRY_MS });
      try {
        assert.equal(a.isLeader, true);
        const aSeen = changes(a);
        await pg.restart();
        await eventually(() => a.isLeader || b.isLeader, 'a leader after the restart', 10_000);
        // a lost its session with the restart: it stepped down before anyone led again.
        assert.deepEqual(aSeen.slice(0, 2), [true, false]);
        assert.equal([a, b].filter((n) => n.isLeader).length, 1);
      } finally {
        await a.close();
        await b.close();
      }
    });
  });
});
