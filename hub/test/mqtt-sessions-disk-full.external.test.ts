// Persistent MQTT sessions on a full disk (a real tmpfs, so SQLite's writes really
// fail): the session file's writes fail with a report, nothing throws into the
// broker, queue changes wait, and once there is room again they are written.
// Needs root for the mount; CI runs as root.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SessionDb } from '../src/mqtt/session-db.js';

describe('persistent MQTT sessions on a full disk', () => {
  let mount: string;
  before(() => {
    mount = mkdtempSync(join(tmpdir(), 'halyard-mqtt-full-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mount]);
  });
  after(() => {
    execFileSync('umount', ['-l', mount]);
    rmSync(mount, { recursive: true, force: true });
  });

  it('reports failed writes, keeps the changes and writes them when space returns', async () => {
    const errors: unknown[] = [];
    const dir = join(mount, 'data');
    const db = new SessionDb(dir, (err) => errors.push(err));
    db.opened('erp:feed');
    const filler = join(mount, 'filler');
    const fs = statfsSync(mount);
    writeFileSync(filler, Buffer.alloc(Math.max(0, fs.bavail * fs.bsize - 16 * 1024)));
    const payload = Buffer.alloc(4096, 0x61);
    for (let seq = 1; seq <= 200; seq++) {
      db.put('erp:feed', seq, { topic: 't', payload, qos: 1, brokerId: 'b', brokerCounter: seq, messageId: undefined });
    }
    assert.doesNotThrow(() => db.flush());
    assert.ok(errors.length > 0, 'the failed write was reported');
    assert.match(String((errors[0] as Error).message), /full|disk|SQLITE_FULL|database or disk is full/i);

    rmSync(filler);
    db.flush();
    await db.close();
    const again = new SessionDb(dir);
    assert.equal([...again.queued()].length, 200, 'every change written once there was room');
    await again.close();
  });
});
