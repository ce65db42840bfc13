// How the console writes times, ages, sizes and numbers: short, the same everywhere.

/** "now", "12 s ago", "5 min ago", "3 h ago", "2 d ago"; "never" for null. */
export function ago(at: number | null | undefined, now: number): string {
  if (at === null || at === undefined) return 'never';
  const s = Math.max(0, Math.round((now - at) / 1000));
  if (s < 2) return 'now';
  if (s < 60) return `${s} s ago`;
  if (s < 3_600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3_600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}

/** A span of time for people: "850 ms", "12 s", "4 min 5 s", "3 h 20 min", "2 d 4 h". */
export function span(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3_600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86_400) return `${Math.floor(s / 3_600)} h ${Math.floor((s % 3_600) / 60)} min`;
  return `${Math.floor(s / 86_400)} d ${Math.floor((s % 86_400) / 3_600)} h`;
}

/** A delay after a start, short: "+850 ms", "+18.1 s", "+5 min 2 s". */
export function after(ms: number): string {
  if (ms < 1_000) return `+${Math.max(0, Math.round(ms))} ms`;
  if (ms < 60_000) return `+${(ms / 1000).toFixed(1)} s`;
  return `+${span(ms)}`;
}

/** Local date and time to the second, e.g. "2024-05-01 14:03:07". */
export function timestamp(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** Time of day with milliseconds, for command timelines. */
export function clock(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

/** A measured value: up to 4 significant digits, no trailing zeros, thousands grouped. */
export function num(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const abs = Math.abs(v);
  if (abs !== 0 && (abs >= 1e9 || abs < 1e-3)) return v.toExponential(2);
  const digits = abs >= 1000 ? 0 : abs >= 100 ? 1 : abs >= 10 ? 2 : 3;
  return Number(v.toFixed(digits)).toLocaleString('en', { maximumFractionDigits: digits });
}

/** A rate or a latency on a status tile: one decimal below 100, whole numbers above, so tiles side by side read alike. */
export function reading(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const tenths = Math.round(v * 10) / 10;
  return tenths.toLocaleString(
    'en',
    Math.abs(tenths) < 100 ? { minimumFractionDigits: 1, maximumFractionDigits: 1 } : { maximumFractionDigits: 0 },
  );
}

/** A number with a fixed count of decimals when a model profile sets one, else as `num` shows it. */
export function numWith(v: number, decimals: number | undefined): string {
  if (decimals === undefined || !Number.isFinite(v)) return num(v);
  return v.toLocaleString('en', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}

/** SenML units as people write them (lib/units.ts scales them too). */
export { unitText as unit } from './units.ts';

/** A bucket or window width: "5 s", "30 min", "1 h", "7 d"; exact, or a span. */
export function duration(ms: number): string {
  for (const [size, word] of [
    [86_400_000, 'd'],
    [3_600_000, 'h'],
    [60_000, 'min'],
    [1_000, 's'],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size} ${word}`;
  }
  return span(ms);
}

/**
 * Decimals that write every multiple of `step` exactly (2.5 -> 1, 0.25 -> 2, 5 -> 0,
 * 0.0001 -> 4), at most 10: axis ticks 7.5, 10, 12.5 rather than 8, 10, 13.
 */
export function stepDecimals(step: number): number {
  if (!(step > 0) || !Number.isFinite(step)) return 0;
  for (let d = 0; d < 10; d++) {
    const scaled = step * 10 ** d;
    if (Math.abs(scaled - Math.round(scaled)) <= 1e-9 * Math.max(1, scaled)) return d;
  }
  return 10;
}
