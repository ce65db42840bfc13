// Deleting a device is one ordered operation: from the moment DELETE starts no
// upgrade or HELLO of that id succeeds, its sessions end, and nothing of it is
// written after the delete (telemetry, presence, commands).

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MessageType } from '@halyard/firmware-protocol';
import Database from 'better-sqlite3';
import { TestDevice } from './helpers/device.js';
import { startTestHub, type TestHub } from './helpers/hub.js';
import { onPostgres, pgQuery } from './helpers/test-store.js';

/** One attempt: upgrade, HELLO, a telemetry frame; the device if WELCOME came, else how it was refused. */
async function attempt(url: string, token: string): Promise<TestDevice | { status: number } | { closed: number }> {
  let d: TestDevice;
  try {
    d = await TestDevice.open(url, token);
  } catch (err) {
    const status = (err as { status?: number }).status;
    if (status === undefined) throw err;
    return { status };
  }
  d.send({ type: MessageType.Hello, proto: 1, fw: '1.0.0', model: 'm' });
  await d.until(() => d.welcome !== undefined || d.closed !== undefined, 'WELCOME or close');
  if (d.welcome === undefined) return { closed: d.closed?.code ?? 0 };
  d.seq = d.welcome.acked;
  d.telemetry([{ n: 'temp', v: 20 }]);
  return d;
}

describe('deleting a device', () => {
  let t: TestHub;
  before(async () => {
    t = await startTestHub();
  });
  after(() => t.close());

  it('a device reconnecting in a tight loop while DELETE runs never stays connected, and leaves no rows', async () => {
    const token = await t.api.provision('victim');
    const otherToken = await t.api.provision('bystander');
    const other = await TestDevice.connect(t.ws, otherToken);
    const rowid = t.hub.ctx.fleet.get('victim')?.record.rowid as number;
    const first = await TestDevice.connect(t.ws, token);
    await first.waitAck(first.telemetry([{ n: 'temp', v: 19 }]));
    assert.equal((await t.api.post('/devices/victim/commands', { name: 'reboot' })).status, 201);

    let deleted = false;
    const connected: TestDevice[] = [first];
    const refusals: number[] = [];
    // Each loop reconnects as soon as its last attempt ended, until an attempt made
    // after the delete has answered.
    const loop = async () => {
      for (;;) {
        const after = deleted;
        const r = await attempt(t.ws, token);
        if (r instanceof TestDevice) {
          connected.push(r);
          await Promise.race([r.waitClosed(10_000).catch(() => {}), deletion]);
        } else refusals.push('status' in r ? r.status : r.closed);
        if (after) return;
      }
    };
    const deletion = (async () => {
      // Commands raced against the delete: created before it or refused, never left behind.
      const cmds = [1, 2, 3].map(() => t.api.post('/devices/victim/commands', { name: 'reboot' }));
      const r = await t.api.delete('/devices/victim');
      for (const c of await Promise.all(cmds)) assert.ok([201, 404].includes(c.status), `command: ${c.status}`);
      deleted = true;
      return r;
    })();
    const loops = Array.from({ length: 6 }, loop);
    assert.equal((await deletion).status, 204);
    await Promise.all(loops);

    // Every session of the deleted device ended, and the last attempts were refused as unknown.
    await Promise.all(connected.map((d) => d.waitClosed(3_000)));
    assert.ok(refusals.includes(401), `refusals: ${refusals.join(',')}`);
    const health = await fetch(`${t.http}/healthz`).then((r) => r.json() as Promise<{ devices: { connected: number; known: number } }>);
    assert.deepEqual(health.devices, { known: 1, connected: 1 });
    assert.equal((await t.api.get('/devices/victim')).status, 404);

    // The other device carries on.
    await other.waitAck(other.telemetry([{ n: 'temp', v: 1 }]));
    await other.close();

    // Stopping the hub writes everything it still held (presence, commands): none of it may be the victim's.
    await t.stop();
    if (onPostgres) {
      const count = async (sql: string) => Number((await pgQuery<{ n: string }>(t.dir, sql, [rowid]))[0]?.n);
      assert.deepEqual(
        {
          // Points refer to series only (no device column): none may be left whose series is gone.
          telemetry: await count(
            'SELECT count(*) AS n FROM telemetry WHERE series NOT IN (SELECT id FROM series) AND $1::bigint IS NOT NULL',
          ),
          series: await count('SELECT count(*) AS n FROM series WHERE device = $1'),
          presence: await count('SELECT count(*) AS n FROM presence WHERE device = $1'),
          events: await count('SELECT count(*) AS n FROM events WHERE device = $1'),
          commands: await count('SELECT count(*) AS n FROM commands WHERE device = $1'),
          seq: await count('SELECT count(*) AS n FROM device_seq WHERE device = $1'),
          twins: await count('SELECT count(*) AS n FROM twins WHERE device = $1'),
        },
        { telemetry: 0, series: 0, presence: 0, events: 0, commands: 0, seq: 0, twins: 0 },
      );
      const [orphans] = await pgQuery<{ n: string }>(
        t.dir,
        'SELECT count(*) AS n FROM command_history WHERE command NOT IN (SELECT rowid FROM commands)',
      );
      assert.equal(Number(orphans?.n), 0);
      return;
    }
    const db = new Database(join(t.dir, 'halyard.db'), { readonly: true });
    try {
      const count = (sql: string) => db.prepare(sql).pluck().get(rowid) as number;
      assert.deepEqual(
        {
          log0: count('SELECT count(*) FROM telemetry_log0 WHERE device = ?'),
          log1: count('SELECT count(*) FROM telemetry_log1 WHERE device = ?'),
          series: count('SELECT count(*) FROM series WHERE device = ?'),
          presence: count('SELECT count(*) FROM presence WHERE device = ?'),
          events: count('SELECT count(*) FROM events WHERE device = ?'),
          commands: count('SELECT count(*) FROM commands WHERE device = ?'),
          seq: count('SELECT count(*) FROM device_seq WHERE device = ?'),
          twins: count('SELECT count(*) FROM twins WHERE device = ?'),
        },
        { log0: 0, log1: 0, series: 0, presence: 0, events: 0, commands: 0, seq: 0, twins: 0 },
      );
      assert.equal(db.prepare('SELECT count(*) FROM command_history WHERE command NOT IN (SELECT rowid FROM commands)').pluck().get(), 0);
    } finally {
      db.close();
    }
  });
});
