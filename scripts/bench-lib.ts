// Shared pieces of `npm run bench`: argument parsing, a same-run measuring loop that
// interleaves the cases (so noise hits them alike), and the table + JSON results.

import { appendFileSync, mkdirSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { dirname } from 'node:path';

export interface BenchArgs {
  quick: boolean;
  /** Tiny sizes: only proves the scenario still runs (the test suite uses it). */
  tiny: boolean;
  results: string;
}

/** Picks a size for the run: full, --quick, or --tiny. */
export function size<T>(args: BenchArgs, full: T, quick: T, tiny: T): T {
  return args.tiny ? tiny : args.quick ? quick : full;
}

export interface BenchRow {
  scenario: string;
  case: string;
  value: number;
  unit: string;
  /** What the value is compared against, measured in the same run. */
  baseline?: string;
  baselineValue?: number;
  extra?: Record<string, unknown>;
}

export function parseBenchArgs(argv = process.argv.slice(2)): BenchArgs {
  const results = argv.find((a) => a.startsWith('--results='))?.slice('--results='.length);
  const tiny = argv.includes('--tiny') || process.env.HALYARD_BENCH_TINY === '1';
  return {
    tiny,
    quick: tiny || argv.includes('--quick') || process.env.HALYARD_BENCH_QUICK === '1',
    results: results ?? process.env.HALYARD_BENCH_RESULTS ?? 'bench-results/results.jsonl',
  };
}

/** Runs each case for `seconds` per round, rounds interleaved; returns the median ops/s. */
export function measure(cases: Record<string, () => void>, opts: { seconds: number; rounds: number }): Record<string, number> {
  const samples: Record<string, number[]> = {};
  for (const name of Object.keys(cases)) samples[name] = [];
  // Warm up every case so the JIT has seen them all before timing.
  for (const fn of Object.values(cases)) for (let i = 0; i < 20_000; i++) fn();
  for (let round = 0; round < opts.rounds; round++) {
    for (const [name, fn] of Object.entries(cases)) {
      const deadline = process.hrtime.bigint() + BigInt(Math.round(opts.seconds * 1e9));
      const start = process.hrtime.bigint();
      let n = 0;
      let now = start;
      while (now < deadline) {
        for (let i = 0; i < 1000; i++) fn();
        n += 1000;
        now = process.hrtime.bigint();
      }
      samples[name]?.push(n / (Number(now - start) / 1e9));
    }
  }
  const out: Record<string, number> = {};
  for (const [name, s] of Object.entries(samples)) {
    const sorted = [...s].sort((a, b) => a - b);
    out[name] = sorted[Math.floor(sorted.length / 2)] as number;
  }
  return out;
}

export function machine() {
  return {
    cores: availableParallelism(),
    cpu: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
}

function fmt(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)} k`;
  return n >= 100 ? n.toFixed(0) : n.toFixed(2);
}

/** Prints the rows as a table and appends them, with machine info, to the results file. */
export function report(rows: BenchRow[], args: BenchArgs): void {
  const table = rows.map((r) => ({
    scenario: r.scenario,
    case: r.case,
    result: `${fmt(r.value)} ${r.unit}`,
    baseline: r.baseline === undefined ? '' : `${r.baseline}: ${fmt(r.baselineValue ?? 0)} ${r.unit}`,
    ratio: r.baselineValue ? `${(r.value / r.baselineValue).toFixed(2)}x` : '',
  }));
  const widths = Object.keys(table[0] ?? {}).map((k) => Math.max(k.length, ...table.map((t) => String(t[k as keyof typeof t]).length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  console.log(line(Object.keys(table[0] ?? {})));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const t of table) console.log(line(Object.values(t)));
  mkdirSync(dirname(args.results), { recursive: true });
  const at = new Date().toISOString();
  const m = machine();
  for (const r of rows) appendFileSync(args.results, `${JSON.stringify({ at, machine: m, quick: args.quick, ...r })}\n`);
}
