// The time axis has at least two labels over every window the console shows, at every
// width from a phone's chart to a wide screen's (uPlot's own steps gave the five-minute
// Hub charts one).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TIME_INCRS, TIME_LABEL_SPACE, timeAxisLabels } from '../src/lib/time-axis.ts';
import { RANGES } from '../src/lib/time-range.ts';

/** Labels uPlot draws over `rangeMs` at `width` px: it takes the first step at least TIME_LABEL_SPACE px wide. */
function labels(rangeMs: number, width: number): number {
  const step = TIME_INCRS.find((incr) => (incr / rangeMs) * width >= TIME_LABEL_SPACE);
  assert.ok(step !== undefined, `no step for ${rangeMs} ms at ${width} px`);
  return Math.floor(rangeMs / step);
}

describe('time axis steps', () => {
  it('are sorted and divide the hour or the day where they are below it', () => {
    for (let i = 1; i < TIME_INCRS.length; i++) assert.ok((TIME_INCRS[i] as number) > (TIME_INCRS[i - 1] as number));
    for (const incr of TIME_INCRS.filter((x) => x >= 1000 && x < 3_600_000)) assert.equal(3_600_000 % incr, 0, String(incr));
    for (const incr of TIME_INCRS.filter((x) => x >= 3_600_000 && x < 86_400_000)) assert.equal(86_400_000 % incr, 0, String(incr));
  });

  it('give every window the console shows at least two labels, from 280 to 1,400 px', () => {
    const windows = [...RANGES.map((r) => r.ms), 5 * 60_000 /* the Hub page */, 30 * 86_400_000];
    for (const ms of windows)
      for (let width = 280; width <= 1400; width += 20) assert.ok(labels(ms, width) >= 2, `${ms} ms at ${width} px`);
  });

  it("label times as the tables do, to the step's precision, with the date under the first and at each new day", () => {
    const at = (d: number, h: number, m: number, sec = 0, ms = 0) => new Date(2026, 11, d, h, m, sec, ms).getTime();
    assert.deepEqual(timeAxisLabels([at(1, 23, 58), at(2, 0, 0), at(2, 0, 2)], 2 * 60_000), [
      '23:58\n2026-12-01',
      '00:00\n2026-12-02',
      '00:02',
    ]);
    assert.deepEqual(timeAxisLabels([at(1, 3, 38, 5), at(1, 3, 38, 10)], 5_000), ['03:38:05\n2026-12-01', '03:38:10']);
    assert.deepEqual(timeAxisLabels([at(1, 3, 38, 5, 250), at(1, 3, 38, 5, 500)], 250), ['03:38:05.250\n2026-12-01', '03:38:05.500']);
    assert.deepEqual(timeAxisLabels([at(1, 0, 0), at(3, 0, 0)], 2 * 86_400_000), ['2026-12-01', '2026-12-03']);
  });
});
