// Every node's connected MQTT clients, known to every node (README.md § Running a
// cluster): for GET /api/v1/integrators through any node, and for
// --mqtt-account-conns counted across the cluster. Each node sends its list, per
// account, through Redis (on `$halyard/clients`, a topic no client can subscribe
// to) CLIENTS_SETTLE_MS after a client comes or goes and every CLIENTS_REPORT_MS
// anyway; every node keeps the last list of each, for CLIENTS_STALE_MS. A request
// never waits for a node: it shows what the lists say, and a node that sent none
// lately is named as missing. Lists are hints (Redis is shared infrastructure, not
// the truth): checked before they are kept.

import { z } from 'zod';
import type { ClusterEmitter } from './cluster-emitter.js';

/** ms after a client comes or goes before this node's list goes out (changes in between go together). */
export const CLIENTS_SETTLE_MS = 50;
/** ms between two lists from a node when nothing changes. */
export const CLIENTS_REPORT_MS = 1_000;
/** ms a node's last list counts: past it, the node is missing (stopped, dead, or cut off from Redis). */
export const CLIENTS_STALE_MS = 3_000;

const TOPIC = '$halyard/clients';
/** Client ids a list may hold (a node's listeners take 1,000 connections by default). */
const MAX_LISTED = 100_000;

const listShape = z.object({
  node: z.string().min(1).max(64),
  /** account -> client ids as the clients sent them. */
  accounts: z.record(z.string().max(64), z.array(z.string().max(256)).max(MAX_LISTED)),
});

export type ClientList = z.infer<typeof listShape>['accounts'];

export class ClusterClients {
  private readonly lists = new Map<string, { at: number; accounts: ClientList }>();
  private settle: NodeJS.Timeout | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly mq: ClusterEmitter,
    /** This node's id. */
    readonly node: string,
    /** This node's connected clients now, per account. */
    private readonly own: () => ClientList,
    private readonly failed: (err: unknown) => void,
  ) {
    mq.on(TOPIC, this.heard);
    this.timer = setInterval(() => this.send(), CLIENTS_REPORT_MS);
    this.timer.unref();
    this.send();
  }

  /** A client came or went here: the list goes out shortly. */
  changed(): void {
    if (this.settle !== undefined) return;
    this.settle = setTimeout(() => {
      this.settle = undefined;
      this.send();
    }, CLIENTS_SETTLE_MS);
    this.settle.unref();
  }

  /** Other nodes' current lists (this node's own is read directly). */
  others(): Map<string, ClientList> {
    const out = new Map<string, ClientList>();
    const now = Date.now();
    for (const [node, l] of this.lists) {
      if (now - l.at > CLIENTS_STALE_MS) this.lists.delete(node);
      else out.set(node, l.accounts);
    }
    return out;
  }

  /**
   * Connections of `account` on other nodes, as their lists say, but those of
   * `clientId`: a client taking its persistent session over from another node replaces that connection.
   */
  elsewhere(account: string, clientId: string | undefined): number {
    let n = 0;
    for (const accounts of this.others().values()) n += accounts[account]?.filter((id) => id !== clientId).length ?? 0;
    return n;
  }

  /** Stops; the other nodes hear this node has no clients any more (a stop, not a crash: they need not wait for its list to lapse). */
  close(): void {
    clearInterval(this.timer);
    if (this.settle !== undefined) clearTimeout(this.settle);
    this.mq.removeListener(TOPIC, this.heard);
    this.send({});
  }

  private send(accounts: ClientList = this.own()): void {
    const body = { node: this.node, accounts };
    const packet = { cmd: 'publish', topic: TOPIC, payload: Buffer.from(JSON.stringify(body)), qos: 0, retain: false, dup: false };
    this.mq.emit(packet as Parameters<ClusterEmitter['emit']>[0], (err) => {
      if (err) this.failed(err);
    });
  }

  private readonly heard = (packet: Parameters<Parameters<ClusterEmitter['on']>[1]>[0], done: () => void): void => {
    done();
    try {
      const text = Buffer.isBuffer(packet.payload) ? packet.payload.toString('utf8') : String(packet.payload);
      const parsed = listShape.safeParse(JSON.parse(text));
      if (!parsed.success) throw new Error(`a node's MQTT client list failed its checks: ${parsed.error.issues[0]?.message}`);
      if (parsed.data.node !== this.node) this.lists.set(parsed.data.node, { at: Date.now(), accounts: parsed.data.accounts });
    } catch (err) {
      this.failed(err);
    }
  };
}
