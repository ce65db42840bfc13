// The embedded broker: aedes with the hub's rules. Integrators log in with their
// account; each client's ACL is checked on SUBSCRIBE and again on every delivery
// (live and retained: aedes's retained replay goes through authorizeForward, which
// closes aedes-cli#158); publishes are requests the hub consumes, never messages
// other clients see; and a client that cannot keep up loses messages (counted)
// rather than holding up anyone else. Client ids are scoped per account, so no
// account can take over, or lock out, another's session (SECURITY.md).

import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  Aedes,
  type AedesPublishPacket,
  type AuthenticateError,
  type Client,
  type ConnectPacket,
  type PublishPacket,
  type Subscription,
} from 'aedes';
import type { HubContext } from '../context.js';
import { HubError, HubErrorCode } from '../errors.js';
import type { LiveView } from '../integrators/service.js';
import { coalesceWrites } from '../net/coalesce-writes.js';
import { createPool, type Pool } from '../store/postgres/pool.js';
import type { Acl } from './acl.js';
import { accountAcl, authenticate } from './auth.js';
import { type ClientList, ClusterClients } from './cluster-clients.js';
import { type ClusterEmitter, clusterEmitter, RemoteFeed, replicateRetained } from './cluster-emitter.js';
import type { MqttMetrics } from './metrics.js';
import { guardPacketSize } from './packet-guard.js';
import { PendingLogins } from './pending-logins.js';
import { ClusterSessions } from './session-cluster.js';
import { SessionDb } from './session-db.js';
import { RemoteDrops } from './session-drop.js';
import { accountOf, type SessionEnd, SessionExpiry } from './session-expiry.js';
import { PgSessionDb } from './session-pg.js';
import { SessionAccounts } from './session-pg-accounts.js';
import { SessionStore } from './session-store.js';
import { filterError, MAX_TOPIC_LEVELS } from './topic-filter.js';
import type { Request, Topics } from './topics.js';

export const BROKER_LIMITS = {
  /**
   * mqemitter's limit on messages being delivered at once. aedes's default (100)
   * queues everything beyond it without bound and collapses to ~1k msgs/s under
   * load (docs/architecture.md § Measured facts); ours is far above what the embedded sink keeps in flight.
   */
  concurrency: 20_000,
  /**
   * Bytes waiting to be written to one client beyond which live messages to it are
   * dropped. 2 MiB is about 0.4 s of a 25k msgs/s telemetry stream: enough to ride
   * out a healthy subscriber's process being descheduled for a moment (256 KiB,
   * 45 ms of it, dropped half of such a stream on a busy 2-core machine).
   */
  subscriberBudget: 2 * 1024 * 1024,
  /** ms a client may leave its socket unwritable before aedes disconnects it; 0 would wait forever. */
  drainTimeout: 10_000,
  /** Subscriptions per client. */
  maxSubscriptions: 256,
  /**
   * Longest client id, characters, once scoped as `account:id`: a 64-character
   * username, the colon, and the 23 characters MQTT 3.1 allows. aedes applies it to
   * MQTT 3.1 clients only; their own id is held to 23 in `authenticate`.
   */
  maxScopedClientId: 64 + 1 + 23,
} as const;

/**
 * Largest packet a client may send, bytes. Publishes are requests, and a command or
 * desired-state patch bigger than a device frame (--max-frame) is refused anyway;
 * twice that leaves room for JSON being wordier than the frame's CBOR. Before
 * authentication this is all a peer can make the hub buffer per packet.
 */
export function maxPacketBytes(maxFrame: number): number {
  return 2 * maxFrame;
}

/**
 * Longest client id, characters, of any MQTT version: a persistent session is
 * dropped through DELETE /api/v1/integrators/:username/sessions/:clientId, which
 * takes ids up to this; a longer one made a session no admin could end.
 */
export const MAX_CLIENT_ID = 128;

/**
 * Client ids a URL path cannot carry: "." and ".." (or %2E%2E) are dot segments
 * that URL parsers remove, so the session's drop request never reached it.
 */
const UNADDRESSABLE_CLIENT_IDS: ReadonlySet<string> = new Set(['.', '..']);

/**
 * ms an admin's drop waits for the session to end and its end to be written; below
 * DROP_WAIT_MS, so a drop asked of another node is answered before its asker gives up.
 */
const END_WAIT_MS = 1_000;

/** Longest client id MQTT 3.1 servers must accept (MQTT 3.1 §3.1, CONNECT payload). */
const MQTT31_MAX_CLIENT_ID = 23;

/**
 * Requests are rewritten to this topic once the hub has taken them: nobody can
 * subscribe to `$` topics here, so they are neither forwarded nor (retain cleared)
 * stored, and aedes's offline queues for persistent sessions never see them.
 */
const CONSUMED_TOPIC = '$halyard/consumed';

interface Session {
  username: string;
  acl: Acl;
  /** Bytes written to the client's stream and not yet flushed. */
  backlog: () => number;
  subscriptions: Set<string>;
  /** The account was deleted: nothing more from this client, not even its will. */
  revoked: boolean;
}

/** Logs the cluster emitter's losses of Redis and calls `reconnected` after each reconnection (not the first connection). */
function watchEmitter(mq: ClusterEmitter, log: HubContext['log'], reconnected: () => void): void {
  let connects = 0;
  let down = false;
  mq.state.on('subConnect', () => {
    connects++;
    down = false;
    if (connects === 1) return;
    log.info("mqtt: the broker reaches the cluster's Redis again");
    reconnected();
  });
  // Without a listener an error event would end the process; ioredis reconnects by itself.
  mq.state.on('error', (err: Error) => {
    if (!down) log.warn({ err: err.message }, "mqtt: the broker lost the cluster's Redis; messages between nodes wait for it");
    down = true;
  });
}

export type RequestHandler = (req: Request, topic: string, payload: Buffer, actor: string) => Promise<void>;

function authError(returnCode: number, message: string): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
}

export class Broker {
  private readonly sessions = new WeakMap<Client, Session>();
  private readonly byUser = new Map<string, Set<Client>>();
  /** Accounts' ACLs, for what their persistent sessions may be queued (mayRead). An account's ACL never changes. */
  private readonly readers = new Map<string, Acl>();
  /** The ACLs of restored sessions' accounts being read (the broker is ready once they are). */
  private readonly learning: Promise<void>[] = [];
  private readonly streams = new WeakMap<Duplex, { ip: string; backlog: () => number; loggedIn: () => void }>();
  /** The client id each client sent, before it was scoped to its account. */
  private readonly ownIds = new WeakMap<Client, string>();
  /** Clients that connected with an empty id and a persistent session: refused at authentication ([MQTT-3.1.3-8]). */
  private readonly emptyPersistent = new WeakSet<Client>();
  private readonly pending: PendingLogins;
  readonly expiry: SessionExpiry;
  /** Sessions read back at start, for the cluster's feed (joinCluster). */
  private restoredSubs: { clientId: string; subscriptions: { topic: string; qos: number }[] }[] = [];
  /** Clients logged in and not yet registered (aedes's 'client'), by account: they count against its bounds. */
  private readonly joining = new Map<string, Set<Client>>();
  /** Connected clients whose session an admin dropped: it ends with the connection. */
  private readonly dropping = new Set<string>();
  /** Sessions an admin is ending: called once each has ended. */
  private readonly ending = new Map<string, () => void>();
  /** Called when the broker's link to the cluster's Redis is back after an outage. */
  private reconnected: () => void = () => {};
  /** In a cluster: queues other nodes' messages for the sessions waiting here. */
  private feed: RemoteFeed | undefined;
  /** In a cluster: the persistent sessions this node holds of those in PostgreSQL. */
  private shared: ClusterSessions | undefined;
  /** In a cluster: the connections to PostgreSQL the sessions use. */
  private pool: Pool | undefined;
  /** In a cluster: every node's connected clients (for the API and --mqtt-account-conns). */
  private roster: ClusterClients | undefined;
  /** In a cluster: sessions per account in PostgreSQL (for the API and --mqtt-max-sessions). */
  private accounts: SessionAccounts | undefined;
  /** In a cluster: drops of sessions other nodes hold. */
  private drops: RemoteDrops | undefined;
  /** In a cluster: whether a packet was published by this node's broker. */
  private own: (packet: AedesPublishPacket) => boolean = () => true;

  private constructor(
    readonly aedes: Aedes,
    readonly store: SessionStore,
    private readonly ctx: HubContext,
    private readonly topics: Topics,
    private readonly metrics: MqttMetrics,
    private readonly onRequest: RequestHandler,
  ) {
    this.pending = new PendingLogins(ctx.config.mqttPendingPerIp);
    this.expiry = new SessionExpiry(
      store,
      { ttlMs: ctx.config.mqttSessionExpiry, perAccount: ctx.config.mqttMaxSessions },
      (client, why, { unreleased, queued }) => {
        this.ending.get(client)?.();
        this.feed?.stop(client);
        this.metrics.sessionsEnded.inc({ reason: why });
        if (unreleased + queued > 0) this.metrics.dropped.inc({ reason: 'session_ended' }, unreleased + queued);
        this.ctx.log.info(
          { client, why, unreleased, queued },
          'mqtt session ended: its subscriptions, queued messages and unreleased QoS 2 packets are freed',
        );
      },
      (client, err) => {
        this.ending.get(client)?.();
        this.ctx.log.error({ client, err }, 'mqtt session could not be ended');
      },
    );
    // Sessions read back from disk wait for their clients as if they had just gone (keeping the time they went).
    for (const r of store.restored) {
      this.expiry.left(r.clientId, undefined, r.leftAt);
      this.learning.push(this.learnReader(r.clientId));
    }
    this.restoredSubs = store.restored;
    store.restored = [];
    aedes.on('client', (client) => {
      this.joined(client);
      this.expiry.resumed(client.id);
      this.feed?.stop(client.id);
      if (!client.clean) store.sessionOpened(client.id);
      this.streams.get(client.conn as Duplex)?.loggedIn();
      const s = this.sessions.get(client);
      if (s === undefined) return;
      let set = this.byUser.get(s.username);
      if (set === undefined) {
        set = new Set();
        this.byUser.set(s.username, set);
      }
      set.add(client);
      this.roster?.changed();
      this.ctx.log.debug({ client: client.id, username: s.username }, 'mqtt client connected');
    });
    aedes.on('clientDisconnect', (client) => {
      const s = this.sessions.get(client);
      // A deleted account's sessions cannot be resumed: they end now (and so does one an admin dropped).
      if (!client.clean) {
        store.sessionLeft(client.id);
        const feed = this.feed;
        if (feed !== undefined) {
          const id = client.id;
          store.subscriptionsOf(id).then(
            (subs) => {
              const back = (this.aedes as unknown as { clients: Record<string, unknown> }).clients[id] !== undefined;
              // Unless it came back, or the session moved or ended meanwhile.
              if (!back && store.hasSession(id)) feed.start(id, subs);
            },
            (err: unknown) => this.ctx.log.error({ err }, "mqtt: could not read a session's subscriptions"),
          );
        }
        this.expiry.left(
          client.id,
          s?.revoked === true ? 'account_deleted' : this.dropping.has(client.id) ? 'dropped_by_admin' : undefined,
        );
        this.dropping.delete(client.id);
      }
      if (s !== undefined) {
        const set = this.byUser.get(s.username);
        set?.delete(client);
        if (set?.size === 0) this.byUser.delete(s.username);
        this.roster?.changed();
      }
      this.ctx.log.debug({ client: client.id }, 'mqtt client disconnected');
    });
    aedes.on('unsubscribe', (filters, client) => {
      const s = this.sessions.get(client);
      for (const f of filters) s?.subscriptions.delete(f);
    });
    const drained = new WeakSet<Client>();
    aedes.on('clientError', (client, err) => {
      // aedes reports the drain timeout once per write still waiting: count the client once.
      if (err.message === 'drain timeout' && !drained.has(client)) {
        drained.add(client);
        this.metrics.disconnects.inc({ reason: 'slow_subscriber' });
      }
      this.ctx.log.debug({ client: client.id, err: err.message }, 'mqtt client error');
    });
    aedes.on('connectionError', (client, err) => {
      if (err.message === 'connect did not arrive in time') {
        this.metrics.disconnects.inc({ reason: 'connect_timeout' });
        const ip = this.streams.get(client.conn as Duplex)?.ip;
        this.ctx.log.info({ ip, timeoutMs: ctx.config.mqttConnectTimeout }, 'mqtt connection sent no CONNECT in time: closed');
        return;
      }
      this.ctx.log.debug({ err: err.message }, 'mqtt connection error');
    });
  }

  static async start(ctx: HubContext, topics: Topics, metrics: MqttMetrics, onRequest: RequestHandler): Promise<Broker> {
    let broker: Broker | undefined;
    const { cluster } = ctx.config;
    let lastDbError = Number.NEGATIVE_INFINITY;
    const dbFailed = (err: unknown) => {
      // Once a minute at most: a full disk (or PostgreSQL away) fails every write.
      if (Date.now() - lastDbError < 60_000) return;
      lastDbError = Date.now();
      ctx.log.error({ err }, 'mqtt: could not write persistent sessions; they go on in memory and the writes are tried again');
    };
    // A single hub: in --data-dir whatever --store is. A cluster: in PostgreSQL (--store), which every node reaches.
    const pool =
      cluster === undefined || ctx.config.store === undefined
        ? undefined
        : createPool(ctx.config.store, {
            max: 3,
            onIdleError: (err) => ctx.log.debug({ err: err.message }, 'mqtt: a PostgreSQL connection dropped'),
          });
    const db = pool === undefined ? new SessionDb(ctx.config.dataDir, dbFailed) : new PgSessionDb(pool, ctx.config.nodeId, dbFailed);
    let lastShedLine = Number.NEGATIVE_INFINITY;
    const store = new SessionStore({
      mayRead: (clientId, topic) => broker?.mayRead(clientId, topic) ?? true,
      inflight: { perClient: ctx.config.mqttMaxInflight, total: ctx.config.mqttInflightTotal },
      queue: { messages: ctx.config.mqttQueueMessages, bytes: ctx.config.mqttQueueBytes, totalBytes: ctx.config.mqttQueueTotal },
      db,
      onQueueDrop: (_client, why) => metrics.countDrop(why === 'total' ? 'offline_queue_total' : 'offline_queue_full'),
      onQueueShed: (r) => {
        // At most a line a minute: under a steady flood every cut is alike.
        if (Date.now() - lastShedLine < 60_000) return;
        lastShedLine = Date.now();
        ctx.log.warn(
          { ...r, limit: ctx.config.mqttQueueTotal },
          "mqtt: the persistent sessions' queues together reached --mqtt-queue-total; the largest dropped their oldest messages",
        );
      },
    });
    const mq = cluster === undefined ? undefined : clusterEmitter(cluster, BROKER_LIMITS.concurrency);
    // Watched from its creation: its first connection may come while the sessions are read back (from PostgreSQL).
    if (mq !== undefined) watchEmitter(mq, ctx.log, () => broker?.reconnected());
    const aedes = await Aedes.createBroker({
      persistence: store,
      ...(mq === undefined ? {} : { mq }),
      concurrency: BROKER_LIMITS.concurrency,
      drainTimeout: BROKER_LIMITS.drainTimeout,
      // aedes's timer runs from the moment it is handed the stream, TCP, TLS or WebSocket alike.
      connectTimeout: ctx.config.mqttConnectTimeout,
      // A backstop per connection; the store bounds the same per client id, across connections.
      maxInflightInbound: ctx.config.mqttMaxInflight,
      maxClientsIdLength: BROKER_LIMITS.maxScopedClientId,
      maxTopicLevels: MAX_TOPIC_LEVELS,
      preConnect: (client, packet, done) => {
        (broker as Broker).scopeClientId(client, packet);
        done(null, true);
      },
      authenticate: (client, username, password, done) => {
        (broker as Broker).authenticate(client, username, password).then(
          (err) => done(err, err === null),
          (err: unknown) => {
            ctx.log.error({ err }, 'mqtt authentication failed');
            done(authError(3, 'server unavailable'), null);
          },
        );
      },
      authorizeSubscribe: (client, sub, done) => done(null, (broker as Broker).authorizeSubscribe(client, sub)),
      authorizePublish: (client, packet, done) => (broker as Broker).authorizePublish(client, packet, done),
      authorizeForward: (client, packet) => (broker as Broker).authorizeForward(client, packet),
    });
    broker = new Broker(aedes, store, ctx, topics, metrics, onRequest);
    await Promise.all(broker.learning);
    broker.pool = pool;
    if (mq !== undefined) broker.joinCluster(mq, db instanceof PgSessionDb ? db : undefined);
    return broker;
  }

  /** Hears of each reconnection to the cluster's Redis (not the first connection). */
  onReconnected(fn: () => void): void {
    this.reconnected = fn;
  }

  private joinCluster(mq: ClusterEmitter, db: PgSessionDb | undefined): void {
    const log = this.ctx.log;
    const id = this.aedes.id;
    // The hub's own messages carry `halyard/<lane>/<broker id>` (embedded-sink.ts), aedes's its id.
    this.own = (p) => typeof p.brokerId === 'string' && (p.brokerId === id || p.brokerId.endsWith(`/${id}`));
    const feed = new RemoteFeed(
      mq,
      this.own,
      (clientId, p) => {
        // A session handed over or ended while its feed was starting: nothing more for it here.
        if (this.store.hasSession(clientId)) this.store.enqueueFor(clientId, p as unknown as Parameters<SessionStore['enqueueFor']>[1]);
        else feed.stop(clientId);
      },
      { messages: this.ctx.config.mqttQueueMessages, bytes: this.ctx.config.mqttQueueBytes },
    );
    this.feed = feed;
    this.roster = new ClusterClients(
      mq,
      this.ctx.config.nodeId,
      () => this.ownClients(),
      (err) => log.debug({ err }, "mqtt: another node's client list was not taken"),
    );
    if (db !== undefined) {
      this.accounts = new SessionAccounts(this.pool as Pool, db.node);
      this.drops = new RemoteDrops(
        mq,
        db.node,
        (clientId, why) => this.endHere(clientId, why),
        (err) => log.warn({ err }, 'mqtt: a session drop between nodes failed'),
      );
      this.shared = new ClusterSessions(
        db,
        {
          store: this.store,
          waiting: (s) => {
            this.expiry.left(s.clientId, undefined, s.leftAt);
            this.learnReader(s.clientId);
            feed.start(s.clientId, s.subscriptions);
          },
          release: async (clientId) => {
            // Its id connected elsewhere: a connection here is the old one ([MQTT-3.1.4-2]); it ends first.
            const live = (this.aedes as unknown as { clients: Record<string, Client | undefined> }).clients[clientId];
            if (live !== undefined) await new Promise<void>((resolve) => live.close(() => resolve()));
            this.expiry.resumed(clientId);
            feed.stop(clientId);
          },
          catchFor: (clientId, subs) => feed.catchFor(clientId, subs),
          arrived: (clientId) => feed.arrived(clientId),
          notComing: (clientId) => feed.stop(clientId),
        },
        mq,
        log,
      );
      this.shared.start();
    }
    for (const s of this.restoredSubs) this.feed.start(s.clientId, s.subscriptions);
    this.restoredSubs = [];
    replicateRetained(
      mq,
      this.topics.retainedFilters(),
      this.own,
      (p) => this.store.storeRetained(p as Parameters<SessionStore['storeRetained']>[0]),
      (err) => log.error({ err }, 'mqtt: could not keep a retained message from another node'),
    );
  }

  /** Connections that have not logged in yet. */
  get pendingLogins(): number {
    return this.pending.total;
  }

  get clients(): number {
    return this.aedes.connectedClients ?? 0;
  }

  /**
   * Takes one of the slots `ip` has for connections not logged in yet; undefined
   * (counted and logged) when it has none left. The function returned gives the
   * slot back; calling it again does nothing.
   */
  holdPending(ip: string): (() => void) | undefined {
    if (!this.pending.take(ip)) {
      this.metrics.disconnects.inc({ reason: 'too_many_pending' });
      this.ctx.log.warn(
        { ip, limit: this.ctx.config.mqttPendingPerIp },
        'mqtt connection refused: too many connections from this address have not logged in yet',
      );
      return undefined;
    }
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.pending.give(ip);
    };
  }

  /** Serves one connection (TCP, TLS or a WebSocket's stream). */
  accept(stream: Duplex, ip: string, req?: IncomingMessage, extraBacklog?: () => number): void {
    stream.on('error', () => {});
    // Bytes held back only until the end of this turn are not a slow subscriber's backlog:
    // coalesceWrites keeps them out of writableLength.
    coalesceWrites(stream);
    const own = () => stream.writableLength;
    const backlog = extraBacklog === undefined ? own : () => own() + extraBacklog();
    const loggedIn = this.holdPending(ip);
    if (loggedIn === undefined) {
      stream.destroy();
      return;
    }
    stream.once('close', loggedIn);
    this.streams.set(stream, { ip, backlog, loggedIn });
    this.aedes.handle(stream, req);
    const maxPacket = maxPacketBytes(this.ctx.config.maxFrame);
    guardPacketSize(stream, maxPacket, () => {
      this.metrics.disconnects.inc({ reason: 'too_large' });
      this.ctx.log.warn({ ip, limit: maxPacket }, 'mqtt packet over the size limit: disconnecting');
    });
  }

  /**
   * The accounts' connected clients and persistent sessions: on a single hub from
   * memory; in a cluster the sessions from PostgreSQL (every node's, queue figures
   * as of their holder's last write) and the clients from every node's last list
   * (cluster-clients.ts), naming the live nodes that sent none lately.
   */
  async live(usernames: readonly string[]): Promise<LiveView> {
    const node = this.ctx.config.nodeId;
    const expiry = this.ctx.config.mqttSessionExpiry;
    const view: LiveView = { accounts: new Map(), missingNodes: [] };
    for (const u of usernames) view.accounts.set(u, { clients: [], sessions: [] });
    const own = this.ownClients();
    const lists = new Map<string, ClientList>([[node, own], ...(this.roster?.others() ?? [])]);
    for (const [at, accounts] of lists) {
      for (const [u, ids] of Object.entries(accounts))
        view.accounts.get(u)?.clients.push(...ids.map((clientId) => ({ clientId, node: at })));
    }
    const accountOf = (scoped: string) => {
      const colon = scoped.indexOf(':');
      return { account: scoped.slice(0, colon), clientId: scoped.slice(colon + 1) };
    };
    if (this.accounts === undefined) {
      for (const s of this.store.sessionList()) {
        const { account, clientId } = accountOf(s.clientId);
        view.accounts.get(account)?.sessions.push({
          clientId,
          connected: s.connected,
          queued: s.messages,
          queuedBytes: s.bytes,
          dropped: s.dropped,
          ...(s.leftAt === undefined ? {} : { expiresAt: s.leftAt + expiry }),
          node,
        });
      }
      return view;
    }
    const [alive, shared] = await Promise.all([this.accounts.aliveNodes(), this.accounts.sessionsOf(usernames)]);
    view.missingNodes = alive.filter((n) => !lists.has(n));
    // Held here: this node's memory is newer than its last write.
    const mine = new Map(this.store.sessionList().map((m) => [m.clientId, m]));
    for (const s of shared) {
      const { account, clientId } = accountOf(s.clientId);
      const here = s.holder === node ? mine.get(s.clientId) : undefined;
      const leftAt = here === undefined ? s.leftAt : here.leftAt;
      const connected = leftAt === undefined && (here !== undefined || s.holderAlive);
      view.accounts.get(account)?.sessions.push({
        clientId,
        connected,
        queued: here?.messages ?? s.messages,
        queuedBytes: here?.bytes ?? s.bytes,
        dropped: here?.dropped ?? s.dropped,
        ...(leftAt === undefined ? {} : { expiresAt: leftAt + expiry }),
        node: s.holder,
      });
    }
    return view;
  }

  /**
   * Ends a persistent session (`clientId` as the client sent it) wherever it is
   * held: its connection, if any, closes, and its subscriptions and queue are freed.
   * In a cluster a live holder is asked to (session-drop.ts), and one whose node is
   * dead is deleted in PostgreSQL. False when the account has no such session.
   */
  async dropSession(username: string, clientId: string): Promise<boolean> {
    const scoped = `${username}:${clientId}`;
    if (this.accounts === undefined || this.drops === undefined) return this.endHere(scoped, 'dropped_by_admin');
    // Twice: a session whose dead holder was adopted between the look and the delete is asked of its new holder.
    for (let tries = 0; tries < 2; tries++) {
      const at = await this.accounts.holderOf(scoped);
      if (at === undefined) return false;
      if (at.holder === this.accounts.node) {
        // Not in memory (a login that never registered, or one being brought in): the row is all there is.
        return (await this.endHere(scoped, 'dropped_by_admin')) || (await this.accounts.deleteMine(scoped));
      }
      if (!at.alive) {
        if (await this.accounts.deleteOrphan(scoped, at.holder)) {
          this.metrics.sessionsEnded.inc({ reason: 'dropped_by_admin' });
          this.ctx.log.info({ client: scoped, holder: at.holder }, 'mqtt session of a node that is gone ended by an admin');
          return true;
        }
        continue;
      }
      const dropped = await this.drops.ask(scoped, at.holder);
      if (dropped === undefined) {
        throw new HubError(HubErrorCode.Unavailable, `node "${at.holder}" holding the MQTT session did not answer; try again`);
      }
      return dropped;
    }
    return false;
  }

  /**
   * Ends a session this node holds (scoped client id); false when none is held here
   * by that id. An admin's drop resolves once the session has ended and its end is
   * written (at most END_WAIT_MS), so a listing right after no longer shows it.
   */
  private async endHere(scoped: string, why: SessionEnd): Promise<boolean> {
    if (!this.store.hasSession(scoped)) return false;
    if (why === 'too_many') return this.expiry.evict(scoped);
    const ended = new Promise<void>((resolve) => {
      const timer = setTimeout(done, END_WAIT_MS);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.ending.set(scoped, done);
    });
    const username = scoped.slice(0, scoped.indexOf(':'));
    const live = [...(this.byUser.get(username) ?? [])].find((c) => c.id === scoped);
    let ending = true;
    if (live !== undefined) {
      this.dropping.add(scoped);
      this.metrics.disconnects.inc({ reason: 'session_dropped' });
      live.close();
    } else ending = this.expiry.drop(scoped);
    try {
      if (ending) {
        await ended;
        await this.store.flushJournal();
      }
    } catch (err) {
      this.ctx.log.warn({ err, client: scoped }, "mqtt: a dropped session's end is not written yet; it is tried again");
    } finally {
      this.ending.delete(scoped);
    }
    return true;
  }

  /** This node's connected clients per account, with the ids they sent. */
  private ownClients(): ClientList {
    const out: ClientList = {};
    for (const [u, clients] of this.byUser) {
      out[u] = [...clients].map((c) => this.ownIds.get(c) ?? c.id.slice(u.length + 1));
    }
    return out;
  }

  /**
   * Whether the session `clientId` may be queued a message on `topic`: its account's
   * ACL, as its last login here had it or as read for a session that came here
   * without one (restored, adopted). Unknown yet: queued, and filtered on delivery.
   */
  mayRead(clientId: string, topic: string): boolean {
    const acl = this.readers.get(accountOf(clientId));
    return acl === undefined || acl.canRead(topic);
  }

  /** Reads the ACL of the account of `clientId` for mayRead, unless known. */
  private learnReader(clientId: string): Promise<void> {
    const username = accountOf(clientId);
    if (username === '' || this.readers.has(username)) return Promise.resolve();
    return accountAcl(this.ctx, username).then(
      (acl) => {
        if (acl !== undefined && !this.readers.has(username)) this.readers.set(username, acl);
      },
      (err: unknown) => this.ctx.log.debug({ err, username }, "mqtt: could not read an account's ACL; its sessions queue all they match"),
    );
  }

  /** Ends every connection of an account (deleted). */
  disconnectUser(username: string): number {
    this.readers.delete(username);
    const clients = [...(this.byUser.get(username) ?? [])];
    for (const c of clients) {
      const s = this.sessions.get(c);
      if (s !== undefined) s.revoked = true;
      c.close();
    }
    if (clients.length > 0) this.metrics.disconnects.inc({ reason: 'account_deleted' }, clients.length);
    this.expiry.endAccount(username);
    return clients.length;
  }

  private async authenticate(
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
  ): Promise<AuthenticateError | null> {
    const conn = this.streams.get(client.conn as Duplex);
    const ip = conn?.ip ?? 'unknown';
    const r = await authenticate(this.ctx, username, password, ip);
    if (!r.ok) {
      this.metrics.authFailures.inc();
      this.ctx.log.info({ ip, username, reason: r.reason }, 'mqtt login refused');
      return authError(r.returnCode, r.reason);
    }
    // A session with no name cannot be resumed: MQTT 3.1.1 answers CONNACK 2 (aedes would make up an id).
    if (this.emptyPersistent.has(client)) {
      this.ctx.log.info({ ip, username }, 'mqtt client refused: an empty client id needs a clean session');
      return authError(2, 'identifier rejected');
    }
    // aedes checks the scoped id against a limit that leaves room for the account; the client's own id is checked here.
    const own = this.ownIds.get(client);
    if (client.version === 3 && own !== undefined && own.length > MQTT31_MAX_CLIENT_ID) {
      this.ctx.log.info({ ip, username, client: own }, 'mqtt client id longer than MQTT 3.1 allows: refused');
      return authError(2, 'identifier rejected');
    }
    // U+0000 is not allowed in MQTT strings ([MQTT-1.5.3-2]), and PostgreSQL's text cannot hold it.
    if (own?.includes('\u0000') === true) {
      this.ctx.log.info({ ip, username }, 'mqtt client id holds U+0000: refused');
      return authError(2, 'identifier rejected');
    }
    if (own !== undefined && (own.length > MAX_CLIENT_ID || UNADDRESSABLE_CLIENT_IDS.has(own))) {
      this.ctx.log.info({ ip, username, client: own.slice(0, MAX_CLIENT_ID) }, 'mqtt client id too long or "." or "..": refused');
      return authError(2, 'identifier rejected');
    }
    if (!this.admit(client, r.username, ip)) return authError(3, 'server unavailable');
    const created = await this.beginShared(client, r.username, ip).catch((err: unknown) => {
      this.joined(client, r.username);
      throw err;
    });
    if (created === 'refused') {
      this.joined(client, r.username);
      return authError(3, 'server unavailable');
    }
    this.readers.set(r.username, r.acl);
    this.sessions.set(client, {
      username: r.username,
      acl: r.acl,
      backlog: conn?.backlog ?? (() => 0),
      subscriptions: new Set(),
      revoked: false,
    });
    // In a cluster a returning client's session may be held by another node, or by none (its node died): it
    // comes here first. So does it for a clean session, which then ends it, as MQTT requires ([MQTT-3.1.2-6]).
    if (this.shared !== undefined && created !== 'created' && client.id && !this.store.hasSession(client.id)) {
      if (!client.clean) await this.shared.bringHere(client.id);
      else {
        await this.shared.bringHere(client.id, false).catch((err: unknown) => {
          // PostgreSQL away: a clean session needs nothing from it; the old session ends with its expiry.
          this.ctx.log.warn({ err, client: client.id }, 'mqtt: could not end the old session of a clean-session client');
        });
      }
    }
    return null;
  }

  /**
   * Whether `client` may log in under `username` (README.md § MQTT): an account holds
   * at most --mqtt-account-conns connections, so no account can take the
   * listener's 1,000 from the others (taking over one's own client id replaces one and
   * is admitted); and at most --mqtt-max-sessions persistent sessions, connected or
   * away: a new client id past that ends the account's oldest waiting session, and
   * while all are connected it is refused, for each would otherwise pin a full QoS 1
   * queue. A login holds its place until aedes registers the client (or its
   * connection ends), so logins at once cannot all pass.
   */
  private admit(client: Client, username: string, ip: string): boolean {
    const joining = this.joining.get(username) ?? new Set<Client>();
    const live = this.byUser.get(username) ?? new Set<Client>();
    const sameId = (c: Client) => c.id === client.id;
    const perAccount = this.ctx.config.mqttAccountConns;
    // In a cluster the other nodes' connections as their last lists say (cluster-clients.ts); a persistent
    // session's connection on another node is closed when its session comes here (a clean one's is not).
    const elsewhere = this.roster?.elsewhere(username, client.clean ? undefined : this.ownIds.get(client)) ?? 0;
    if (perAccount > 0 && live.size + joining.size + elsewhere >= perAccount && ![...live].some(sameId) && ![...joining].some(sameId)) {
      this.refuse(
        'too_many_connections',
        'mqtt connection refused: the account holds --mqtt-account-conns',
        client,
        username,
        ip,
        perAccount,
      );
      return false;
    }
    const sessions = this.ctx.config.mqttMaxSessions;
    const newSession = (c: Client) => !c.clean && !this.store.hasSession(c.id);
    // In a cluster PostgreSQL counts them, every node's (beginShared).
    if (sessions > 0 && this.accounts === undefined && newSession(client) && ![...joining].some((c) => sameId(c) && !c.clean)) {
      const connected = this.store.sessionList(username).filter((s) => s.connected).length + [...joining].filter(newSession).length;
      if (connected >= sessions) {
        this.refuse(
          'too_many_sessions',
          'mqtt persistent session refused: the account has --mqtt-max-sessions connected',
          client,
          username,
          ip,
          sessions,
        );
        return false;
      }
      this.expiry.trim(username, sessions - connected - 1);
    }
    joining.add(client);
    this.joining.set(username, joining);
    (client.conn as Duplex).once('close', () => this.joined(client, username));
    return true;
  }

  /**
   * In a cluster, begins a new persistent session in PostgreSQL, where every node's
   * sessions of the account are counted against --mqtt-max-sessions
   * (session-pg-accounts.ts): the oldest away ones beyond it end, wherever held, and
   * while the account has that many connected the login is refused. `exists`: the
   * id has a session (here or on another node: it is brought here); `created`: a new
   * one, held here; `none`: nothing to count (a single hub, a clean session, no bound).
   */
  private async beginShared(client: Client, username: string, ip: string): Promise<'none' | 'exists' | 'created' | 'refused'> {
    const max = this.ctx.config.mqttMaxSessions;
    const accounts = this.accounts;
    if (accounts === undefined || max === 0 || client.clean || !client.id || this.store.hasSession(client.id)) return 'none';
    const r = await accounts.createSession(username, client.id, max);
    if (r.kind === 'exists') return 'exists';
    if (r.kind === 'full') {
      this.refuse(
        'too_many_sessions',
        'mqtt persistent session refused: the account has --mqtt-max-sessions connected',
        client,
        username,
        ip,
        max,
      );
      return 'refused';
    }
    for (const e of r.evicted) {
      if (e.holder === accounts.node) this.expiry.evict(e.clientId);
      else this.drops?.evicted(e.clientId, e.holder);
    }
    // Its row exists before its client is registered: a login that never gets there leaves none behind.
    const id = client.id;
    (client.conn as Duplex).once('close', () => {
      if (this.store.hasSession(id)) return;
      accounts.deleteMine(id).catch((err: unknown) => this.ctx.log.warn({ err, client: id }, 'mqtt: could not delete an unused session'));
    });
    return 'created';
  }

  private refuse(reason: string, msg: string, client: Client, username: string, ip: string, limit: number): void {
    this.metrics.disconnects.inc({ reason });
    this.ctx.log.warn({ ip, username, client: this.ownIds.get(client) ?? client.id, limit }, msg);
  }

  /** A login is over (registered, or its connection ended): its held place goes. */
  private joined(client: Client, username = this.sessions.get(client)?.username): void {
    const joining = username === undefined ? undefined : this.joining.get(username);
    if (joining?.delete(client) && joining.size === 0) this.joining.delete(username as string);
  }

  /**
   * Scopes the client id to the account named in CONNECT, before aedes looks it up:
   * the same id under two accounts is two sessions, so an account can neither take
   * over another's connection ([MQTT-3.1.4-2] would close it) nor resume its session.
   * The username is not verified yet, but a CONNECT that fails authentication never
   * gets a session. An empty id stays empty: aedes gives it a unique one.
   */
  private scopeClientId(client: Client, packet: ConnectPacket): void {
    if (packet.clientId === '' && packet.clean === false) this.emptyPersistent.add(client);
    if (packet.clientId === '' || packet.username === undefined) return;
    this.ownIds.set(client, packet.clientId);
    packet.clientId = `${packet.username}:${packet.clientId}`;
  }

  private authorizeSubscribe(client: Client, sub: Subscription): Subscription | null {
    const s = this.sessions.get(client);
    if (s === undefined) return null;
    // Refusals answer SUBACK 0x80 (MQTT 3.1.1 §3.9.3) and keep the connection.
    // The limits an ACL's filters obey (1,024 characters...): a 60 KB filter was kept, in memory and on disk.
    const invalid = filterError(sub.topic);
    if (invalid !== undefined) {
      this.ctx.log.info(
        { username: s.username, filter: sub.topic.slice(0, 200), length: sub.topic.length, reason: invalid },
        'mqtt subscription refused: not a valid topic filter',
      );
      return null;
    }
    if (!s.acl.canSubscribe(sub.topic)) {
      this.ctx.log.info({ username: s.username, filter: sub.topic }, 'mqtt subscription refused by the ACL');
      return null;
    }
    if (sub.topic.includes('\u0000')) {
      // [MQTT-4.7.3-2]: a topic filter must not hold U+0000.
      this.ctx.log.info({ username: s.username }, 'mqtt subscription refused: the filter holds U+0000');
      return null;
    }
    if (!s.subscriptions.has(sub.topic) && s.subscriptions.size >= BROKER_LIMITS.maxSubscriptions) {
      this.ctx.log.info({ username: s.username, limit: BROKER_LIMITS.maxSubscriptions }, 'mqtt subscription refused: too many');
      return null;
    }
    s.subscriptions.add(sub.topic);
    return sub;
  }

  private authorizePublish(client: Client | null, packet: PublishPacket, done: (err?: Error | null) => void): void {
    const s = client === null ? undefined : this.sessions.get(client);
    const topic = packet.topic;
    const req = this.topics.parseRequest(topic);
    if (s?.revoked) {
      done(new Error('HUB_ERR_FORBIDDEN: the account was deleted'));
      return;
    }
    // A topic name holds no U+0000 ([MQTT-4.7.3-2]); it named no device but was taken as a request for one.
    const nul = topic.includes('\u0000');
    if (s === undefined || req === undefined || nul || !s.acl.canPublish(topic)) {
      // MQTT 3.1.1 cannot refuse one PUBLISH: the connection ends, loudly, as aedes does for $SYS.
      this.metrics.disconnects.inc({ reason: 'forbidden' });
      this.ctx.log.warn(
        { username: s?.username, topic },
        nul
          ? 'mqtt publish refused: a topic name must not hold U+0000 ([MQTT-4.7.3-2])'
          : req === undefined
            ? 'mqtt publish refused: integrators may publish only commands and desired-set requests'
            : "mqtt publish refused: the account's ACL does not allow this topic",
      );
      done(new Error(`HUB_ERR_FORBIDDEN: not allowed to publish to ${topic}`));
      return;
    }
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    packet.topic = CONSUMED_TOPIC;
    packet.retain = false;
    // A will has no packet id and is never stored: only a client's QoS 2 PUBLISH awaits a PUBREL.
    const inbound = client !== null && packet.qos === 2 && packet.messageId !== undefined;
    if (inbound && !this.admitQos2(client, s.username, packet.messageId as number, done)) return;
    // The PUBACK (and the client's next packets) wait until the hub has taken the request: backpressure per client.
    this.onRequest(req, topic, payload, `mqtt:${s.username}`).then(
      () => done(null),
      (err: unknown) => {
        this.ctx.log.error({ err, topic }, 'mqtt request failed');
        done(null);
      },
    );
  }

  /**
   * Reserves a QoS 2 publish's place among those awaiting PUBREL before the hub
   * carries it out; false when it must not be carried out (`done` has been called).
   * A retransmission of one already carried out is answered without repeating it
   * ([MQTT-4.3.3-2]); one past a bound ends the connection, the only refusal MQTT
   * 3.1.1 has for a PUBLISH.
   */
  private admitQos2(client: Client, username: string, messageId: number, done: (err?: Error | null) => void): boolean {
    const verdict = this.store.admit(client.id, messageId);
    if (verdict === 'new') return true;
    if (verdict === 'duplicate') {
      done(null);
      return false;
    }
    this.metrics.dropped.inc({ reason: 'inflight_limit' });
    this.metrics.disconnects.inc({ reason: 'inflight_limit' });
    const limit = verdict === 'client_full' ? this.ctx.config.mqttMaxInflight : this.ctx.config.mqttInflightTotal;
    this.ctx.log.warn(
      { username, client: this.ownIds.get(client) ?? client.id, limit, scope: verdict === 'client_full' ? 'client id' : 'all clients' },
      'mqtt QoS 2 publish refused: too many awaiting PUBREL; disconnecting',
    );
    done(new Error(`HUB_ERR_QUEUE_FULL: more than ${limit} QoS 2 publishes awaiting PUBREL`));
    return false;
  }

  private authorizeForward(client: Client, packet: AedesPublishPacket): AedesPublishPacket | null {
    const s = this.sessions.get(client);
    if (s === undefined || !s.acl.canRead(packet.topic)) return null;
    // In a cluster aedes queued another node's message for nobody here: queue it for this session before sending.
    if (this.feed !== undefined && !client.clean && packet.qos > 0 && !packet.retain && packet.brokerId && !this.own(packet)) {
      this.store.enqueueFor(client.id, packet as unknown as Parameters<SessionStore['enqueueFor']>[1]);
    }
    // The client's queue is being sent and holds this message: it comes in its turn, not ahead of older ones.
    // (Its packet id is set only once the queue sends it; a live delivery has none yet.)
    if (packet.messageId === undefined && !client.clean && this.store.holdsBack(client.id, packet.brokerId, packet.brokerCounter)) {
      return null;
    }
    // Retained replay on SUBSCRIBE waits for each write to finish, so it cannot overrun
    // the budget; live messages to a client that is behind are dropped instead of queued.
    if (!packet.retain && s.backlog() > BROKER_LIMITS.subscriberBudget) {
      this.metrics.countDrop('slow_subscriber');
      return null;
    }
    return packet;
  }

  async close(): Promise<void> {
    this.roster?.close();
    this.drops?.close();
    await this.shared?.stop();
    this.expiry.close();
    await new Promise<void>((resolve) => this.aedes.close(() => resolve()));
    await this.store.close();
    await this.pool?.end();
  }
}
