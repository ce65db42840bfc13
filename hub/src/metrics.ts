// Prometheus metrics (prom-client), one registry per hub so tests can run several.

import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { LatencyWindow } from './latency-window.js';

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'halyard_process_', eventLoopMonitoringPrecision: 10 });
  const m = {
    registry,
    /** Recent ACK latencies in ms, for the console's p50/p99. */
    ackWindow: new LatencyWindow(),
    devicesConnected: new Gauge({ name: 'halyard_devices_connected', help: 'Device sessions past HELLO', registers: [registry] }),
    alarmsActive: new Gauge({
      name: 'halyard_alarms_active',
      help: 'Alarms not cleared (active or acknowledged), by severity',
      labelNames: ['severity'],
      registers: [registry],
    }),
    alarmsRaised: new Counter({
      name: 'halyard_alarms_raised_total',
      help: 'Alarms raised by this node, by severity',
      labelNames: ['severity'],
      registers: [registry],
    }),
    alarmFlaps: new Counter({
      name: 'halyard_alarm_flaps_total',
      help: "Alarm conditions that ended before the rule's minDuration (the clear was held back)",
      registers: [registry],
    }),
    webhookDeliveries: new Counter({
      name: 'halyard_webhook_attempts_total',
      help: 'Webhook delivery attempts by this node, by result (delivered, retry, failed: retry time over)',
      labelNames: ['result'],
      registers: [registry],
    }),
    webhookDropped: new Counter({
      name: 'halyard_webhook_dropped_total',
      help: 'Webhook deliveries dropped before they were queued, by reason (buffer_full, queue_full, store_failed)',
      labelNames: ['reason'],
      registers: [registry],
    }),
    webhookPending: new Gauge({
      name: 'halyard_webhook_pending',
      help: 'Webhook deliveries waiting to be sent or retried, by webhook (reported by the sending node)',
      labelNames: ['webhook'],
      registers: [registry],
    }),
    devicesKnown: new Gauge({ name: 'halyard_devices_known', help: 'Provisioned devices', registers: [registry] }),
    framesIn: new Counter({
      name: 'halyard_frames_in_total',
      help: 'Device messages received, by type',
      labelNames: ['type'],
      registers: [registry],
    }),
    framesOut: new Counter({
      name: 'halyard_frames_out_total',
      help: 'Messages sent to devices, by type',
      labelNames: ['type'],
      registers: [registry],
    }),
    bytesIn: new Counter({ name: 'halyard_bytes_in_total', help: 'Bytes of device messages received', registers: [registry] }),
    bytesOut: new Counter({ name: 'halyard_bytes_out_total', help: 'Bytes of messages sent to devices', registers: [registry] }),
    duplicates: new Counter({
      name: 'halyard_frames_duplicate_total',
      help: 'Uplink frames with an old sequence number (acked, not stored)',
      registers: [registry],
    }),
    rejected: new Counter({
      name: 'halyard_frames_rejected_total',
      help: 'Sessions ended for a bad frame or a breached limit, by reason',
      labelNames: ['reason'],
      registers: [registry],
    }),
    upgradesRejected: new Counter({
      name: 'halyard_upgrades_rejected_total',
      help: 'Device upgrades refused, by HTTP status',
      labelNames: ['status'],
      registers: [registry],
    }),
    throttled: new Counter({
      name: 'halyard_device_throttled_total',
      help: 'Times a device was throttled for exceeding --device-rate',
      registers: [registry],
    }),
    ackLatency: new Histogram({
      name: 'halyard_ack_latency_seconds',
      help: 'From receiving an uplink frame to sending its ACK',
      buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    batchFrames: new Histogram({
      name: 'halyard_commit_batch_frames',
      help: 'Frames per group commit',
      buckets: [1, 2, 5, 10, 50, 100, 500, 1000, 5000, 20000],
      registers: [registry],
    }),
    storeBacklog: new Gauge({ name: 'halyard_store_backlog_frames', help: 'Frames accepted but not yet committed', registers: [registry] }),
    storePauses: new Counter({
      name: 'halyard_store_pauses_total',
      help: 'Times device reads were paused because the store backlog was high',
      registers: [registry],
    }),
    storeFailures: new Counter({ name: 'halyard_store_failures_total', help: 'Failed commits', registers: [registry] }),
    telemetryPoints: new Counter({ name: 'halyard_telemetry_points_total', help: 'Telemetry points committed', registers: [registry] }),
    telemetryQuarantined: new Counter({
      name: 'halyard_telemetry_quarantined_total',
      help: 'Logged frames (kind=frame) or series of a generation (kind=series) compaction could not store and set aside',
      labelNames: ['kind'],
      registers: [registry],
    }),
    seriesRefused: new Counter({
      name: 'halyard_telemetry_series_refused_total',
      help: 'TELEMETRY frames refused because they would take their device past --max-series-per-device',
      registers: [registry],
    }),
    storeUp: new Gauge({
      name: 'halyard_store_up',
      help: "1 while the store's database server answers, 0 while it is unreachable (SQLite: always 1)",
      labelNames: ['engine'],
      registers: [registry],
    }),
    storeOutages: new Counter({
      name: 'halyard_store_outages_total',
      help: "Times the store's database server became unreachable",
      labelNames: ['engine'],
      registers: [registry],
    }),
    storeOpsRefused: new Counter({
      name: 'halyard_store_ops_refused_total',
      help: "Writes (named store operations) refused at once because the store's queue of writes was full (PostgreSQL)",
      labelNames: ['op'],
      registers: [registry],
    }),
    storeDownSeconds: new Counter({
      name: 'halyard_store_down_seconds_total',
      help: "Seconds the store's database server was unreachable, counted when it answers again",
      labelNames: ['engine'],
      registers: [registry],
    }),
    maintenanceFailures: new Counter({
      name: 'halyard_store_maintenance_failures_total',
      help: 'Failed background storage steps (compaction, merging, retention)',
      registers: [registry],
    }),
    // Firmware updates (docs/firmware.md); CHUNK messages are also in halyard_frames_out_total{type="CHUNK"}.
    firmwareBytesServed: new Counter({
      name: 'halyard_firmware_bytes_served_total',
      help: 'Firmware image bytes sent to devices in CHUNK messages',
      registers: [registry],
    }),
    updatesFinished: new Counter({
      name: 'halyard_updates_finished_total',
      help: 'Firmware updates that reached a final state on this hub, by state (SPEC.md §12.5)',
      labelNames: ['state'],
      registers: [registry],
    }),
  };
  return { ...m, framesInOf: childrenOf(m.framesIn), framesOutOf: childrenOf(m.framesOut) };
}

/**
 * A one-label counter's children, each looked up once: prom-client hashes the
 * labels object on every labelled inc(), which showed in profiles of the ACK path.
 */
function childrenOf(counter: Counter<string>): (value: string) => Counter.Internal {
  const children = new Map<string, Counter.Internal>();
  return (value) => {
    let c = children.get(value);
    if (c === undefined) {
      c = counter.labels(value);
      children.set(value, c);
    }
    return c;
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
