// The live status line on stderr: rewritten in place once a second on a terminal,
// one plain line every --status-interval otherwise (logs, CI), so it never floods.

import type { Fleet } from '../engine/fleet.js';
import type { LatencySummary, StatsSnapshot } from '../engine/stats.js';

function ms(v: number): string {
  return v >= 100 ? `${Math.round(v)}ms` : `${v.toFixed(1)}ms`;
}

function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** One status line from two snapshots (for rates) and the latency of the interval. */
export function formatStatus(now: StatsSnapshot, prev: StatsSnapshot | undefined, latency: LatencySummary): string {
  const dt = prev === undefined ? now.elapsedMs / 1_000 : (now.time - prev.time) / 1_000;
  const rate = (a: number, b: number) => (dt > 0 ? (a - b) / dt : 0);
  const tps = rate(now.telemetry, prev?.telemetry ?? 0);
  const rps = rate(now.records, prev?.records ?? 0);
  const online = now.states.online;
  const stopped = now.states.stopped;
  const handled = now.commands.succeeded + now.commands.failed + now.commands.rejected;
  const parts = [
    `online ${count(online)}/${count(now.devices)}`,
    `offline ${count(now.devices - online - stopped)}`,
    ...(stopped > 0 ? [`stopped ${count(stopped)}`] : []),
    `telemetry ${tps.toFixed(1)}/s${rps > tps * 1.01 ? ` (${Math.round(rps)} rec/s)` : ''}`,
    `acked ${count(now.acked)}`,
    `pending ${count(now.pending)}`,
    `commands ${count(handled)}`,
    `reconnects ${count(now.reconnects)}`,
    latency.count > 0 ? `ack p50 ${ms(latency.p50)} p99 ${ms(latency.p99)}` : 'ack p50 - p99 -',
  ];
  return parts.join(' · ');
}

export interface StatusLine {
  stop(): void;
}

export function startStatusLine(
  fleet: Fleet,
  out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number },
  intervalMs: number,
): StatusLine {
  const tty = out.isTTY === true;
  let prev: StatsSnapshot | undefined;
  const timer = setInterval(
    () => {
      const now = fleet.stats();
      let line = formatStatus(now, prev, fleet.takeLatencyWindow());
      prev = now;
      if (tty) {
        // Cut to the terminal's width so the line never wraps (a wrapped line cannot be rewritten).
        const width = out.columns ?? 120;
        if (line.length >= width) line = line.slice(0, width - 1);
        out.write(`\r${line}\x1b[K`);
      } else {
        out.write(`${new Date(now.time).toISOString()} ${line}\n`);
      }
    },
    tty ? 1_000 : intervalMs,
  );
  return {
    stop() {
      clearInterval(timer);
      if (tty) out.write('\r\x1b[K');
    },
  };
}
