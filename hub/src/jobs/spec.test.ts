// The job spec's pure parts: stage assignment, the time window, selection matching.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DeviceInfo } from '@halyard/firmware-protocol';
import { assignStages, inWindow, jobSpecSchema, selects } from './spec.js';

const stages = (...p: number[]) => p.map((percent) => ({ percent, approval: false }));

describe('job spec', () => {
  it('fills stages in order up to ceil(percent × devices)', () => {
    const s = assignStages(stages(1, 10, 50, 100), [0, 0, 0, 0], 200, 0);
    const per = [0, 1, 2, 3].map((i) => s.filter((x) => x === i).length);
    assert.deepEqual(per, [2, 18, 80, 100]);
  });

  it('puts a device that joins late into the running stage, never an earlier one', () => {
    // 10 devices already in stages 0 and 1; stage 2 runs; a new device would fit stage 0 by the ratio.
    assert.deepEqual(assignStages(stages(50, 100), [5, 5], 1, 1), [1]);
    assert.deepEqual(assignStages(stages(10, 100), [1, 9], 10, 0), [0, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
  });

  it('refuses an empty time window (from equal to to), which would start no device', () => {
    const spec = (window: object) =>
      jobSpecSchema.safeParse({ action: { type: 'command', name: 'x' }, selection: {}, rollout: { window } });
    const empty = spec({ from: '05:00', to: '05:00' });
    assert.equal(empty.success, false);
    assert.match(empty.error?.issues[0]?.message ?? '', /from and to must differ/);
    assert.equal(spec({ from: '05:00', to: '05:01' }).success, true);
  });

  it('keeps devices to the time window, UTC, also across midnight', () => {
    const at = (h: number, m: number) => Date.UTC(2026, 10, 30, h, m);
    assert.equal(inWindow(null, at(12, 0)), true);
    assert.equal(inWindow({ from: '09:00', to: '17:00' }, at(8, 59)), false);
    assert.equal(inWindow({ from: '09:00', to: '17:00' }, at(9, 0)), true);
    assert.equal(inWindow({ from: '09:00', to: '17:00' }, at(17, 0)), false);
    assert.equal(inWindow({ from: '22:00', to: '05:00' }, at(23, 30)), true);
    assert.equal(inWindow({ from: '22:00', to: '05:00' }, at(4, 59)), true);
    assert.equal(inWindow({ from: '22:00', to: '05:00' }, at(12, 0)), false);
  });

  it('matches the fleet filters; revoked devices never', () => {
    const d = { id: 'pump-1', name: 'Pump', model: 'relay', firmware: '1.0', tags: ['a', 'b'], online: true, revoked: false } as DeviceInfo;
    const sel = (s: object) => jobSpecSchema.parse({ action: { type: 'command', name: 'x' }, selection: s }).selection;
    assert.equal(selects(sel({}), d, undefined), true);
    assert.equal(selects(sel({ tags: ['a', 'b'] }), d, undefined), true);
    assert.equal(selects(sel({ tags: ['a', 'c'] }), d, undefined), false);
    assert.equal(selects(sel({ status: 'offline' }), d, undefined), false);
    assert.equal(selects(sel({ model: 'relay', firmware: '1.0', q: 'pum' }), d, undefined), true);
    assert.equal(selects(sel({}), d, new Set(['other'])), false);
    assert.equal(selects(sel({}), { ...d, revoked: true }, undefined), false);
  });

  it('refuses stages that do not increase or do not reach 100%', () => {
    const spec = (s: number[]) =>
      jobSpecSchema.safeParse({ action: { type: 'command', name: 'x' }, selection: {}, rollout: { stages: stages(...s) } });
    assert.equal(spec([1, 10, 100]).success, true);
    assert.equal(spec([10, 10, 100]).success, false);
    assert.equal(spec([10, 50]).success, false);
  });
});
