// Store backpressure: while commits stall (another connection holds SQLite's write
// lock), the gateway stops reading device sockets once BACKLOG_HIGH frames wait,
// rather than holding everything devices can send in memory; TCP pushes back on the
// devices. When the store moves again, reads resume and every frame is stored and
// acknowledged: none lost, no device cut off. /healthz does not flap meanwhile.

import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BACKLOG_HIGH } from '@halyard/hub';
import Database from 'better-sqlite3';
import { eventually, seedDevices, startHub, startLoadgen } from '../src/lib.js';

const DEVICES = 100;

interface Stats {
  sent: number;
  acked: number;
  inFlight: number;
  online: number;
  closes: Record<string, number>;
}

async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1] ?? Number.NaN);
}

describe('store backpressure', () => {
  it('stops reading devices at the backlog limit while commits stall, then stores every frame', async () => {
    const seeded = seedDevices(DEVICES);
    const hub = await startHub(seeded.dir);
    const gen = await startLoadgen(hub.port, seeded.tokensFile, { window: 4_000 });
    const lock = new Database(join(seeded.dir, 'halyard.db'));
    const stats = async () => (await gen.request({ cmd: 'stats' }, 'stats')) as unknown as Stats;
    try {
      assert.equal(((await gen.request({ cmd: 'connect' }, 'connected')) as { online: number }).online, DEVICES);
      // The hub's commits now wait on the lock (its busy timeout is 5 s: the checks
      // below must be done well within that, or the commit fails instead).
      lock.exec('BEGIN IMMEDIATE');
      const stalledAt = performance.now();
      gen.send({ cmd: 'rate', value: 0 });
      // Devices keep sending into their sockets until twice the limit is out (and some).
      await eventually(async () => (await stats()).sent >= 2 * BACKLOG_HIGH + 5_000, 'twice the backlog limit sent (and some)', 4_500);
      const backlog = await metric(hub.port, 'halyard_store_backlog_frames');
      const pauses = await metric(hub.port, 'halyard_store_pauses_total');
      const health = await fetch(`http://127.0.0.1:${hub.port}/healthz`);
      const sent = (await stats()).sent;
      const stalledMs = Math.round(performance.now() - stalledAt);
      assert.ok(stalledMs < 4_500, `the stall (${stalledMs} ms) ended within the hub's busy timeout`);
      lock.exec('ROLLBACK');

      assert.ok(pauses >= 1, 'reads were paused');
      assert.ok(backlog >= BACKLOG_HIGH, `backlog ${backlog} reached the limit`);
      // A chunk already read when the pause came is still taken in; nothing more.
      assert.ok(backlog < BACKLOG_HIGH + 10_000, `backlog ${backlog} stopped near the limit of ${BACKLOG_HIGH}`);
      assert.ok(sent - backlog >= 10_000, `${sent - backlog} frames waited in TCP, not in the hub`);
      assert.equal(health.status, 200, 'a pause shorter than 5 s is not reported as a problem');
      await health.text();

      // The store moves again: every frame sent is committed and acknowledged.
      await gen.request({ cmd: 'pause' }, 'paused');
      const s = await eventually(
        async () => {
          const now = await stats();
          return now.inFlight === 0 ? now : undefined;
        },
        'every frame in flight acknowledged',
        60_000,
      );
      assert.equal(s.acked, s.sent);
      assert.equal(s.online, DEVICES, 'no device was cut off');
      assert.deepStrictEqual(s.closes, {});
      const stored = lock.prepare('SELECT sum(seq) AS n FROM device_seq').get() as { n: number };
      assert.equal(stored.n, s.sent, 'the store holds every frame sent');
      console.log(
        JSON.stringify({ limit: BACKLOG_HIGH, backlogAtPause: backlog, sentDuringStall: sent, stalledMs, frames: s.sent, pauses }),
      );
    } finally {
      lock.close();
      await gen.stop('SIGKILL');
      await hub.child.stop();
      rmSync(seeded.dir, { recursive: true, force: true });
    }
  });
});
