// The final summary: a short human report, or the whole snapshot as JSON (--json), with
// hints for the failures people meet first when loading a hub from one machine.

import type { StatsSnapshot } from '../engine/stats.js';

export interface Summary extends StatsSnapshot {
  /** Telemetry messages per second over the whole run. */
  telemetryPerSec: number;
  recordsPerSec: number;
  hints: string[];
}

function hintsFor(s: StatsSnapshot): string[] {
  const hints: string[] = [];
  if ((s.errors.EMFILE ?? 0) > 0 || (s.errors.ENFILE ?? 0) > 0)
    hints.push('out of file descriptors: raise the limit (ulimit -n 65536) before starting');
  if ((s.errors.EADDRNOTAVAIL ?? 0) > 0) hints.push('out of local ports: spread connections with --source-addresses 8 (127.0.0.1-8)');
  if ((s.errors.ECONNREFUSED ?? 0) > 0 && s.sessions === 0) hints.push('the hub refused every connection: is it running at --hub?');
  if ((s.stopReasons.unauthorized ?? 0) > 0)
    hints.push('devices were refused (401): their tokens are not valid on this hub; use --provision');
  if ((s.stopReasons.revoked ?? 0) > 0) hints.push('devices were revoked (403/4403) and stopped, as they must');
  if (s.dropped > 0) hints.push(`${s.dropped} messages were dropped from full offline buffers (--buffer)`);
  return hints;
}

export function summarise(s: StatsSnapshot): Summary {
  const seconds = s.elapsedMs / 1_000;
  return {
    ...s,
    telemetryPerSec: seconds > 0 ? Math.round((s.telemetry / seconds) * 10) / 10 : 0,
    recordsPerSec: seconds > 0 ? Math.round((s.records / seconds) * 10) / 10 : 0,
    hints: hintsFor(s),
  };
}

function table(t: Record<string, number>): string {
  const entries = Object.entries(t);
  return entries.length === 0 ? 'none' : entries.map(([k, v]) => `${k} x${v}`).join(', ');
}

export function formatSummary(s: Summary): string {
  const c = s.commands;
  const l = s.ackLatency;
  const chaos = s.chaos;
  const lines = [
    `halyard-sim: ${s.devices} devices for ${(s.elapsedMs / 1_000).toFixed(1)}s`,
    `  sessions    ${s.sessions} (reconnects ${s.reconnects}); at the end: online ${s.states.online}, stopped ${s.states.stopped}`,
    `  uplink      telemetry ${s.telemetry} (${s.telemetryPerSec}/s, ${s.records} records), events ${s.events}, reported ${s.reported}`,
    `  delivery    acked ${s.acked}, resent ${s.resent}, pending ${s.pending}, dropped ${s.dropped}, refused ${s.refused}, lost ${s.lost}`,
    `  ack latency p50 ${l.p50}ms, p90 ${l.p90}ms, p99 ${l.p99}ms, max ${l.max}ms (${l.count} acks)`,
    `  commands    received ${c.received}: succeeded ${c.succeeded}, failed ${c.failed}, rejected ${c.rejected}, repeats ${c.duplicates}; desired applied ${s.desiredApplied}`,
    `  closes      ${table(s.closes)}; upgrade refusals ${table(s.upgradeFailures)}`,
    `  errors      ${table(s.errors)}`,
  ];
  if (chaos.disconnects + chaos.silences + chaos.malformed + chaos.storms + chaos.slowDevices + chaos.skewedDevices > 0) {
    lines.push(
      `  chaos       disconnects ${chaos.disconnects}, silences ${chaos.silences}, malformed ${chaos.malformed}, storms ${chaos.storms}, slow devices ${chaos.slowDevices}, skewed clocks ${chaos.skewedDevices}`,
    );
  }
  for (const h of s.hints) lines.push(`  hint: ${h}`);
  return lines.join('\n');
}
