// The sustained-ingest search that the ingest and postgres scenarios share, so a
// hub on SQLite and a hub on PostgreSQL are measured by exactly the same method:
// the rate rises in steps until one misses twice in a row (ACK p99 < 100 ms and at
// least 97% of the offered rate acknowledged), with the hub drained between steps,
// then "as fast as ACKs allow" is measured last (README.md § Benchmarks).

import { BASELINE_MAIN, Child, procUsage, scrapeLagMs, sleep, startLoadgen } from './lib.js';

export interface SearchOptions {
  stepMs: number;
  /** The search's first rate, frames/s. */
  firstRate: number;
  /** The factor between steps. */
  factor: number;
  /** Rate steps at most before the search stops (tiny runs only check that it works). */
  maxSteps: number;
  /** CPU seconds of other processes to report beside the hub's (the database server's). */
  otherCpu?: () => number;
}

export interface Step {
  offered: number;
  acked: number;
  p50: number;
  p99: number;
  /** Cores the hub used during the step. */
  cpu: number;
  /** Cores the other processes (otherCpu) used, 0 without them. */
  otherCpu: number;
  rss: number;
  lag: number;
}

/** Frames per second the bare server (baseline-ws.ts: decode + count) receives at full speed from the fleet of `tokensFile`. */
export async function bareRate(tokensFile: string, records: number, window: number, stepMs: number): Promise<number> {
  const server = new Child([BASELINE_MAIN]);
  const { port } = (await server.next((m) => m.event === 'listening')) as { port: number };
  const gen = await startLoadgen(port, tokensFile, { records, window, mode: 'open' });
  await gen.request({ cmd: 'connect' }, 'connected');
  gen.send({ cmd: 'rate', value: 0 });
  await sleep(1_000);
  const a = (await server.request({ cmd: 'count' }, 'count')).messages as number;
  const t0 = performance.now();
  await sleep(stepMs);
  const b = (await server.request({ cmd: 'count' }, 'count')).messages as number;
  const rate = ((b - a) * 1000) / (performance.now() - t0);
  await gen.request({ cmd: 'stop' }, 'stopped');
  await server.stop();
  return rate;
}

/** Halvings of the gap between the best rate held and the first missed (searchSustained). */
export const REFINE_STEPS = 2;

export const held = (s: Step) => s.p99 < 100 && s.acked >= 0.97 * s.offered;

/**
 * Between steps: stop sending, wait for every frame in flight to be acknowledged and
 * for the hub to go quiet (compaction of what the last step stored), so a step is
 * not charged for the backlog an overloaded one left behind.
 */
async function drain(gen: Child, hubPid: number, otherCpu: (() => number) | undefined): Promise<number> {
  await gen.request({ cmd: 'pause' }, 'paused');
  const deadline = performance.now() + 60_000;
  while (performance.now() < deadline) {
    const s = (await gen.request({ cmd: 'stats' }, 'stats')) as { inFlight: number };
    if (s.inFlight === 0) break;
    await sleep(100);
  }
  // The database server too: autovacuum or a checkpoint after a heavy step is that step's debt.
  while (performance.now() < deadline) {
    const u0 = procUsage(hubPid).cpuSeconds;
    const o0 = otherCpu?.() ?? 0;
    await sleep(500);
    if ((procUsage(hubPid).cpuSeconds - u0) / 0.5 < 0.2 && ((otherCpu?.() ?? 0) - o0) / 0.5 < 0.2) break;
  }
  const waited = (60_000 - (deadline - performance.now())) / 1000;
  if (performance.now() >= deadline) console.error(`  ingest: the hub was still busy after ${waited.toFixed(0)} s; measuring anyway`);
  return waited;
}

/** One step at `rate` frames/s (0: as fast as ACKs allow), after draining the hub. */
export async function measure(gen: Child, hubPid: number, hubPort: number, rate: number, o: SearchOptions): Promise<Step> {
  const drained = await drain(gen, hubPid, o.otherCpu);
  gen.send({ cmd: 'rate', value: rate });
  await sleep(Math.min(1_000, o.stepMs / 2)); // settle
  await gen.request({ cmd: 'reset' }, 'reset');
  await scrapeLagMs(hubPort);
  const u0 = procUsage(hubPid);
  const o0 = o.otherCpu?.() ?? 0;
  const t0 = performance.now();
  await sleep(o.stepMs);
  const s = (await gen.request({ cmd: 'stats' }, 'stats')) as {
    acked: number;
    sent: number;
    behind: number;
    latency: { p50: number; p99: number };
  };
  const dt = (performance.now() - t0) / 1000;
  const u1 = procUsage(hubPid);
  const o1 = o.otherCpu?.() ?? 0;
  const step: Step = {
    offered: rate === 0 ? s.sent / dt : rate,
    acked: s.acked / dt,
    p50: s.latency.p50,
    p99: s.latency.p99,
    cpu: (u1.cpuSeconds - u0.cpuSeconds) / dt,
    otherCpu: (o1 - o0) / dt,
    rss: u1.rssBytes,
    lag: await scrapeLagMs(hubPort),
  };
  // Progress on stderr: the search takes a minute per record size.
  const r = (n: number) => Math.round(n);
  const other = o.otherCpu ? ` db cpu ${step.otherCpu.toFixed(2)}` : '';
  console.error(
    `  ingest step: offered ${r(step.offered)}/s acked ${r(step.acked)}/s p50 ${step.p50} ms p99 ${step.p99} ms cpu ${step.cpu.toFixed(2)}${other} lag ${step.lag} ms ${held(step) ? 'held' : 'missed'} (hub drained in ${drained.toFixed(1)} s)`,
  );
  return step;
}

/**
 * Runs the search with a connected load generator `gen` against the hub (pid, HTTP
 * port). Up from `firstRate` by `factor` until a rate misses twice in a row (one
 * miss can be a neighbour's noise on a shared machine); if even the first rate
 * misses twice, down by halves until one holds. Upwards, so each step carries only
 * the background work (compaction, merging) that the rates it held leave behind,
 * as a hub running at such a rate would; an overloaded step first would leave debts
 * that no later step could be fairly charged. Then REFINE_STEPS halvings of the gap
 * between the best rate held and the one that missed (geometric midpoints, each
 * missed twice before it counts as missed): the factor alone would report up to a
 * fifth under what the hub holds, and which store's figure fell just under a step
 * was chance.
 */
export async function searchSustained(
  gen: Child,
  hubPid: number,
  hubPort: number,
  o: SearchOptions,
): Promise<{ best: Step; max: Step; steps: Step[] }> {
  const steps: Step[] = [];
  let best: Step | undefined;
  let rate = Math.max(100, Math.round(o.firstRate));
  /** The lowest rate above `best` that missed twice, once the upward search has one. */
  let missed: number | undefined;
  for (let misses = 0; steps.length < o.maxSteps; ) {
    const s = await measure(gen, hubPid, hubPort, rate, o);
    steps.push(s);
    if (held(s)) {
      best = s;
      misses = 0;
      rate = Math.round(rate * o.factor);
    } else if (++misses === 2) {
      if (best !== undefined || rate <= 100) {
        missed = rate;
        break;
      }
      misses = 0;
      rate = Math.max(100, Math.round(rate / 2));
    }
  }
  for (let i = 0; i < REFINE_STEPS && best !== undefined && missed !== undefined && steps.length < o.maxSteps; i++) {
    const mid = Math.round(Math.sqrt(best.offered * missed));
    let held2 = false;
    for (let tries = 0; tries < 2 && !held2 && steps.length < o.maxSteps; tries++) {
      const s = await measure(gen, hubPid, hubPort, mid, o);
      steps.push(s);
      if (held(s)) {
        best = s;
        held2 = true;
      }
    }
    if (!held2) missed = mid;
  }
  // Then as fast as ACKs allow: the upper bound, with latency unbounded.
  const max = await measure(gen, hubPid, hubPort, 0, o);
  steps.push(max);
  return { best: best ?? (steps[0] as Step), max, steps };
}
