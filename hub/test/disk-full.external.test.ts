// A full disk under the database (a real tmpfs, so the writes really fail with
// ENOSPC/SQLITE_FULL): the hub stops acknowledging, says so (log, /healthz,
// metric), devices keep their data, and when space returns everything they sent is
// stored exactly once. Needs root for the mount; CI runs as root.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CloseCode, MessageType, type SenmlRecord } from '@halyard/firmware-protocol';
import { TestDevice } from './helpers/device.js';
import { eventually } from './helpers/eventually.js';
import { startTestHub, type TestHub } from './helpers/hub.js';

describe('disk full', () => {
  let mount: string;
  let t: TestHub;
  let filler: string;

  before(async () => {
    mount = mkdtempSync(join(tmpdir(), 'halyard-full-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', mount]);
    t = await startTestHub([], join(mount, 'data'));
    // Leave about 1.5 MiB free: enough to start, soon too little for the ingest below.
    const fs = statfsSync(mount);
    filler = join(mount, 'filler');
    writeFileSync(filler, Buffer.alloc(Math.max(0, fs.bavail * fs.bsize - 1.5 * 2 ** 20)));
  });
  after(async () => {
    await t.stop();
    execFileSync('umount', ['-l', mount]);
    rmSync(mount, { recursive: true, force: true });
  });

  it('stops acknowledging, reports it, and recovers without losing or duplicating anything', async () => {
    const token = await t.api.provision('full-1');
    let d = await TestDevice.connect(t.ws, token);
    // 1 KiB per frame, as a device buffering large records would send.
    const pack = (i: number): SenmlRecord[] => [{ n: 'blob', vs: `${String(i).padStart(6, '0')}${'x'.repeat(1018)}` }];
    const sent = new Map<number, number>(); // seq -> i
    let i = 0;
    // Send until the hub refuses: frames beyond the last ACK stay "in the device's buffer".
    while (d.closed === undefined && i < 10_000) {
      i++;
      const seq = d.telemetry(pack(i));
      sent.set(seq, i);
      if (i % 50 === 0) await d.until(() => d.acked >= seq || d.closed !== undefined, 'an ACK or the close', 10_000);
    }
    const closed = await d.waitClosed();
    assert.equal(closed.code, CloseCode.InternalError, 'the hub ends the session with 1011 when it cannot store');
    assert.match(d.error?.message ?? '', /storage/);
    const ackedBefore = d.acked;
    assert.ok(ackedBefore < d.seq, 'some frames were not acknowledged');

    const health = await fetch(`${t.http}/healthz`);
    assert.equal(health.status, 503);
    assert.match(JSON.stringify(await health.json()), /storage is failing/);
    assert.match(await (await fetch(`${t.http}/metrics`)).text(), /halyard_store_failures_total [1-9]/);
    assert.ok(t.logs.some((l) => String(l.msg).startsWith('commit failed')));

    // Space returns: the device reconnects and resends what was not acknowledged.
    rmSync(filler);
    d = await eventually(() => TestDevice.connect(t.ws, token).catch(() => undefined), 'a new session', 10_000);
    const durable = d.welcome?.acked ?? 0;
    assert.ok(durable >= ackedBefore, 'WELCOME covers at least what was acknowledged');
    for (const [seq, n] of [...sent].filter(([s]) => s > durable)) d.send({ type: MessageType.Telemetry, seq, pack: pack(n) });
    await d.waitAck(Math.max(...sent.keys()), 20_000);
    await eventually(async () => (await fetch(`${t.http}/healthz`)).status === 200, 'healthy again');

    const r = await t.api.get('/devices/full-1/telemetry?name=blob&from=0&limit=100000');
    const stored = r.body.series[0].points.map((p: { vs: string }) => Number(p.vs.slice(0, 6))).sort((a: number, b: number) => a - b);
    assert.deepStrictEqual(
      stored,
      [...sent.values()].sort((a, b) => a - b),
      'every frame stored exactly once',
    );
    await d.close();
  });
});
