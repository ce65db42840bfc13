// What waits for a commit is bounded in points, not only in frames (README.md,
// Overload). Frames of 1,000 records each, within every per-device limit, kept
// thousands of decoded frames in memory while the store was behind: 15 devices for
// 12 s grew the heap past 1 GB and stalled /healthz for seconds (red team). Commits
// are held back here, so every frame read waits: reads stop at the points bound
// (PENDING_POINTS_HIGH), far below the frame bound, and once the store catches up
// every frame is stored once and acknowledged.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BACKLOG_HIGH, PENDING_POINTS_HIGH } from '../src/device/gateway.js';
import { TestDevice } from './helpers/device.js';
import { eventually } from './helpers/eventually.js';
import { holdCommits } from './helpers/hold-commits.js';
import { startTestHub, type TestHub } from './helpers/hub.js';

const RECORDS = 1_000;
/** Frames the device sends: past the points bound, within its burst of --device-rate (100/s for 5 s). */
const FRAMES = 400;

describe('frames waiting for a commit, bounded in points', () => {
  let t: TestHub;
  before(async () => {
    t = await startTestHub();
  });
  after(() => t.close());

  it('stops reading at the points bound while the store is behind, then stores and acknowledges every frame once', async () => {
    const atBound = PENDING_POINTS_HIGH / RECORDS;
    assert.ok(atBound < FRAMES && FRAMES < BACKLOG_HIGH, 'the points bound is the one reached');
    const token = await t.api.provision('big-1');
    const d = await TestDevice.connect(t.ws, token);
    const lock = await holdCommits(t);
    let last = 0;
    try {
      // The first record of each frame names the frame (`frame`: i); the rest are bulk.
      for (let i = 0; i < FRAMES; i++)
        last = d.telemetry(Array.from({ length: RECORDS }, (_, j) => (j === 0 ? { n: 'frame', v: i } : { n: `m${j % 20}`, v: j })));
      await eventually(
        () => t.logs.some((l) => String(l.msg).startsWith('store backlog high: pausing device reads')),
        'device reads paused at the points bound',
      );
      const read = t.hub.ctx.fleet.get('big-1')?.acceptedSeq ?? 0;
      assert.ok(read >= atBound && read < FRAMES, `reads stopped after ${read} frames (bound: ${atBound}, sent: ${FRAMES})`);
    } finally {
      await lock.release();
    }
    await d.waitAck(last, 30_000);
    const got = await t.api.get('/devices/big-1/telemetry?name=frame&from=0');
    const values = (got.body.series as { points: { v: number }[] }[])[0]?.points.map((p) => p.v);
    assert.deepEqual(
      values,
      Array.from({ length: FRAMES }, (_, i) => i),
      'every frame stored once',
    );
    await d.close();
  });
});
