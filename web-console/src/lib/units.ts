// Units for people: SenML's symbols as usually written (Cel -> °C, %EL -> %), and SI
// units scaled by a prefix to the size of the values (7.32e9 J -> 2.03 MWh), so charts
// and big numbers read "2.03 MWh" rather than "7.32e+9 J".

/** SenML units (RFC 8428 §12.1) written the usual way; others are shown as they are. */
const SENML: Record<string, string> = {
  Cel: '°C',
  K: 'K',
  '%RH': '%',
  '%EL': '%',
  '%': '%',
  '/': '',
  lat: '°',
  lon: '°',
  rad: 'rad',
  deg: '°',
  dBm: 'dBm',
  'm/s': 'm/s',
  'm/s2': 'm/s²',
  'm3/s': 'm³/s',
  'l/s': 'l/s',
  m3: 'm³',
  lx: 'lx',
  bit: 'bit',
  'bit/s': 'bit/s',
  EL: 's',
  'count/s': '/s',
  beats: 'beats',
  'beat/min': 'bpm',
};

/** Units a k/M/G prefix applies to. */
const PREFIXED = new Set(['W', 'Wh', 'VA', 'VAR', 'V', 'A', 'Hz', 'Pa', 'm', 'g', 'B', 'N', 'l']);
const PREFIXES: [number, string][] = [
  [1e9, 'G'],
  [1e6, 'M'],
  [1e3, 'k'],
];

export interface DisplayUnit {
  /** The unit as shown, e.g. "MWh". */
  unit: string;
  /** Multiply raw values by this to get values in `unit`. */
  factor: number;
}

/** The SenML symbol as people write it. */
export function unitText(u: string | null | undefined): string {
  if (u === null || u === undefined) return '';
  return SENML[u] ?? u;
}

/**
 * How to show values of unit `u` whose magnitude reaches `maxAbs`: energy in joules as
 * watt-hours (what meters and bills use), then a prefix so the numbers stay below 1000.
 */
export function displayUnit(u: string | null | undefined, maxAbs: number): DisplayUnit {
  let base = unitText(u);
  let factor = 1;
  if (u === 'J') {
    base = 'Wh';
    factor = 1 / 3_600;
  }
  if (PREFIXED.has(base) && Number.isFinite(maxAbs)) {
    const scaled = Math.abs(maxAbs) * factor;
    for (const [size, prefix] of PREFIXES) {
      if (scaled >= size) return { unit: `${prefix}${base}`, factor: factor / size };
    }
  }
  return { unit: base, factor };
}

/** The largest magnitude among values (0 for none), for displayUnit. */
export function maxAbs(values: Iterable<number | null>): number {
  let m = 0;
  for (const v of values) if (v !== null && Number.isFinite(v) && Math.abs(v) > m) m = Math.abs(v);
  return m;
}
