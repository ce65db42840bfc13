// The QoS the hub publishes each class of its topics at (README.md § MQTT,
// --mqtt-qos). A subscriber receives min(publish QoS, subscription QoS)
// ([MQTT-3.8.4-6]); only QoS 1 messages are queued for persistent sessions while
// their client is away, so a class at QoS 0 is live-only.

/** The classes of topics the hub publishes. */
export const TOPIC_CLASSES = ['telemetry', 'events', 'status', 'twin', 'command'] as const;
export type TopicClass = (typeof TOPIC_CLASSES)[number];

export type PublishQos = 0 | 1;
export type QosByClass = Readonly<Record<TopicClass, PublishQos>>;

/**
 * Parses `--mqtt-qos`: a bare `0` or `1` sets every class, `class=q` one class,
 * comma-separated, later items winning (`1,telemetry=0`). Returns an error
 * message for anything else. QoS 2 is not offered: the hub's messages are
 * idempotent state or carry their own ids, and QoS 2 would double the packets.
 */
export function parseQos(raw: string): QosByClass | string {
  const out: Record<TopicClass, PublishQos> = { telemetry: 1, events: 1, status: 1, twin: 1, command: 1 };
  const items = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (items.length === 0) return 'must be 0, 1 or class=qos items (telemetry, events, status, twin, command)';
  for (const item of items) {
    const m = /^(?:([a-z]+)=)?([01])$/.exec(item);
    if (m === null) return `"${item}" is not 0, 1 or class=0|1`;
    const q = Number(m[2]) as PublishQos;
    const cls = m[1];
    if (cls === undefined) {
      for (const c of TOPIC_CLASSES) out[c] = q;
    } else if ((TOPIC_CLASSES as readonly string[]).includes(cls)) {
      out[cls as TopicClass] = q;
    } else return `unknown topic class "${cls}" (expected ${TOPIC_CLASSES.join(', ')})`;
  }
  return Object.freeze(out);
}
