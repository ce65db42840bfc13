// Durations and sizes as people write them, everywhere Halyard takes one (API,
// flags, environment): "500ms", "10s", "5m", "1h", "30d"; "512", "64KiB", "1MiB".

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kb: 1_000,
  kib: 1_024,
  mb: 1_000_000,
  mib: 1_048_576,
  gb: 1e9,
  gib: 1_073_741_824,
};

/**
 * Milliseconds for a duration string. A bare number is taken as milliseconds only
 * when `bareMs` is true (the API's numeric fields); "0" is always zero.
 * Returns undefined for anything else.
 */
export function parseDuration(input: string | number, bareMs = false): number | undefined {
  if (typeof input === 'number') return Number.isFinite(input) && input >= 0 && bareMs ? Math.round(input) : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/i.exec(input);
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = m[2]?.toLowerCase();
  if (unit === undefined) return n === 0 || bareMs ? Math.round(n) : undefined;
  return Math.round(n * (DURATION_UNITS[unit] as number));
}

/** Bytes for a size string ("64KiB", "1MB", "4096"). Returns undefined for anything else. */
export function parseSize(input: string | number): number | undefined {
  if (typeof input === 'number') return Number.isInteger(input) && input >= 0 ? input : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmg]i?b|b)?\s*$/i.exec(input);
  if (!m) return undefined;
  const factor = SIZE_UNITS[(m[2] ?? '').toLowerCase()];
  return factor === undefined ? undefined : Math.round(Number(m[1]) * factor);
}

/** "1h 5m" style text for logs and messages. */
export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${ms}ms`;
  if (ms < 60_000) return `${+(ms / 1_000).toFixed(1)}s`;
  if (ms < 3_600_000) return `${+(ms / 60_000).toFixed(1)}m`;
  if (ms < 86_400_000) return `${+(ms / 3_600_000).toFixed(1)}h`;
  return `${+(ms / 86_400_000).toFixed(1)}d`;
}
