// Axis ticks are written with the decimals their step needs: 7.5, 10, 12.5 (not 8, 10,
// 13, as the Hub page's frames-per-second axis read), and a slow counter's 2.2521, 2.2522.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { reading, stepDecimals } from '../src/lib/format.ts';

describe('tick decimals', () => {
  it('write every multiple of the step exactly', () => {
    const cases: [number, number][] = [
      [5, 0],
      [1, 0],
      [2.5, 1],
      [0.25, 2],
      [0.5, 1],
      [0.0001, 4],
      [0.2, 1],
      [1_000_000, 0],
      [0.1 + 0.2, 1],
    ];
    for (const [step, dec] of cases) assert.equal(stepDecimals(step), dec, String(step));
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) assert.equal(stepDecimals(bad), 0, String(bad));
  });
});

describe('status tile readings', () => {
  it('read alike side by side: one decimal below 100, whole numbers from 100', () => {
    assert.deepEqual([0, 0.04, 0.412, 3.14, 12, 99.94, 99.96, 100.4, 12_345.6].map(reading), [
      '0.0',
      '0.0',
      '0.4',
      '3.1',
      '12.0',
      '99.9',
      '100',
      '100',
      '12,346',
    ]);
  });
});
