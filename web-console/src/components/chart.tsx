// One uPlot time-series chart. The owner passes the series (times in ms) and the
// visible range; the chart redraws when either changes, follows its container's
// width, shares its cursor with charts of the same `syncKey`, and reports a
// drag-selected range so the owner can refetch finer buckets for it.

import { useEffect, useLayoutEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

export interface ChartLine {
  label: string;
  xs: number[];
  ys: (number | null)[];
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
  /** Draw as steps (booleans, states). */
  stepped?: boolean;
  onZoom?: (from: number, to: number) => void;
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

/** uPlot takes one x array for all lines: merge the lines' times, null where a line has no point. */
function align(lines: readonly ChartLine[]): uPlot.AlignedData {
  const [first] = lines;
  if (lines.length === 1 && first !== undefined) return [first.xs, first.ys];
  return uPlot.join(lines.map((l) => [l.xs, l.ys] as uPlot.AlignedData));
}

export function Chart({ lines, range, height = 160, syncKey, unit, stepped, onZoom, theme, label }: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  const zoom = useRef(onZoom);
  zoom.current = onZoom;
  const rangeRef = useRef(range);
  rangeRef.current = range;
  const shape = lines.map((l) => `${l.label}:${l.color}`).join('|');

  // Rebuilt only when the set of lines, height or theme changes; data flows in below.
  useLayoutEffect(() => {
    const el = box.current;
    if (el === null) return;
    const axis = cssColor('var(--fg-muted)');
    const grid = cssColor('var(--grid)');
    const axisOpts = { stroke: axis, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    const paths = stepped ? uPlot.paths.stepped?.({ align: 1 }) : undefined;
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height,
      ms: 1,
      legend: { show: lines.length > 1 },
      cursor: {
        ...(syncKey ? { sync: { key: syncKey } } : {}),
        drag: { x: true, y: false, setScale: false },
      },
      scales: { x: { time: true, range: () => rangeRef.current } },
      // The unit is in the chart's heading; uPlot's own tick labels fit their decimals to the step.
      axes: [axisOpts, { ...axisOpts, size: 60 }],
      series: [
        {},
        ...lines.map((l) => ({
          label: l.label,
          stroke: cssColor(l.color),
          width: 1.5,
          spanGaps: true,
          points: { show: false },
          value: (_u: uPlot, v: number | null) => (v === null ? '–' : `${+v.toPrecision(4)}${unit ? ` ${unit}` : ''}`),
          ...(paths ? { paths } : {}),
        })),
      ],
      hooks: {
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
  }, [shape, height, theme, stepped, syncKey, unit]);

  useEffect(() => {
    const u = plot.current;
    if (u === undefined) return;
    u.setData(align(lines), false);
    u.setScale('x', { min: range[0], max: range[1] });
  });

  return <div ref={box} class="chart" role="img" aria-label={label} />;
}
