// Alarm marks on a chart (web-console/src/lib/alarms.ts): marks a few pixels apart share
// one line, red if any of them is a raise, so a week of a flapping alarm is a few lines
// where it flapped rather than a solid block over the data.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { markLines } from '../src/lib/alarms.ts';

describe('alarm mark lines', () => {
  it('keeps marks that are apart, each its own line and tone', () => {
    assert.deepEqual(
      markLines(
        [
          { x: 10, tone: 'bad' },
          { x: 50, tone: 'good' },
        ],
        6,
      ),
      [
        { x: 10, tone: 'bad' },
        { x: 50, tone: 'good' },
      ],
    );
  });

  it('merges a run of close marks into one line, red if any is a raise', () => {
    const flapping = Array.from({ length: 80 }, (_, i) => ({
      x: 300 + Math.floor(i / 20),
      tone: i % 2 === 0 ? ('bad' as const) : ('good' as const),
    }));
    assert.deepEqual(markLines([{ x: 100, tone: 'good' }, ...flapping], 6), [
      { x: 100, tone: 'good' },
      { x: 300, tone: 'bad' },
    ]);
    assert.deepEqual(
      markLines(
        [
          { x: 0, tone: 'good' },
          { x: 3, tone: 'good' },
          { x: 6, tone: 'good' },
        ],
        6,
      ),
      [
        { x: 0, tone: 'good' },
        { x: 6, tone: 'good' },
      ],
    );
  });
});
