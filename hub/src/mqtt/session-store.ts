// The embedded broker's session state: aedes's in-memory persistence, with the
// receive side of QoS 2 bounded. aedes keeps every QoS 2 PUBLISH until its PUBREL
// arrives, payload included, per client id and past the connection for clean=false
// sessions; a client that never sends PUBREL could make the hub hold gigabytes.
// Here a request is carried out when it arrives (authorizePublish), so what stays
// behind only has to answer a retransmission ([MQTT-4.3.3-2]): the packet id, no
// payload, a bounded number per client id and in total, forgotten when the session
// ends or expires.

import { createRequire } from 'node:module';
import type { Client } from 'aedes';
import type MemoryPersistenceType from 'aedes-persistence/types/asyncPersistence.js';

// aedes-persistence is CommonJS and ships its types apart from the code.
const MemoryPersistence = createRequire(import.meta.url)('aedes-persistence/asyncPersistence.js') as typeof MemoryPersistenceType;
type AedesPacket = Parameters<MemoryPersistenceType['incomingStorePacket']>[1];

export interface InflightLimits {
  /** QoS 2 publishes awaiting PUBREL per client id. */
  perClient: number;
  /** QoS 2 publishes awaiting PUBREL across all client ids. */
  total: number;
}

/**
 * What to do with an incoming QoS 2 PUBLISH: carry it out (`new`), answer it
 * without carrying it out again (`duplicate`, a retransmission), or refuse it.
 */
export type Admission = 'new' | 'duplicate' | 'client_full' | 'total_full';

/**
 * Estimated bytes one remembered packet costs (the stored packet without payload
 * and the map entries); the total count bounds the memory at about this much each.
 */
export const INFLIGHT_ENTRY_BYTES = 300;

const EMPTY = Buffer.alloc(0);

export class SessionStore extends MemoryPersistence {
  /** Client id -> packet ids admitted and not yet released. */
  private readonly inflight = new Map<string, Set<number>>();
  private inflightCount = 0;

  constructor(private readonly limits: InflightLimits) {
    super();
  }

  /**
   * Decides on a QoS 2 PUBLISH before the hub carries it out, and reserves its slot
   * at once: a socket read's packets are authorized concurrently, so a check that
   * waited for the store would let them all through.
   */
  admit(clientId: string, messageId: number): Admission {
    let mine = this.inflight.get(clientId);
    if (mine?.has(messageId)) return 'duplicate';
    if ((mine?.size ?? 0) >= this.limits.perClient) return 'client_full';
    if (this.inflightCount >= this.limits.total) return 'total_full';
    if (mine === undefined) {
      mine = new Set();
      this.inflight.set(clientId, mine);
    }
    mine.add(messageId);
    this.inflightCount++;
    return 'new';
  }

  /** QoS 2 publishes awaiting PUBREL, in total. */
  get pending(): number {
    return this.inflightCount;
  }

  /** QoS 2 publishes awaiting PUBREL from one client id. */
  pendingOf(clientId: string): number {
    return this.inflight.get(clientId)?.size ?? 0;
  }

  override async incomingStorePacket(client: Client, packet: AedesPacket): Promise<void> {
    // The hub has already carried the request out; only the packet id matters now.
    await super.incomingStorePacket(client, { ...packet, payload: EMPTY } as AedesPacket);
  }

  override async incomingDelPacket(client: Client, packet: AedesPacket): Promise<void> {
    try {
      await super.incomingDelPacket(client, packet);
    } finally {
      this.release(client.id, packet.messageId);
    }
  }

  override async cleanIncoming(client: Client): Promise<void> {
    await super.cleanIncoming(client);
    this.releaseAll(client.id);
  }

  /**
   * Forgets everything about a client id whose session ended without it: its
   * subscriptions, its unreleased QoS 2 packets and its will. Returns how many
   * unreleased packets were forgotten.
   */
  async endSession(clientId: string): Promise<number> {
    const forgotten = this.pendingOf(clientId);
    const client = { id: clientId } as Client;
    await this.cleanSubscriptions(client);
    await this.cleanIncoming(client);
    await this.delWill(client);
    return forgotten;
  }

  private release(clientId: string, messageId: number | undefined): void {
    const mine = this.inflight.get(clientId);
    if (mine === undefined || messageId === undefined || !mine.delete(messageId)) return;
    this.inflightCount--;
    if (mine.size === 0) this.inflight.delete(clientId);
  }

  private releaseAll(clientId: string): void {
    const mine = this.inflight.get(clientId);
    if (mine === undefined) return;
    this.inflightCount -= mine.size;
    this.inflight.delete(clientId);
  }
}
