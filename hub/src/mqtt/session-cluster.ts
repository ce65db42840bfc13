// Persistent MQTT sessions across the nodes of a cluster (README.md § Running a
// cluster): they live in PostgreSQL (session-pg.ts), and one node at a time holds
// each, delivers to it and queues for it. This node
// - beats its heartbeat every HEARTBEAT_MS, and adopts the sessions of nodes whose
//   heartbeat lapsed (killed, host gone, stopped), so that what is published while
//   their node is dead is still queued for them;
// - brings a returning client's session here when it connects: taken at once from
//   a dead holder, or handed over by a live one (SessionHandover);
// - gives up the sessions another node took while this one could not beat
//   (cut off from PostgreSQL longer than NODE_TTL_MS): their clients reconnect and
//   find them where they are now.

import type { Logger } from '../log.js';
import { type ClusterEmitter, HANDOVER_WAIT_MS, SessionHandover } from './cluster-emitter.js';
import type { LoadedSession, StoredSession } from './session-journal.js';
import { HEARTBEAT_MS, NODE_TTL_MS, type PgSessionDb } from './session-pg.js';
import type { SessionStore } from './session-store.js';

export { HEARTBEAT_MS, NODE_TTL_MS };

/** ms between two tries to bring a session here that its holder said it does not have (yet). */
const RETRY_MS = 250;

/** What this needs of the broker. */
export interface SessionHost {
  readonly store: SessionStore;
  /** A session now held here whose client is away: its expiry runs, and other nodes' messages are queued for it. */
  waiting(s: StoredSession & { leftAt: number }): void;
  /** The session's client, if connected here, is disconnected, and nothing more is queued or expired for it here. */
  release(clientId: string): Promise<void>;
  /** The session is being brought here: what is published for it meanwhile is kept (RemoteFeed.catchFor). */
  catchFor(clientId: string, subscriptions: readonly { topic: string; qos: number }[]): void;
  /** It is here: what was kept is queued. */
  arrived(clientId: string): void;
  /** It did not come here: nothing is kept for it any more. */
  notComing(clientId: string): void;
}

export class ClusterSessions {
  private readonly handover: SessionHandover;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** The look for orphaned sessions under way: a handover waits for it (it may be bringing that session in). */
  private adopting: Promise<void> = Promise.resolve();
  private lastError = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly db: PgSessionDb,
    private readonly host: SessionHost,
    mq: ClusterEmitter,
    private readonly log: Logger,
  ) {
    this.handover = new SessionHandover(mq, db.node, { give: (clientId, to) => this.give(clientId, to) }, (err) =>
      log.error({ err }, 'mqtt: a session handover failed'),
    );
  }

  /** Starts the heartbeat and the look for orphaned sessions (the first at once). */
  start(): void {
    const tick = () => {
      this.timer = undefined;
      this.adopting = this.tick();
      this.adopting.finally(() => {
        if (!this.stopped) {
          this.timer = setTimeout(tick, HEARTBEAT_MS);
          this.timer.unref();
        }
      });
    };
    tick();
  }

  /** Stops beating; the journal's close ends the heartbeat in the database. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    await this.adopting;
  }

  /**
   * Brings the session of a client connecting here to this node, if one exists;
   * resolves once it is here (or known not to be). A holder that does not answer
   * may have died: its heartbeat lapses within NODE_TTL_MS, and the session is
   * taken then, so the client's CONNACK waits for it (at most about NODE_TTL_MS +
   * 2 * HANDOVER_WAIT_MS) rather than the client starting without it. For a client
   * that keeps its session (`keep`: clean=false), what is published for it while
   * it is on its way is caught and queued once it is here; its holder stopped
   * queueing when it let go.
   */
  async bringHere(clientId: string, keep = true): Promise<void> {
    if (keep) this.host.catchFor(clientId, await this.db.subscriptionsOf(clientId));
    let here = false;
    try {
      here = await this.fetch(clientId);
    } finally {
      if (here && keep) this.host.arrived(clientId);
      else if (keep) this.host.notComing(clientId);
    }
  }

  /** bringHere's work: true once the session is here. */
  private async fetch(clientId: string): Promise<boolean> {
    const deadline = Date.now() + NODE_TTL_MS + 2 * HANDOVER_WAIT_MS;
    for (;;) {
      const r = await this.db.claim(clientId);
      if (r === 'none') return false;
      if ('taken' in r) {
        await this.host.store.adopt(r.taken);
        this.log.info(
          { client: clientId, queued: r.taken.queue.length },
          'mqtt session taken over from a node that is gone, for its returning client',
        );
        return true;
      }
      if (r.held === this.db.node) {
        // Being adopted here right now (or left behind by this node's last run): here once that is done.
        await this.adopting;
        if (this.host.store.hasSession(clientId)) return true;
        const mine = await this.db.received(clientId);
        if (mine !== undefined) await this.host.store.adopt(mine);
        return mine !== undefined;
      }
      const given = await this.handover.want(clientId, r.held);
      const s = given === true ? await this.db.received(clientId) : undefined;
      if (s !== undefined) {
        await this.host.store.adopt(s);
        this.log.info({ client: clientId, from: r.held, queued: s.queue.length }, 'mqtt session moved here from the node that held it');
        return true;
      }
      if (Date.now() > deadline) {
        this.log.warn(
          { client: clientId, holder: r.held },
          'mqtt session held by a node that neither hands it over nor lapses: the client starts without it',
        );
        return false;
      }
      // No answer (the holder died: its heartbeat lapses soon) or not there yet: again in a moment.
      if (given !== undefined) await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
  }

  private async give(clientId: string, to: string): Promise<boolean> {
    await this.adopting;
    await this.host.release(clientId);
    const given = await this.db.give(clientId, to);
    await this.host.store.letGo(clientId);
    if (given) this.log.info({ client: clientId, to }, 'mqtt session handed over to the node its client came back to');
    return given;
  }

  private async tick(): Promise<void> {
    try {
      if (await this.db.heartbeat()) await this.dropLost();
      const adopted = await this.db.adoptOrphans();
      if (adopted.length > 0) await this.takeIn(adopted);
    } catch (err) {
      if (Date.now() - this.lastError < 60_000) return;
      this.lastError = Date.now();
      this.log.error({ err }, 'mqtt: could not reach PostgreSQL for the persistent sessions; tried again every second');
    }
  }

  private async takeIn(adopted: LoadedSession[]): Promise<void> {
    let queued = 0;
    for (const s of adopted) {
      queued += s.queue.length;
      this.host.waiting(await this.host.store.adopt(s));
    }
    this.log.info(
      { sessions: adopted.length, queued },
      'mqtt: adopted the persistent sessions of a node that stopped or died; they queue here until their clients return',
    );
  }

  /** This node's heartbeat had lapsed: the sessions another node adopted meanwhile are its now. */
  private async dropLost(): Promise<void> {
    const held = await this.db.held();
    const lost = this.host.store
      .sessionList()
      .map((s) => s.clientId)
      .filter((id) => !held.has(id));
    for (const clientId of lost) {
      await this.host.release(clientId);
      await this.host.store.letGo(clientId);
      this.db.forgetLocal(clientId);
    }
    if (lost.length > 0) {
      this.log.warn(
        { sessions: lost.length, ttlMs: NODE_TTL_MS },
        'mqtt: this node could not beat its heartbeat and other nodes took its persistent sessions; their clients reconnect to them',
      );
    }
  }
}
