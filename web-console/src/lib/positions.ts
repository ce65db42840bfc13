// Which metrics carry a position: SenML's lat/lon units (the tracker profile's), or
// metrics named lat/lon (or latitude/longitude) without a unit.

export function isLat(name: string, unit: string | null | undefined): boolean {
  return unit === 'lat' || (!unit && (name === 'lat' || name === 'latitude'));
}

export function isLon(name: string, unit: string | null | undefined): boolean {
  return unit === 'lon' || (!unit && (name === 'lon' || name === 'longitude'));
}

/** Pairs lat and lon points taken at the same times (one record carries both). */
export function trailOf(
  lat: { xs: readonly number[]; ys: readonly (number | null)[] },
  lon: { xs: readonly number[]; ys: readonly (number | null)[] },
): { lat: number; lon: number }[] {
  const byTime = new Map<number, number>();
  lon.xs.forEach((t, i) => {
    const v = lon.ys[i];
    if (v !== null && v !== undefined) byTime.set(t, v);
  });
  const out: { lat: number; lon: number }[] = [];
  lat.xs.forEach((t, i) => {
    const a = lat.ys[i];
    const o = byTime.get(t);
    if (a !== null && a !== undefined && o !== undefined && Math.abs(a) <= 90 && Math.abs(o) <= 180) out.push({ lat: a, lon: o });
  });
  return out;
}
