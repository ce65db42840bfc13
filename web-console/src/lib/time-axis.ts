// The steps a chart's time axis may take between labels, in ms. uPlot's own list jumps
// from 1 minute to 5, so a five-minute window (the Hub page, the picker's "5 min") got a
// single label; this is that list with 2 minutes added (and 2 s, for the zoomed-in).

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
