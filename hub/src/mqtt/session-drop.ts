// Ending a persistent session held by another node of the cluster (README.md §
// Running a cluster): an admin's DELETE …/sessions/:clientId reaches any node, and
// only the holder can close the session's connection and forget what it keeps in
// memory. The node asks the holder on `$halyard/session/drop` (a topic no client can
// subscribe to) and, for an admin's drop, waits for its answer; sessions ended by
// --mqtt-max-sessions on another node are already deleted in PostgreSQL, and the
// holder is only told to forget them (no answer).

import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { ClusterEmitter } from './cluster-emitter.js';
import type { SessionEnd } from './session-expiry.js';

/** ms an admin's drop waits for the holder's answer. */
export const DROP_WAIT_MS = 2_000;

const ASK_TOPIC = '$halyard/session/drop';
const answerTopic = (node: string) => `$halyard/session/dropped/${node}`;

const askShape = z.object({
  id: z.string().max(64),
  clientId: z.string().max(256),
  node: z.string().max(64),
  holder: z.string().max(64),
  why: z.enum(['dropped_by_admin', 'too_many']),
});
const answerShape = z.object({ id: z.string().max(64), dropped: z.boolean() });

type Packet = Parameters<Parameters<ClusterEmitter['on']>[1]>[0];

export class RemoteDrops {
  private readonly waiting = new Map<string, (dropped: boolean) => void>();

  constructor(
    private readonly mq: ClusterEmitter,
    private readonly node: string,
    /** Ends a session this node holds (scoped client id); false when it holds none by that id. */
    private readonly drop: (clientId: string, why: SessionEnd) => Promise<boolean>,
    private readonly failed: (err: unknown) => void,
  ) {
    mq.on(ASK_TOPIC, this.asked);
    mq.on(answerTopic(node), this.answered);
  }

  /** Asks `holder` to end the session: true when it did, false when it had none, undefined after DROP_WAIT_MS. */
  ask(clientId: string, holder: string): Promise<boolean | undefined> {
    const id = randomUUID();
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(undefined), DROP_WAIT_MS);
      const done = (dropped: boolean | undefined) => {
        clearTimeout(timer);
        this.waiting.delete(id);
        resolve(dropped);
      };
      this.waiting.set(id, done);
      this.emit(ASK_TOPIC, { id, clientId, node: this.node, holder, why: 'dropped_by_admin' }, () => done(undefined));
    });
  }

  /** Tells `holder` to forget a session ended in PostgreSQL by the bound on sessions. */
  evicted(clientId: string, holder: string): void {
    this.emit(ASK_TOPIC, { id: randomUUID(), clientId, node: this.node, holder, why: 'too_many' });
  }

  close(): void {
    this.mq.removeListener(ASK_TOPIC, this.asked);
    this.mq.removeListener(answerTopic(this.node), this.answered);
  }

  private emit(topic: string, body: unknown, failed?: () => void): void {
    const packet = { cmd: 'publish', topic, payload: Buffer.from(JSON.stringify(body)), qos: 0, retain: false, dup: false };
    this.mq.emit(packet as Packet, (err) => {
      if (!err) return;
      this.failed(err);
      failed?.();
    });
  }

  private readonly asked = (packet: Packet, done: () => void): void => {
    done();
    const parsed = parse(askShape, packet);
    if (!parsed.success) {
      this.failed(new Error(`a session drop request failed its checks: ${parsed.error.issues[0]?.message}`));
      return;
    }
    const { id, clientId, node, holder, why } = parsed.data;
    if (holder !== this.node) return;
    this.drop(clientId, why).then(
      (dropped) => {
        if (why === 'dropped_by_admin') this.emit(answerTopic(node), { id, dropped });
      },
      (err: unknown) => this.failed(err),
    );
  };

  private readonly answered = (packet: Packet, done: () => void): void => {
    done();
    const parsed = parse(answerShape, packet);
    if (!parsed.success) {
      this.failed(new Error(`a session drop answer failed its checks: ${parsed.error.issues[0]?.message}`));
      return;
    }
    this.waiting.get(parsed.data.id)?.(parsed.data.dropped);
  };
}

/** The packet's JSON checked against `shape` (not JSON: checked as undefined, and so refused). */
function parse<T extends z.ZodType>(shape: T, packet: Packet): z.ZodSafeParseResult<z.infer<T>> {
  const text = Buffer.isBuffer(packet.payload) ? packet.payload.toString('utf8') : String(packet.payload);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return shape.safeParse(body) as z.ZodSafeParseResult<z.infer<T>>;
}
