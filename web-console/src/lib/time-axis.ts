// A chart's time axis: the steps it may take between labels, in ms, and the labels.
// uPlot's own list of steps jumps from 1 minute to 5, so a five-minute window (the Hub
// page, the picker's "5 min") got a single label; this is that list with 2 minutes
// added (and 2 s, for the zoomed-in). uPlot's own labels were US-style ("3:26am
// 12/1/26") beside tables in 2026-12-01 03:26:00; these are the tables' style.

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;
const MO = 30 * D;
const Y = 365 * D;

/** Steps between time labels, smallest first: uPlot picks the first at least `TIME_LABEL_SPACE` pixels wide. */
// biome-ignore format: one row per unit
export const TIME_INCRS: readonly number[] = [
  1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500,
  S, 2 * S, 5 * S, 10 * S, 15 * S, 30 * S,
  M, 2 * M, 5 * M, 10 * M, 15 * M, 30 * M,
  H, 2 * H, 3 * H, 4 * H, 6 * H, 8 * H, 12 * H,
  D, 2 * D, 3 * D, 4 * D, 5 * D, 6 * D, 7 * D, 8 * D, 9 * D, 10 * D, 15 * D,
  MO, 2 * MO, 3 * MO, 4 * MO, 6 * MO,
  Y, 2 * Y, 5 * Y, 10 * Y, 25 * Y, 50 * Y, 100 * Y,
];

/** Pixels at least between two time labels, so dates and times never overlap. */
export const TIME_LABEL_SPACE = 90;

/**
 * The time axis' labels in the console's one way of writing times (2026-12-01 03:38,
 * 24-hour, as the tables): the time to the step's precision, with the date on a second
 * line under the first label and wherever the day changes; steps of a day or more
 * show the date alone.
 */
export function timeAxisLabels(splits: readonly number[], incr: number): string[] {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const date = (d: Date) => `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
  let day = '';
  return splits.map((v) => {
    const d = new Date(v);
    if (incr >= D) return date(d);
    const hm = `${p(d.getHours())}:${p(d.getMinutes())}`;
    const time = incr >= M ? hm : incr >= S ? `${hm}:${p(d.getSeconds())}` : `${hm}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
    const today = date(d);
    if (today === day) return time;
    day = today;
    return `${time}\n${today}`;
  });
}
