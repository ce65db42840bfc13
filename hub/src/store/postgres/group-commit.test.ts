// Group commit in lanes (group-commit.ts): a device's frames are never in two
// batches in flight at once and keep their order; the lanes commit side by side;
// a barrier waits for every lane. The commits here are promises the test settles
// by hand, in the order it chooses, so every interleaving asserted is forced.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GroupCommitLanes, type Pending } from './group-commit.js';

function frame(device: number, seq: number) {
  return { device, seq, now: 0, type: 3, bytes: new Uint8Array() };
}

/** Lanes whose batches wait until the test settles them. */
function lanes(count: number, maxBatchFrames = 100) {
  const inFlight: { batch: Pending<string>; done: () => void }[] = [];
  const committed: string[][] = [];
  let overlaps = 0;
  const g = new GroupCommitLanes<string>(count, { commitIntervalMs: 0, maxBatchFrames }, (batch) => {
    const busy = new Set(inFlight.flatMap((f) => f.batch.frames.map((x) => x.device)));
    if (batch.frames.some((f) => busy.has(f.device))) overlaps++;
    return new Promise<void>((resolve) => {
      inFlight.push({
        batch,
        done: () => {
          committed.push(batch.metas);
          resolve();
        },
      });
    });
  });
  /** Settles the batch in flight at `i` (0: the oldest still open). */
  const settle = async (i = 0) => {
    const [f] = inFlight.splice(i, 1);
    f?.done();
    await new Promise((r) => setImmediate(r));
  };
  return { g, inFlight, committed, settle, overlaps: () => overlaps };
}

describe('PostgreSQL group commit in lanes', () => {
  it('commits lanes side by side, a device in one lane only, in order', async () => {
    const t = lanes(4);
    for (let seq = 1; seq <= 3; seq++) for (let d = 1; d <= 8; d++) t.g.add(frame(d, seq), `${d}:${seq}`);
    // One batch in flight per lane, each holding only its own devices (rowid mod 4).
    assert.equal(t.inFlight.length, 4);
    for (const f of t.inFlight) assert.equal(new Set(f.batch.frames.map((x) => x.device % 4)).size, 1);
    assert.equal(t.g.backlog, 24);
    // Settled out of order: the last lane first.
    while (t.inFlight.length > 0) await t.settle(t.inFlight.length - 1);
    assert.equal(t.overlaps(), 0, 'no device was in two batches in flight');
    assert.equal(t.g.backlog, 0);
    for (let d = 1; d <= 8; d++) {
      const mine = t.committed.flat().filter((m) => m.startsWith(`${d}:`));
      assert.deepEqual(mine, [`${d}:1`, `${d}:2`, `${d}:3`], `device ${d} in order`);
    }
  });

  it('frames arriving while their lane commits wait for it, not for the other lanes', async () => {
    const t = lanes(2);
    t.g.add(frame(1, 1), '1:1');
    t.g.add(frame(2, 1), '2:1');
    assert.equal(t.inFlight.length, 2);
    t.g.add(frame(1, 2), '1:2');
    t.g.add(frame(3, 1), '3:1');
    assert.equal(t.inFlight.length, 2, 'lane 1 (devices 1 and 3) still has a batch in flight');
    // Lane 0 (device 2) settles; lane 1's new frames still wait for lane 1's commit.
    await t.settle(t.inFlight.findIndex((f) => f.batch.frames[0]?.device === 2));
    assert.equal(t.inFlight.length, 1);
    await t.settle();
    assert.deepEqual(t.inFlight[0]?.batch.metas, ['1:2', '3:1']);
    await t.settle();
    assert.equal(t.overlaps(), 0);
  });

  it('a barrier waits for every lane; discard drops a device whichever lane holds it', async () => {
    const t = lanes(3, 1);
    for (let d = 1; d <= 3; d++) for (let seq = 1; seq <= 2; seq++) t.g.add(frame(d, seq), `${d}:${seq}`);
    let passed = false;
    const barrier = t.g.barrier().then(() => {
      passed = true;
    });
    t.g.discard(new Set([2]));
    assert.equal(t.g.backlog, 5, "device 2's queued frame is gone, its batch in flight stays");
    for (let i = 0; i < 5 && !passed; i++) await t.settle();
    await barrier;
    assert.ok(passed);
    assert.equal(t.inFlight.length, 0);
    assert.deepEqual(t.committed.flat().sort(), ['1:1', '1:2', '2:1', '3:1', '3:2']);
    assert.ok(t.g.idle);
  });
});
