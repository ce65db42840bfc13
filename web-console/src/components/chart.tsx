// One uPlot time-series chart. The owner passes the series (times in ms, values in the
// display unit, null where the line should break) and the visible range; the chart
// redraws when either changes, follows its container's width, shares its cursor with
// charts of the same `syncKey`, shows the time and values under the cursor in its
// legend, draws a min-max band around averages when given one, and reports a
// drag-selected range so the owner can refetch finer buckets for it.

import { useEffect, useLayoutEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import { type ChartMark, markLines } from '../lib/alarms.ts';
import { numWith, stepDecimals, timestamp } from '../lib/format.ts';
import { TIME_INCRS, TIME_LABEL_SPACE, timeAxisLabels } from '../lib/time-axis.ts';

export interface ChartLine {
  label: string;
  xs: number[];
  ys: (number | null)[];
  /** Each point's min and max (buckets), drawn as a band around the line. */
  lo?: (number | null)[] | undefined;
  hi?: (number | null)[] | undefined;
  /** A CSS colour or var(--name). */
  color: string;
}

export interface ChartProps {
  lines: ChartLine[];
  /** Visible time range, ms. */
  range: [number, number];
  height?: number;
  syncKey?: string;
  unit?: string;
  /** Decimals of the readout, from the model's profile; by magnitude otherwise. */
  decimals?: number | undefined;
  /** On/off values: steps between two labelled levels. */
  bool?: boolean;
  onZoom?: (from: number, to: number) => void;
  /** Vertical marks (an alarm raised or cleared), drawn over the plot and listed for screen readers. */
  marks?: readonly ChartMark[];
  /** Changes force a rebuild (e.g. the colour scheme). */
  theme?: string;
  label: string;
}

function cssColor(c: string): string {
  const m = /^var\((--[\w-]+)\)$/.exec(c);
  return m
    ? getComputedStyle(document.documentElement)
        .getPropertyValue(m[1] as string)
        .trim() || '#888'
    : c;
}

/** px: the y axis also holds the left half of the first date label under it. */
const MIN_Y_AXIS = 56;

/** A see-through version of a #rrggbb colour, for bands. */
function faint(hex: string, alpha: number): string {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (m === null) return hex;
  return `rgba(${Number.parseInt(m[1] as string, 16)}, ${Number.parseInt(m[2] as string, 16)}, ${Number.parseInt(m[3] as string, 16)}, ${alpha})`;
}

/** The arrays of a line as uPlot series: the line, then its band's max and min. */
function columns(l: ChartLine): (number | null)[][] {
  return l.lo && l.hi ? [l.ys, l.hi, l.lo] : [l.ys];
}

/** uPlot takes one x array for all series: merge the lines' times, null where a line has no point. */
function align(lines: readonly ChartLine[]): uPlot.AlignedData {
  const [first] = lines;
  if (lines.length === 1 && first !== undefined) return [first.xs, ...columns(first)];
  return uPlot.join(lines.map((l) => [l.xs, ...columns(l)] as uPlot.AlignedData));
}

/**
 * Points only where a value stands alone between gaps (a single bucket): a line cannot
 * show it. Nulls are gaps; undefined (alignment of several lines) is not.
 */
function isolated(u: uPlot, seriesIdx: number, show: boolean): number[] | null {
  if (show) return null;
  const ys = u.data[seriesIdx] as (number | null | undefined)[];
  const near = (i: number, step: number): number | null | undefined => {
    for (let j = i + step; j >= 0 && j < ys.length; j += step) if (ys[j] !== undefined) return ys[j];
    return null;
  };
  const out: number[] = [];
  for (let i = 0; i < ys.length; i++) if (ys[i] != null && near(i, -1) === null && near(i, 1) === null) out.push(i);
  return out;
}

/**
 * Tick labels with as many decimals as the step between ticks needs (a slowly growing
 * counter's ticks 2.2521, 2.2522 rather than 2.252 three times), thousands grouped.
 */
function tickLabels(_u: uPlot, splits: number[], _axisIdx: number, _space: number, incr: number): string[] {
  const dec = stepDecimals(incr);
  return splits.map((v) => v.toLocaleString('en', { minimumFractionDigits: dec, maximumFractionDigits: dec }));
}

/** Steps between y labels for whole counts (decimals 0): 1, 2, 5, 10, 20, 50, … — never "316.5 devices". */
const WHOLE_INCRS = Array.from({ length: 30 }, (_, i) => ([1, 2, 5][i % 3] as number) * 10 ** Math.floor(i / 3));

/** The y axis as wide as its longest label, so "1,000,000" is not cut off. */
function axisSize(u: uPlot, values: string[] | null, axisIdx: number, cycleNum: number): number {
  const axis = u.axes[axisIdx] as uPlot.Axis & { _size?: number };
  if (cycleNum > 1 && axis._size !== undefined) return axis._size;
  const longest = (values ?? []).reduce((a, v) => (v.length > a.length ? v : a), '');
  u.ctx.font = (axis.font as unknown as string[] | undefined)?.[0] ?? u.ctx.font;
  const text = longest === '' ? 0 : u.ctx.measureText(longest).width / devicePixelRatio;
  // At least wide enough for half of the first time label ("11/30/26 5:32am") centred on the axis.
  return Math.max(MIN_Y_AXIS, Math.ceil(text + 16));
}

/** CSS pixels within which alarm marks share one line. */
const MARK_GAP = 6;

/** Draws `marks` as dashed vertical lines across the plot, red for a raise, green for a clear; marks a few pixels apart share a line. */
function drawMarks(u: uPlot, marks: readonly ChartMark[]): void {
  const { ctx } = u;
  const { top, height } = u.bbox;
  ctx.save();
  ctx.lineWidth = Math.max(1, devicePixelRatio * 1.5);
  const xs = marks
    .map((m) => ({ x: Math.round(u.valToPos(m.at, 'x', true)), tone: m.tone }))
    .filter(({ x }) => x >= u.bbox.left && x <= u.bbox.left + u.bbox.width);
  for (const m of markLines(xs, MARK_GAP * devicePixelRatio)) {
    const { x } = m;
    // Not by colour alone: a raise is dashed, a clear dotted (the key under the chart says so).
    ctx.strokeStyle = cssColor(m.tone === 'bad' ? 'var(--bad)' : 'var(--good)');
    ctx.setLineDash(m.tone === 'bad' ? [6 * devicePixelRatio, 3 * devicePixelRatio] : [1.5 * devicePixelRatio, 3 * devicePixelRatio]);
    ctx.beginPath();
    ctx.moveTo(x, top);
    ctx.lineTo(x, top + height);
    ctx.stroke();
  }
  ctx.restore();
}

export function Chart({ lines, range, height = 160, syncKey, unit, decimals, bool, onZoom, marks, theme, label }: ChartProps) {
  const marksRef = useRef(marks);
  marksRef.current = marks;
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  const zoom = useRef(onZoom);
  zoom.current = onZoom;
  const rangeRef = useRef(range);
  rangeRef.current = range;
  const shape = lines.map((l) => `${l.label}:${l.color}:${l.lo ? 'band' : ''}`).join('|');

  // Rebuilt only when the set of lines, height, unit or theme changes; data flows in below.
  useLayoutEffect(() => {
    const el = box.current;
    if (el === null) return;
    const axis = cssColor('var(--fg-muted)');
    const grid = cssColor('var(--grid)');
    const axisOpts = { stroke: axis, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    const suffix = unit ? ` ${unit}` : '';
    const show = (v: number | null | undefined) =>
      v == null ? '–' : bool ? (v >= 0.5 ? 'on' : 'off') : `${numWith(v, decimals)}${suffix}`;
    const series: uPlot.Series[] = [{ label: 'Time', value: (_u, v) => (v == null ? '–' : timestamp(v)) }];
    const bands: uPlot.Band[] = [];
    for (const l of lines) {
      const stroke = cssColor(l.color);
      series.push({
        label: l.label,
        stroke,
        width: 1.5,
        // Nulls are gaps the data shaping put there on purpose (an outage): break the line.
        spanGaps: false,
        points: { filter: isolated, size: 5, fill: stroke },
        value: (_u, v) => show(v),
        ...(bool ? { paths: uPlot.paths.stepped?.({ align: 1 }) } : {}),
      });
      if (l.lo && l.hi) {
        const hi = series.length;
        for (const edge of ['max', 'min']) {
          series.push({
            label: `${edge}`,
            stroke: faint(stroke, 0.35),
            width: 0.5,
            spanGaps: false,
            // A bucket with no neighbour has no band to fill: its min and max show as dots.
            points: { filter: isolated, size: 4, fill: faint(stroke, 0.6), stroke: faint(stroke, 0.6) },
            value: (_u, v) => show(v),
          });
        }
        bands.push({ series: [hi, hi + 1], fill: faint(stroke, 0.14) });
      }
    }
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height,
      ms: 1,
      // The legend is the readout: the time and each value under the cursor.
      legend: { show: true, live: true },
      cursor: {
        ...(syncKey ? { sync: { key: syncKey } } : {}),
        drag: { x: true, y: false, setScale: false },
      },
      scales: {
        x: { time: true, range: () => rangeRef.current },
        ...(bool ? { y: { range: [-0.1, 1.1] as uPlot.Range.MinMax } } : {}),
      },
      axes: [
        {
          ...axisOpts,
          space: TIME_LABEL_SPACE,
          incrs: [...TIME_INCRS],
          values: (_u: uPlot, splits: number[], _axisIdx: number, _space: number, incr: number) => timeAxisLabels(splits, incr),
        },
        bool
          ? { ...axisOpts, splits: () => [0, 1], values: (_u, splits) => splits.map((v) => (v >= 0.5 ? 'on' : 'off')), size: axisSize }
          : { ...axisOpts, values: tickLabels, size: axisSize, ...(decimals === 0 ? { incrs: WHOLE_INCRS } : {}) },
      ],
      series,
      bands,
      hooks: {
        draw: [(u: uPlot) => drawMarks(u, marksRef.current ?? [])],
        setSelect: [
          (u: uPlot) => {
            if (u.select.width < 5) return;
            const from = u.posToVal(u.select.left, 'x');
            const to = u.posToVal(u.select.left + u.select.width, 'x');
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            zoom.current?.(Math.round(from), Math.round(to));
          },
        ],
      },
    };
    const u = new uPlot(opts, align(lines), el);
    plot.current = u;
    const ro = new ResizeObserver(() => u.setSize({ width: Math.max(200, el.clientWidth), height }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = undefined;
    };
  }, [shape, height, theme, bool, syncKey, unit, decimals]);

  useEffect(() => {
    const u = plot.current;
    if (u === undefined) return;
    u.setData(align(lines), false);
    u.setScale('x', { min: range[0], max: range[1] });
  });

  return (
    <>
      <div ref={box} class="chart" role="img" aria-label={label} />
      {marks !== undefined && marks.length > 0 ? (
        <p class="chart-key muted" aria-hidden="true" data-testid="chart-key">
          Alarms: <span class="key-raised">╌ raised</span> <span class="key-cleared">┈ cleared</span>
        </p>
      ) : null}
      {marks !== undefined && marks.length > 0 ? (
        <ul class="sr-only" data-testid="chart-marks" aria-label={`Alarms on ${label}`}>
          {marks.map((m) => (
            <li key={`${m.at}:${m.label}`} data-tone={m.tone} data-at={m.at}>
              {timestamp(m.at)}: {m.label}
            </li>
          ))}
        </ul>
      ) : null}
    </>
  );
}
