import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FleetStats } from '../engine/stats.js';
import { formatStatus } from './status-line.js';
import { formatSummary, summarise } from './summary.js';

test('the status line shows every live figure, latency from the histogram', () => {
  const stats = new FleetStats(3);
  stats.move('idle', 'online');
  stats.move('idle', 'online');
  stats.move('idle', 'stopped');
  const before = stats.snapshot();
  stats.counters.telemetry += 20;
  stats.counters.acked += 17;
  stats.counters.reconnects = 4;
  stats.counters.commands.succeeded = 2;
  stats.pending = 3;
  for (let i = 1; i <= 100; i++) stats.recordLatency(i / 10); // 0.1 .. 10 ms
  const now = { ...stats.snapshot(), time: before.time + 2_000 };
  const line = formatStatus(now, before, stats.takeWindow());
  for (const part of [
    'online 2/3',
    'offline 0',
    'stopped 1',
    'telemetry 10.0/s',
    'acked 17',
    'pending 3',
    'commands 2',
    'reconnects 4',
    'ack p50 5.0ms p99 9.9ms',
  ]) {
    assert.ok(line.includes(part), `${part} in ${line}`);
  }
  assert.equal(stats.takeWindow().count, 0, 'the window restarts');
  assert.equal(stats.snapshot().ackLatency.count, 100, 'the total keeps everything');
});

test('the summary carries rates and hints for the usual load-test failures', () => {
  const stats = new FleetStats(2);
  stats.counters.errors.EMFILE = 3;
  stats.counters.stopReasons.unauthorized = 1;
  const s = summarise({ ...stats.snapshot(), elapsedMs: 10_000, telemetry: 50 });
  assert.equal(s.telemetryPerSec, 5);
  assert.equal(s.hints.length, 2);
  const text = formatSummary(s);
  assert.match(text, /ulimit -n/);
  assert.match(text, /telemetry 50 \(5\/s/);
  assert.doesNotThrow(() => JSON.parse(JSON.stringify(s)));
});
