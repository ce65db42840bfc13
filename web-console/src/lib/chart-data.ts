// A series made ready for a chart: values in the display unit (lib/units.ts), and a
// null wherever the device was silent for several steps, so the line breaks there
// instead of drawing a straight line across an outage.

import type { Series } from './series.ts';
import { type DisplayUnit, displayUnit, maxAbs } from './units.ts';

/** A gap wider than this many steps (buckets, or the usual interval) breaks the line. */
export const GAP_STEPS = 3;

export interface ChartData {
  xs: number[];
  ys: (number | null)[];
  lo: (number | null)[] | undefined;
  hi: (number | null)[] | undefined;
  unit: DisplayUnit;
}

/** The usual interval between points: the median, robust to a few outages. */
export function typicalStep(xs: readonly number[]): number | undefined {
  if (xs.length < 2) return undefined;
  const d: number[] = [];
  for (let i = 1; i < xs.length; i++) d.push((xs[i] as number) - (xs[i - 1] as number));
  d.sort((a, b) => a - b);
  return d[d.length >> 1];
}

export function chartData(s: Series, bucketMs: number | undefined): ChartData {
  const unit = s.kind === 'bool' ? { unit: '', factor: 1 } : displayUnit(s.unit, maxAbs(s.hi ?? s.ys));
  const step = bucketMs ?? typicalStep(s.xs);
  const scale = (v: number | null | undefined) => (v === null || v === undefined ? null : v * unit.factor);
  const out: ChartData = { xs: [], ys: [], lo: s.lo ? [] : undefined, hi: s.hi ? [] : undefined, unit };
  for (let i = 0; i < s.xs.length; i++) {
    const x = s.xs[i] as number;
    const prev = s.xs[i - 1];
    if (step !== undefined && step > 0 && prev !== undefined && x - prev > GAP_STEPS * step) {
      out.xs.push(prev + (x - prev) / 2);
      out.ys.push(null);
      out.lo?.push(null);
      out.hi?.push(null);
    }
    out.xs.push(x);
    out.ys.push(scale(s.ys[i]));
    out.lo?.push(scale(s.lo?.[i]));
    out.hi?.push(scale(s.hi?.[i]));
  }
  return out;
}
