// Prometheus metrics of the MQTT side, on the hub's registry: what was published,
// what was dropped and why, and how each bridge is doing.

import { Counter, Gauge, type Registry } from 'prom-client';

export interface MqttGauges {
  clients(): number;
  /** QoS 2 publishes awaiting PUBREL, all client ids. */
  inflight(): number;
  /** Connections that have not logged in yet. */
  pending(): number;
  /** Persistent sessions kept for clients that are not connected. */
  sessions(): number;
  /** Bytes queued for all persistent sessions. */
  sessionQueueBytes(): number;
  bridges(): { label: string; connected: boolean; queued: number }[];
}

/** Drop reasons counted per message and client: often enough that a counter's inc() (hashing its labels) showed in profiles. */
export type FrequentDrop = 'queue_full' | 'slow_subscriber' | 'offline_queue_full' | 'offline_queue_total';

export function createMqttMetrics(registry: Registry, gauges: MqttGauges) {
  const registers = [registry];
  /** Frequent drops counted since the counter was last read: added to it when it is read (/metrics). */
  const drops: Record<FrequentDrop, number> = { queue_full: 0, slow_subscriber: 0, offline_queue_full: 0, offline_queue_total: 0 };
  return {
    /** Counts one dropped message of a frequent reason (in halyard_mqtt_dropped_total). */
    countDrop(reason: FrequentDrop): void {
      drops[reason]++;
    },
    clients: new Gauge({
      name: 'halyard_mqtt_clients',
      help: 'Authenticated MQTT clients on the embedded broker',
      registers,
      collect() {
        this.set(gauges.clients());
      },
    }),
    published: new Counter({
      name: 'halyard_mqtt_published_total',
      help: 'Messages the hub published on the embedded broker, by lane (state, control, stream)',
      labelNames: ['lane'],
      registers,
    }),
    dropped: new Counter({
      name: 'halyard_mqtt_dropped_total',
      help: 'Messages not delivered or not carried out: queue_full (the hub published faster than the broker delivered), slow_subscriber (one client fell behind), offline_queue_full (the oldest QoS 1 message of a full persistent session queue), offline_queue_total (the oldest QoS 1 messages of the largest session queues, all sessions together over --mqtt-queue-total), inflight_limit (a QoS 2 request refused: too many awaiting PUBREL), session_ended (queued messages and unreleased QoS 2 packets of a session that ended without its client)',
      labelNames: ['reason'],
      registers,
      collect() {
        for (const reason of Object.keys(drops) as FrequentDrop[]) {
          if (drops[reason] === 0) continue;
          this.inc({ reason }, drops[reason]);
          drops[reason] = 0;
        }
      },
    }),
    queued: new Gauge({ name: 'halyard_mqtt_queued_messages', help: 'Messages waiting for the embedded broker', registers }),
    disconnects: new Counter({
      name: 'halyard_mqtt_disconnects_total',
      help: 'Clients the hub disconnected, by reason (forbidden, slow_subscriber, too_large, account_deleted, connect_timeout, too_many_pending, inflight_limit, session_dropped, too_many_sessions, too_many_connections)',
      labelNames: ['reason'],
      registers,
    }),
    pending: new Gauge({
      name: 'halyard_mqtt_pending_connections',
      help: 'MQTT connections that have not logged in yet (at most --mqtt-pending-per-ip per address)',
      registers,
      collect() {
        this.set(gauges.pending());
      },
    }),
    inflight: new Gauge({
      name: 'halyard_mqtt_inflight_messages',
      help: 'QoS 2 publishes received and awaiting PUBREL, all client ids (payloads are not kept)',
      registers,
      collect() {
        this.set(gauges.inflight());
      },
    }),
    sessions: new Gauge({
      name: 'halyard_mqtt_sessions_waiting',
      help: 'Persistent MQTT sessions kept for clients that are not connected, until they return or expire',
      registers,
      collect() {
        this.set(gauges.sessions());
      },
    }),
    sessionQueueBytes: new Gauge({
      name: 'halyard_mqtt_session_queue_bytes',
      help: 'Memory of the queues of all persistent MQTT sessions on this hub (topics, payloads and 350 B per message), at most --mqtt-queue-total',
      registers,
      collect() {
        this.set(gauges.sessionQueueBytes());
      },
    }),
    sessionsEnded: new Counter({
      name: 'halyard_mqtt_sessions_ended_total',
      help: 'Persistent MQTT sessions ended without their client, by reason: expired (not resumed within --mqtt-session-expiry), too_many (beyond --mqtt-max-sessions of its account), account_deleted, dropped_by_admin',
      labelNames: ['reason'],
      registers,
    }),
    authFailures: new Counter({ name: 'halyard_mqtt_auth_failures_total', help: 'Refused MQTT logins', registers }),
    requests: new Counter({
      name: 'halyard_mqtt_requests_total',
      help: 'Requests published to the hub over MQTT, by kind (command, desired) and outcome (accepted, rejected)',
      labelNames: ['kind', 'outcome'],
      registers,
    }),
    bridgeConnected: new Gauge({
      name: 'halyard_mqtt_bridge_connected',
      help: '1 while an outbound bridge is connected',
      labelNames: ['bridge'],
      registers,
      collect() {
        for (const b of gauges.bridges()) this.set({ bridge: b.label }, b.connected ? 1 : 0);
      },
    }),
    bridgeQueued: new Gauge({
      name: 'halyard_mqtt_bridge_queued_messages',
      help: 'Messages waiting for an outbound bridge (queued and unacknowledged)',
      labelNames: ['bridge'],
      registers,
      collect() {
        for (const b of gauges.bridges()) this.set({ bridge: b.label }, b.queued);
      },
    }),
    bridgeDropped: new Counter({
      name: 'halyard_mqtt_bridge_dropped_total',
      help: "Messages dropped from a bridge's full offline queue",
      labelNames: ['bridge'],
      registers,
    }),
    bridgeConnects: new Counter({
      name: 'halyard_mqtt_bridge_connects_total',
      help: 'Successful connections of an outbound bridge (the first and every reconnect)',
      labelNames: ['bridge'],
      registers,
    }),
  };
}

export type MqttMetrics = ReturnType<typeof createMqttMetrics>;
