// The single hub's session journal (session-db.ts): an ended session's queued
// messages leave the file a part per event-loop turn, not all at once, and a new
// session of the same client id never finds them, also after a restart.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { SESSION_DB_FILE, SessionDb } from './session-db.js';

const turn = () => new Promise((resolve) => setImmediate(resolve));
const packet = (n: number) => ({
  topic: 't',
  payload: Buffer.from(String(n)),
  qos: 1 as const,
  brokerId: 'b',
  brokerCounter: n,
  messageId: undefined,
});

describe('session journal (SQLite)', () => {
  it('deletes an ended session’s messages a part per turn, and a new session of its id never gets them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'halyard-session-db-'));
    try {
      const db = new SessionDb(dir);
      const rows = () => {
        const peek = new Database(join(dir, SESSION_DB_FILE), { readonly: true });
        try {
          return (peek.prepare('SELECT count(*) AS n FROM outgoing').get() as { n: number }).n;
        } finally {
          peek.close();
        }
      };
      db.subscribed('a:big', [{ topic: 't', qos: 1 }]);
      db.subscribed('a:other', [{ topic: 't', qos: 1 }]);
      for (let n = 1; n <= 2_500; n++) db.put('a:big', n, packet(n));
      db.put('a:other', 9_999, packet(9_999));
      db.flush();
      assert.equal(rows(), 2_501);

      db.ended('a:big');
      assert.equal(rows(), 2_501, 'nothing deleted while the caller waits');
      await turn();
      assert.equal(rows(), 1_501, 'a thousand a turn');

      // The client id starts again before the rest is gone: the rest goes first.
      db.opened('a:big');
      assert.equal(rows(), 1, 'only the other session’s message is left');
      db.put('a:big', 10_000, packet(10_000));
      await db.close();

      const again = new SessionDb(dir);
      const loaded = await again.load();
      assert.deepEqual(loaded.map((s) => [s.clientId, s.queue.map((q) => q.seq)]).sort(), [
        ['a:big', [10_000]],
        ['a:other', [9_999]],
      ]);
      await again.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rows left by a stop before the sweep ended belong to no session and are gone at the next start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'halyard-session-db-'));
    try {
      const db = new SessionDb(dir);
      db.subscribed('a:gone', [{ topic: 't', qos: 1 }]);
      for (let n = 1; n <= 3_000; n++) db.put('a:gone', n, packet(n));
      db.flush();
      db.ended('a:gone');
      await db.close();
      const again = new SessionDb(dir);
      assert.deepEqual(await again.load(), []);
      await again.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
