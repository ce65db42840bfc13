// One message the hub publishes, rendered per destination: the embedded broker
// sees the hub's topics as they are, a bridge puts its own prefix in front. The
// payload is built on first use, off the bus handler that produced the message,
// and once for every destination.

import type { TopicClass } from './qos.js';

/**
 * How a message travels. `state` is retained (status, twins, discovery): the newest
 * value per topic wins and is never dropped. `control` (command statuses) and
 * `stream` (telemetry, events) are queued in order and dropped oldest-first when a
 * destination falls behind, stream before control.
 */
export type Lane = 'state' | 'control' | 'stream';

export interface Rendered {
  topic: string;
  payload: Buffer;
}

export interface OutMessage {
  /** The topic on the embedded broker; retained state is kept under it. */
  readonly key: string;
  readonly lane: Lane;
  /** Which class of topic it is, for the QoS it is published at (--mqtt-qos); by lane when absent. */
  readonly kind?: TopicClass;
  /** A retained message with an empty payload: clears the topic (a deleted device). */
  readonly tombstone: boolean;
  /**
   * An event of another node of a cluster: that node published it to the brokers
   * already (through Redis); only the leader's bridges still need it (index.ts).
   */
  readonly remote?: boolean;
  /** Topic and payload for a destination whose topics begin with `bridgePrefix` ('' for the embedded broker). */
  render(bridgePrefix: string): Rendered;
}

const EMPTY = Buffer.alloc(0);

/** A message whose payload does not depend on the destination. */
export function outMessage(topic: string, lane: Lane, payload: Buffer | (() => Buffer), kind?: TopicClass): OutMessage {
  let bytes = typeof payload === 'function' ? undefined : payload;
  const get = () => {
    bytes ??= (payload as () => Buffer)();
    return bytes;
  };
  return {
    key: topic,
    lane,
    ...(kind === undefined ? {} : { kind }),
    tombstone: lane === 'state' && bytes !== undefined && bytes.length === 0,
    render: (bridgePrefix) => ({ topic: bridgePrefix + topic, payload: get() }),
  };
}

/** Clears a retained topic everywhere. */
export function tombstone(topic: string): OutMessage {
  return outMessage(topic, 'state', EMPTY);
}

/** The class a message is published as: its own, or its lane's (state: status, control: command, stream: telemetry). */
export function classOf(m: OutMessage): TopicClass {
  return m.kind ?? (m.lane === 'state' ? 'status' : m.lane === 'control' ? 'command' : 'telemetry');
}
