// Web Mercator for the coordinate view: positions to the unit square (what map tiles
// use, so an optional tile layer lines up), a fit of a set of points into a box, and
// round graticule steps. Pure.

export interface LatLon {
  lat: number;
  lon: number;
}

const MAX_LAT = 85.0511;

/** Longitude/latitude to [0, 1] x [0, 1], y down (tile convention). */
export function project(p: LatLon): [number, number] {
  const lat = Math.max(-MAX_LAT, Math.min(MAX_LAT, p.lat));
  const s = Math.sin((lat * Math.PI) / 180);
  return [(p.lon + 180) / 360, 0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)];
}

export function unproject(x: number, y: number): LatLon {
  const n = Math.PI - 2 * Math.PI * y;
  return { lon: x * 360 - 180, lat: (180 / Math.PI) * Math.atan(0.5 * (Math.exp(n) - Math.exp(-n))) };
}

export interface Fit {
  /** Pixels per unit of the projected square. */
  scale: number;
  /** Projected coordinates of the view's top-left corner. */
  x0: number;
  y0: number;
}

/** Fits `points` into width x height with `pad` pixels around; one point gets about a kilometre around it. */
export function fit(points: readonly LatLon[], width: number, height: number, pad = 24): Fit {
  const xy = points.map(project);
  let [minX, minY, maxX, maxY] = [1, 1, 0, 0];
  for (const [x, y] of xy) {
    minX = Math.min(minX, x);
    maxX = Math.max(maxX, x);
    minY = Math.min(minY, y);
    maxY = Math.max(maxY, y);
  }
  if (xy.length === 0) [minX, minY, maxX, maxY] = [0, 0, 1, 1];
  // A lone point (or points on top of each other) still needs a scale: ~2 km across.
  const minSpan = 2 / 40_075;
  const spanX = Math.max(maxX - minX, minSpan);
  const spanY = Math.max(maxY - minY, minSpan);
  const scale = Math.min((width - 2 * pad) / spanX, (height - 2 * pad) / spanY);
  const cx = (minX + maxX) / 2;
  const cy = (minY + maxY) / 2;
  return { scale, x0: cx - width / 2 / scale, y0: cy - height / 2 / scale };
}

/** A round step in degrees that gives about `lines` lines across `span` degrees. */
export function niceStep(span: number, lines = 5): number {
  const raw = Math.max(span, 1e-6) / lines;
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}
