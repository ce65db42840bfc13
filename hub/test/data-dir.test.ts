// The data directory and database files are private to the hub's user: created
// 0700 and 0600 (the WAL companions too); loose files of an older hub are
// tightened at start, a loose directory the hub did not create is reported.

import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { startTestHub } from './helpers/hub.js';
import { sqliteOnly } from './helpers/test-store.js';

const mode = (path: string) => statSync(path).mode & 0o777;

describe('data directory permissions', {
  skip: process.platform === 'win32' || sqliteOnly('the permissions of halyard.db and its -wal and -shm files'),
}, () => {
  const roots: string[] = [];
  after(() => {
    for (const r of roots) rmSync(r, { recursive: true, force: true });
  });

  it('creates the directory 0700 and halyard.db, -wal and -shm 0600, whatever the umask', async () => {
    const root = mkdtempSync(join(tmpdir(), 'halyard-perm-'));
    roots.push(root);
    const dir = join(root, 'nested', 'data');
    const old = process.umask(0o022);
    try {
      const t = await startTestHub([], dir);
      try {
        assert.equal(mode(dir).toString(8), '700');
        const db = join(dir, 'halyard.db');
        assert.ok(existsSync(`${db}-wal`) && existsSync(`${db}-shm`), 'the hub runs in WAL mode');
        for (const f of [db, `${db}-wal`, `${db}-shm`]) assert.equal(mode(f).toString(8), '600', f);
      } finally {
        await t.stop();
      }
    } finally {
      process.umask(old);
    }
  });

  it('tightens an older hub database left 0644 and warns about a directory left 0755', async () => {
    const root = mkdtempSync(join(tmpdir(), 'halyard-perm-'));
    roots.push(root);
    const first = await startTestHub([], root);
    await first.stop();
    const db = join(root, 'halyard.db');
    chmodSync(root, 0o755);
    for (const f of [db, `${db}-wal`, `${db}-shm`]) if (existsSync(f)) chmodSync(f, 0o644);
    const t = await startTestHub([], root);
    try {
      for (const f of [db, `${db}-wal`, `${db}-shm`]) assert.equal(mode(f).toString(8), '600', f);
      assert.ok(t.logs.some((l) => l.level === 40 && l.msg === 'made the database file private (0600)' && l.file === db));
      assert.ok(
        t.logs.some((l) => l.level === 40 && String(l.msg).startsWith('the data directory can be read by other users') && l.dir === root),
      );
      assert.equal(mode(root).toString(8), '755', 'a directory the hub did not create is left as it is');
    } finally {
      await t.stop();
    }
  });
});
