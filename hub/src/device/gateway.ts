// The device gateway (/v1/device): authenticates upgrades (SPEC.md §2.2), runs one
// DeviceSession per connection, keeps liveness with pings, hands frames to the
// store's group commit and acknowledges them once committed.

import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  CloseCode,
  DEFAULT_LIMITS,
  DEVICE_SUBPROTOCOL,
  type DecodedUplink,
  type Hello,
  type Limits,
  MessageType,
  type PresenceReason,
  type ResolvedRecord,
} from '@halyard/firmware-protocol';
import { WebSocketServer } from 'ws';
import { bearer, parseDeviceToken, sameHash, sha256 } from '../auth/secrets.js';
import type { EventBus } from '../bus.js';
import type { HubConfig } from '../config.js';
import { dataToJson } from '../data-json.js';
import { HubError, HubErrorCode } from '../errors.js';
import type { DeviceEntry, Fleet } from '../fleet.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { requestClient } from '../net/client-address.js';
import { AttemptWindow } from '../net/rate-limit.js';
import { answerHandshakeErrors, logRefusal, rejectUpgrade } from '../net/reject-upgrade.js';
import type { BatchOutcome, NewPresence, Store } from '../store/store.js';
import type { DeviceOwnership, OwnershipHost } from './ownership.js';
import { DeviceSession, type DeviceSessionHost, type FrameMeta } from './session.js';

/** What the command and twin services do when devices come and go or answer. */
export interface DeviceHooks {
  online(entry: DeviceEntry, session: DeviceSession, hello: Hello): void;
  offline(entry: DeviceEntry): void;
  commandAccepted(entry: DeviceEntry, id: string): void;
  commandResult(entry: DeviceEntry, m: DecodedUplink & { type: typeof MessageType.CmdResult }): void;
  reportedApplied(outcomes: NonNullable<BatchOutcome<FrameMeta>['result']>['reported']): void;
  /** Telemetry committed in log generation `gen` (before it is announced on the bus). */
  telemetryStored(gen: number, entry: DeviceEntry, records: readonly ResolvedRecord[]): void;
  /** Points committed and held in memory until their generation is compacted (telemetry/tail.ts). */
  uncompactedPoints(): number;
  /** Why a TELEMETRY frame must be refused before it is stored (a per-device limit), or undefined to take it. */
  admitTelemetry(entry: DeviceEntry, records: readonly ResolvedRecord[]): string | undefined;
  /** Firmware updates (updates/service.ts): a CHUNK_REQUEST, and UPDATE_STATUS messages once committed. */
  chunkRequest(entry: DeviceEntry, session: DeviceSession, m: DecodedUplink & { type: typeof MessageType.ChunkRequest }): void;
  updateStatusApplied(outcomes: NonNullable<BatchOutcome<FrameMeta>['result']>['updates']): void;
}

/** Reconnects per device per minute before the upgrade answers 429 (SPEC.md §9). */
const MAX_CONNECTS_PER_MINUTE = 20;
/**
 * Store backlog (frames) at which the gateway stops reading sockets, and where it
 * resumes. Past this the store is not keeping up, and more frames in memory only
 * add latency and garbage: at 200,000, 10-record frames as fast as devices could
 * send them held ACK p50 at 2 s and the heap near 900 MB, with 100–200 ms
 * collections; at 20,000, 0.6–0.9 s and under 550 MB, at the same throughput.
 */
export const BACKLOG_HIGH = 20_000;
const BACKLOG_LOW = 10_000;
/**
 * The same bound in points (a TELEMETRY frame's records; other frames count one): a
 * frame of 1,000 records is a thousand decoded records in memory until its commit.
 * Counted in frames only, 15 devices sending such frames within every per-device limit
 * grew the heap past 1 GB and stalled /healthz for seconds (red team).
 */
export const PENDING_POINTS_HIGH = 200_000;
const PENDING_POINTS_LOW = 100_000;
/**
 * Committed points waiting in memory for their generation's compaction (SQLite: the
 * tail, telemetry/tail.ts) at which reads stop too, and where they resume: large
 * frames can outrun compaction, and the tail then grew by millions of points.
 */
export const TAIL_HIGH = 2_000_000;
const TAIL_LOW = 1_000_000;

/** What a frame weighs in the pending bound: its records, or one. */
function pointsOf(meta: FrameMeta): number {
  return meta.message.type === MessageType.Telemetry ? Math.max(1, meta.message.records.length) : 1;
}
/** Reads paused this long without a break: /healthz reports the store as behind. */
const BEHIND_AFTER_MS = 5_000;
/** How long a device id the store did not know is not asked about again, ms (cluster mode: a stranger's guesses cost one read each). */
const MISS_MS = 5_000;
/** ACKs written per event-loop turn (each is a socket write). */
const ACK_SLICE = 128;

export class DeviceGateway implements DeviceSessionHost, OwnershipHost {
  readonly wss: WebSocketServer;
  private readonly sessions = new Set<DeviceSession>();
  /**
   * Past HELLO, not yet welcomed: waiting for the cluster to hand the device over
   * (ownership.ts), or for frames an earlier connection sent to be committed. Nothing
   * of these connections is read meanwhile.
   */
  private readonly claiming = new Set<DeviceSession>();
  /** Per device, the sessions whose WELCOME waits for the commit of an earlier connection's frames: each tries again after a commit. */
  private readonly settling = new Map<DeviceEntry, Set<() => void>>();
  /** Cluster mode: device ids the store did not know when last asked, until when. */
  private readonly misses = new Map<string, number>();
  /** Each device's newest session to say HELLO here: an older claim that settles later must not replace it. */
  private readonly newest = new WeakMap<DeviceEntry, DeviceSession>();
  /** Failed upgrades per address and device id, last minute (bounded: a spray of ids cannot grow it without end). */
  private readonly failedConnects = new AttemptWindow(60_000, MAX_CONNECTS_PER_MINUTE, 100_000);
  private readonly ticker: NodeJS.Timeout;
  private readonly flusher: NodeJS.Timeout;
  private presenceQueue: NewPresence[] = [];
  /** Devices owed an ACK of their durableSeq, oldest first. */
  private readonly ackDue = new Set<DeviceEntry>();
  private acksScheduled = false;
  private shuttingDown = false;
  /** Reads paused because the store is behind: frames or points waiting for a commit, or points waiting for compaction. */
  private backlogPaused = false;
  /** Points (pointsOf) of the frames handed to the store and not yet committed or dropped. */
  private pendingPoints = 0;
  /** The store's database server does not answer (store/postgres/connection-state.ts): reads paused, upgrades refused. */
  private storeDown = false;
  private pausedSince = 0;
  private lastPauseLog = Number.NEGATIVE_INFINITY;
  /** Decoding limits, one object for every session. */
  readonly limits: Limits;

  constructor(
    readonly config: Readonly<HubConfig>,
    readonly fleet: Fleet,
    private readonly store: Store<FrameMeta>,
    readonly bus: EventBus,
    readonly metrics: Metrics,
    readonly log: Logger,
    private readonly hooks: DeviceHooks,
    /** Cluster mode: who serves which device (undefined on a single hub). */
    private readonly ownership?: DeviceOwnership,
  ) {
    this.limits = { ...DEFAULT_LIMITS, maxFrame: config.maxFrame };
    this.wss = new WebSocketServer({
      noServer: true,
      // Frames over maxFrame get our ERROR 4413, naming their seq from their first
      // bytes; only those over 4 x maxFrame reach ws's own limit (close 1009, no
      // ERROR), which stops them before they are buffered (SPEC.md §8.3, §8.4).
      maxPayload: config.maxFrame * 4,
      perMessageDeflate: false,
      // A message in more than 1,024 fragments is abuse, not firmware (ws closes with 1008).
      maxFragments: 1_024,
      handleProtocols: (protocols) => (protocols.has(DEVICE_SUBPROTOCOL) ? DEVICE_SUBPROTOCOL : false),
    });
    answerHandshakeErrors(this.wss, log, 'device');
    store.on('committed', (o) => this.onCommitted(o));
    // After the telemetry service's own listener (registered first, hub.ts), which drops the compacted points.
    store.on('compacted', () => this.resumeIfCaughtUp());
    store.on('connection', (c) => this.onConnection(c.up));
    const tick = Math.max(20, Math.min(1_000, config.pingTimeout / 4, config.pingInterval / 4));
    this.ticker = setInterval(() => this.liveness(), tick);
    this.flusher = setInterval(() => this.flushPresence(), 1_000);
  }

  /** Device reads are paused: the store is behind (backlogPaused) or its server is down. */
  get storePaused(): boolean {
    return this.backlogPaused || this.storeDown;
  }

  /** Reads have been paused for the store's backlog, without a break, long enough to say so (flapping under load is not). */
  get storeBehind(): boolean {
    return this.backlogPaused && Date.now() - this.pausedSince >= BEHIND_AFTER_MS;
  }

  /**
   * The store's server went away or came back. While it is away nothing can be
   * committed, so nothing more is read (memory stays bounded, TCP pushes back on
   * devices) and new connections are refused with 503: a device kept connected
   * keeps its unacknowledged frames and resends what a failed batch held after it
   * reconnects (onCommitFailed), as with any failed commit.
   */
  private onConnection(up: boolean): void {
    if (this.storeDown === !up) return;
    this.storeDown = !up;
    if (!this.storePaused) this.resumeReading();
    else for (const s of this.sessions) s.setReading(false);
  }

  get connections(): number {
    return this.sessions.size;
  }

  /** HTTP upgrade on /v1/device: check everything before accepting (SPEC.md §2.2). */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, caughtUp = false): void {
    const refusal = this.admit(req);
    // Cluster mode: a device provisioned on another node a moment ago may not be in this node's fleet yet; the store says.
    const unknown = refusal instanceof HubError && refusal.code === HubErrorCode.Unauthenticated ? this.unknownId(req) : undefined;
    if (!caughtUp && unknown !== undefined) {
      this.catchUp(unknown).finally(() => this.handleUpgrade(req, socket, head, true));
      return;
    }
    if (refusal instanceof HubError) {
      this.metrics.upgradesRejected.inc({ status: String(refusal.status) });
      // While the store is down every device retries: the outage has its own line (storage-health.ts), not one per attempt.
      if (this.storeDown && refusal.code === HubErrorCode.Unavailable)
        this.log.debug({ status: refusal.status, remote: requestClient(req) }, `device upgrade refused: ${refusal.message}`);
      else logRefusal(this.log, 'device', req, refusal);
      rejectUpgrade(socket, refusal);
      return;
    }
    const entry = refusal;
    const remote = `${requestClient(req)}:${req.socket.remotePort}`;
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const session = new DeviceSession(ws, socket, entry, this, remote);
      this.sessions.add(session);
      // The device may have been deleted while the upgrade completed.
      if (entry.deleting) session.fail(CloseCode.Revoked, 'the device was deleted');
      else if (this.storePaused) session.setReading(false);
    });
  }

  /** In cluster mode, the id of a well-formed device credential this node's fleet does not know (and did not just ask about). */
  private unknownId(req: IncomingMessage): string | undefined {
    if (this.ownership === undefined) return undefined;
    const raw = bearer(req.headers.authorization);
    const id = raw === undefined ? undefined : parseDeviceToken(raw)?.id;
    if (id === undefined || this.fleet.get(id) !== undefined) return undefined;
    return (this.misses.get(id) ?? 0) > Date.now() ? undefined : id;
  }

  /** Reads one device another node made into the fleet; an id the store does not know is not asked about again for MISS_MS. */
  private async catchUp(id: string): Promise<void> {
    const record = await this.store.getDevice(id).catch(() => undefined);
    if (record === undefined) {
      if (this.misses.size >= 100_000) this.misses.clear();
      this.misses.set(id, Date.now() + MISS_MS);
      return;
    }
    if (this.fleet.get(id) === undefined) {
      this.fleet.update(record);
      this.metrics.devicesKnown.set(this.fleet.size);
    }
  }

  /** The device behind an upgrade request (its connect counted), or why it is refused. */
  private admit(req: IncomingMessage): DeviceEntry | HubError {
    if (this.shuttingDown) {
      return new HubError(HubErrorCode.Unavailable, 'the hub is shutting down', { retryAfter: 5 });
    }
    if (this.storeDown) {
      return new HubError(HubErrorCode.Unavailable, 'storage is unreachable; reconnect later', { retryAfter: 5 });
    }
    const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
    if (!offered.includes(DEVICE_SUBPROTOCOL)) {
      return new HubError(HubErrorCode.BadRequest, `offer the WebSocket subprotocol ${DEVICE_SUBPROTOCOL}`);
    }
    const raw = bearer(req.headers.authorization);
    const token = raw === undefined ? undefined : parseDeviceToken(raw);
    if (token === undefined) {
      return new HubError(HubErrorCode.Unauthenticated, 'missing or malformed device credential');
    }
    // Failed upgrades count toward the device's reconnect limit (SPEC.md §9), but
    // only for the address that made them: a stranger with wrong tokens is held
    // back, while the device itself, connecting from elsewhere, is not.
    const now = Date.now();
    const attempt = `${requestClient(req)}\n${token.id}`;
    const failures = this.failedConnects.count(attempt, now);
    // Checked before the secret, whether or not the id exists, so the answer tells nothing either way.
    if (failures >= MAX_CONNECTS_PER_MINUTE) {
      return new HubError(HubErrorCode.RateLimited, `more than ${MAX_CONNECTS_PER_MINUTE} failed connections in a minute`, {
        retryAfter: 60,
      });
    }
    const entry = this.fleet.get(token.id);
    // Hash even for unknown devices, so the answer's timing does not reveal which ids exist.
    const presented = sha256(token.secret);
    if (entry === undefined || !sameHash(presented, entry.record.secretHash)) {
      this.failedConnects.hit(attempt, now);
      return new HubError(HubErrorCode.Unauthenticated, 'unknown device or wrong secret');
    }
    if (entry.record.revokedAt !== null) {
      this.failedConnects.hit(attempt, now);
      return new HubError(HubErrorCode.DeviceRevoked, 'the device is revoked');
    }
    entry.connects = entry.connects.filter((t) => t > now - 60_000);
    if (entry.connects.length + failures >= MAX_CONNECTS_PER_MINUTE) {
      return new HubError(HubErrorCode.RateLimited, `more than ${MAX_CONNECTS_PER_MINUTE} connections in a minute`, { retryAfter: 30 });
    }
    if (this.sessions.size >= this.config.maxConnections) {
      return new HubError(HubErrorCode.Unavailable, 'the hub is at its connection limit', { retryAfter: 30 });
    }
    entry.connects.push(now);
    return entry;
  }

  /** HELLO accepted: in a cluster, take the device over first (SPEC.md §8.6); then WELCOME. */
  sessionOpened(session: DeviceSession, hello: Hello): void {
    const e = session.entry;
    if (e.deleting) {
      // Counted as opened so that the end of the session, which uncounts it, balances.
      this.metrics.devicesConnected.inc();
      session.fail(CloseCode.Revoked, 'the device was deleted');
      return;
    }
    if (this.ownership === undefined) {
      this.newest.set(e, session);
      if (e.durableSeq >= e.acceptedSeq) {
        this.welcome(session, hello);
        return;
      }
      session.setReading(false);
      this.claiming.add(session);
      this.welcomeWhenSettled(session, hello);
      return;
    }
    // Nothing is read until WELCOME: the device's frames wait in TCP, not in memory.
    session.setReading(false);
    this.claiming.add(session);
    this.newest.set(e, session);
    const id = e.record.id;
    this.ownership
      .claim(id, session.id)
      // Read after the previous holder committed what it held: WELCOME's `acked` must not lag the store (nor lead it).
      .then(() => this.store.getDevice(id))
      .then(
        (record) => {
          if (!this.claiming.delete(session) || !session.isOpen) return;
          if (this.newest.get(e) !== session) {
            this.metrics.devicesConnected.inc();
            session.end(CloseCode.Replaced, 'replaced', 'replaced by a newer connection');
            return;
          }
          if (record === undefined || e.deleting) {
            this.metrics.devicesConnected.inc();
            session.fail(CloseCode.Revoked, 'the device was deleted');
            return;
          }
          if (record.lastSeq > e.durableSeq) e.durableSeq = record.lastSeq;
          if (record.lastSeq > e.acceptedSeq) e.acceptedSeq = record.lastSeq;
          // This node may have read frames of the device's earlier connection here too.
          this.claiming.add(session);
          this.welcomeWhenSettled(session, hello);
        },
        (err: unknown) => {
          if (!this.claiming.delete(session)) return;
          this.log.error({ err, device: id }, 'could not take the device over');
          this.metrics.devicesConnected.inc();
          session.fail(CloseCode.InternalError, 'could not take the device over; reconnect later');
        },
      );
  }

  /**
   * WELCOME once every frame read on the device's earlier connections is committed (or
   * its commit failed, so the device resends it): `acked` must cover them (SPEC.md §5.5).
   * A device that lost its counter numbers on from `acked`; with a frame still in a
   * commit, its new frames would take that frame's numbers and be acknowledged as
   * resends, never stored. Usually no wait at all; at most --welcome-wait, then the
   * connection is closed, to be tried again. Nothing of it is read meanwhile.
   */
  private welcomeWhenSettled(session: DeviceSession, hello: Hello): void {
    const e = session.entry;
    let timer: NodeJS.Timeout | undefined;
    const forget = () => {
      clearTimeout(timer);
      const waiting = this.settling.get(e);
      waiting?.delete(attempt);
      if (waiting?.size === 0) this.settling.delete(e);
    };
    const attempt = () => {
      if (e.durableSeq < e.acceptedSeq && session.isOpen && this.claiming.has(session)) return;
      forget();
      if (!this.claiming.delete(session) || !session.isOpen) return;
      if (this.newest.get(e) !== session) {
        this.metrics.devicesConnected.inc();
        session.end(CloseCode.Replaced, 'replaced', 'replaced by a newer connection');
        return;
      }
      this.welcome(session, hello);
      if (!this.storePaused) session.setReading(true);
    };
    if (e.durableSeq >= e.acceptedSeq) {
      attempt();
      return;
    }
    // The older connection, if still open, reads no more: what it read is all there is to wait for.
    e.session?.setReading(false);
    this.log.info(
      { device: e.record.id, session: session.id, frames: e.acceptedSeq - e.durableSeq },
      'device HELLO: WELCOME waits for frames of an earlier connection to be stored',
    );
    timer = setTimeout(() => {
      forget();
      // Given up: the older connection, if still open, reads again.
      const older = e.session;
      if (older !== undefined && !this.storePaused) older.setReading(true);
      if (!this.claiming.delete(session) || !session.isOpen) return;
      this.metrics.devicesConnected.inc();
      session.fail(CloseCode.InternalError, 'frames of an earlier connection are still being stored; reconnect later');
    }, this.config.welcomeWait);
    timer.unref();
    const waiting = this.settling.get(e) ?? new Set();
    waiting.add(attempt);
    this.settling.set(e, waiting);
  }

  /** Sessions waiting for the device's earlier frames try again (a commit landed or failed). */
  private settled(e: DeviceEntry): void {
    const waiting = this.settling.get(e);
    if (waiting !== undefined) for (const attempt of [...waiting]) attempt();
  }

  /** Reads again on every session but those not yet welcomed (they resume once they are). */
  private resumeReading(): void {
    for (const s of this.sessions) if (!this.claiming.has(s)) s.setReading(true);
  }

  /** The device is this node's: replace an older session here, answer WELCOME, announce presence. */
  private welcome(session: DeviceSession, hello: Hello): void {
    const e = session.entry;
    const older = e.session;
    if (older !== undefined && older !== session) older.end(CloseCode.Replaced, 'replaced', 'replaced by a newer connection');
    e.session = session;
    const now = Date.now();
    e.connectedAt = now;
    session.nextPingAt = now + this.config.pingInterval;
    session.send({
      type: MessageType.Welcome,
      acked: e.durableSeq,
      ping: Math.max(1, Math.round(this.config.pingInterval / 1000)),
      maxFrame: this.config.maxFrame,
      time: now,
      session: session.id,
    });
    const r = e.record;
    const caps = hello.caps ?? [];
    if (r.firmware !== hello.fw || r.model !== hello.model || r.boot !== (hello.boot ?? null) || !sameList(r.caps, caps)) {
      e.record = { ...r, firmware: hello.fw, model: hello.model, boot: hello.boot ?? null, caps };
      this.store
        .op('recordHello', { rowid: r.rowid, firmware: hello.fw, model: hello.model, boot: hello.boot ?? null, caps })
        // Once stored (other nodes read it from the store): the console's table, alarm rules that
        // select by model and the MQTT mirror learn the new firmware, model or capabilities.
        .then(() => {
          if (!e.deleting) this.bus.publish('device', { device: this.fleet.info(e) });
        })
        .catch((err) => this.log.error({ err, device: r.id }, 'could not record HELLO'));
    }
    this.metrics.devicesConnected.inc();
    this.log.debug({ device: r.id, session: session.id, remote: session.remote, fw: hello.fw }, 'device online');
    this.presence(e, true, 'connected', null, now);
    this.hooks.online(e, session, hello);
  }

  /** A session is over, for whatever reason; `wasOpen` if it had passed HELLO. */
  sessionEnded(session: DeviceSession, wasOpen: boolean, reason: PresenceReason, code: number | null): void {
    this.sessions.delete(session);
    const e = session.entry;
    // Ended while the cluster handed it over: never welcomed, never counted, nothing announced.
    if (this.claiming.delete(session)) {
      this.ownership?.release(e.record.id, session.id);
      return;
    }
    if (!wasOpen) return;
    this.metrics.devicesConnected.dec();
    if (e.session !== session) return; // replaced: the newer session carries presence on
    this.ownership?.release(e.record.id, session.id);
    e.session = undefined;
    e.connectedAt = null;
    this.presence(e, false, reason, code, Date.now());
    this.hooks.offline(e);
  }

  private presence(e: DeviceEntry, online: boolean, reason: PresenceReason, code: number | null, at: number): void {
    // A device being deleted gets no more history rows: they would outlive it.
    if (!e.deleting) this.presenceQueue.push({ device: e.record.rowid, online, reason, code, at });
    this.bus.publish('presence', { presence: { device: e.record.id, online, reason, code, at }, rtt: e.rtt, lastSeen: e.lastSeen });
  }

  /** Presence history, last-seen times and RTTs are written in batches, once a second. */
  private flushPresence(): void {
    // Kept for when the server answers again (bounded: upgrades are refused meanwhile), not failed once a second.
    if (this.storeDown) return;
    if (this.presenceQueue.length > 0) {
      const rows = this.presenceQueue;
      this.presenceQueue = [];
      this.store.op('recordPresence', rows).catch((err) => this.log.error({ err }, 'could not record presence'));
    }
    const touches = [];
    for (const e of this.fleet.entries()) {
      if (e.dirty && e.lastSeen !== null) {
        touches.push({ rowid: e.record.rowid, lastSeen: e.lastSeen, rtt: e.rtt });
        e.dirty = false;
      }
    }
    if (touches.length > 0)
      this.store.op('touchDevices', touches).catch((err) => this.log.error({ err }, 'could not record last-seen times'));
  }

  /** Pings due sessions; drops those silent since a ping for longer than --ping-timeout. */
  private liveness(): void {
    const now = Date.now();
    for (const s of this.sessions) {
      if (!s.isOpen) continue;
      if (s.pingSentAt > 0 && s.lastHeard < s.pingSentAt && now - s.pingSentAt >= this.config.pingTimeout) {
        s.terminate('timeout');
      } else if (now >= s.nextPingAt) {
        s.pingSentAt = now;
        s.nextPingAt = now + this.config.pingInterval;
        try {
          s.ws.ping();
        } catch {
          s.terminate('error');
        }
      }
    }
  }

  ingest(e: DeviceEntry, m: DecodedUplink, data: Buffer, now: number): void {
    const meta: FrameMeta = { entry: e, message: m, receivedAt: performance.now() };
    this.store.ingest(e.record.rowid, (m as { seq: number }).seq, now, m.type, data, meta);
    this.metrics.storeBacklog.set(this.store.backlog);
    this.pendingPoints += pointsOf(meta);
    if (!this.backlogPaused && (this.store.backlog >= BACKLOG_HIGH || this.pendingPoints >= PENDING_POINTS_HIGH))
      this.pauseReads('backlog');
  }

  /** Frames the store dropped unsent (after a failed commit, or of a deleted device) no longer wait. */
  private discardPending(devices: ReadonlySet<number>): void {
    for (const m of this.store.discardPending(devices)) this.pendingPoints -= pointsOf(m);
  }

  /** The store is behind (`why`): stop reading every socket until it catches up (TCP pushes back on devices). */
  private pauseReads(why: 'backlog' | 'compaction'): void {
    this.backlogPaused = true;
    const now = Date.now();
    this.pausedSince = now;
    this.metrics.storePauses.inc();
    // Under sustained overload this happens several times a second: one line a minute.
    if (now - this.lastPauseLog >= 60_000) {
      this.lastPauseLog = now;
      this.log.warn(
        { backlog: this.store.backlog, uncompactedPoints: this.hooks.uncompactedPoints() },
        why === 'backlog'
          ? 'store backlog high: pausing device reads (halyard_store_pauses_total counts each time)'
          : 'telemetry compaction behind: pausing device reads (halyard_store_pauses_total counts each time)',
      );
    }
    for (const s of this.sessions) s.setReading(false);
  }

  /** Reads resume once the backlog and the points waiting for compaction are both low again. */
  private resumeIfCaughtUp(): void {
    if (!this.backlogPaused || this.store.backlog > BACKLOG_LOW || this.pendingPoints > PENDING_POINTS_LOW) return;
    if (this.hooks.uncompactedPoints() > TAIL_LOW) return;
    this.backlogPaused = false;
    if (!this.storeDown) this.resumeReading();
  }

  private onCommitted(o: BatchOutcome<FrameMeta>): void {
    for (const m of o.metas) this.pendingPoints -= pointsOf(m);
    this.metrics.storeBacklog.set(this.store.backlog);
    this.resumeIfCaughtUp();
    if (o.error !== undefined || o.result === undefined) {
      this.onCommitFailed(o);
      return;
    }
    this.metrics.batchFrames.observe(o.frames);
    let points = 0;
    for (const meta of o.metas) if (meta.message.type === MessageType.Telemetry) points += meta.message.records.length;
    this.metrics.telemetryPoints.inc(points);
    for (const [rowid, seq] of o.result.seqs) {
      const e = this.fleet.getByRowid(rowid);
      if (e === undefined) continue;
      if (seq > e.durableSeq) e.durableSeq = seq;
      this.ackDue.add(e);
      e.session?.committed();
      this.settled(e);
    }
    this.sendAcks(ACK_SLICE);
    const now = performance.now();
    const eventIds = new Map(o.result.events.map((ev) => [`${ev.device}:${ev.seq}`, ev.id]));
    for (const meta of o.metas) {
      const ms = now - meta.receivedAt;
      this.metrics.ackLatency.observe(ms / 1000);
      this.metrics.ackWindow.add(ms);
      const m = meta.message;
      const id = meta.entry.record.id;
      if (m.type === MessageType.Telemetry) {
        this.hooks.telemetryStored(o.result.gen, meta.entry, m.records);
        this.bus.publish('telemetry', { device: id, records: m.records });
      } else if (m.type === MessageType.Event) {
        this.bus.publish('event', {
          event: {
            id: eventIds.get(`${meta.entry.record.rowid}:${m.seq}`) ?? 0,
            device: id,
            name: m.name,
            level: m.level ?? 1,
            data: m.data === undefined ? null : dataToJson(m.data),
            time: m.time,
            receivedAt: Date.now(),
          },
        });
      }
    }
    if (o.result.reported.length > 0) this.hooks.reportedApplied(o.result.reported);
    if (o.result.updates.length > 0) this.hooks.updateStatusApplied(o.result.updates);
    if (o.result.skipped > 0) this.log.error({ skipped: o.result.skipped }, 'store skipped frames the gateway had accepted');
    // Committed points wait in memory for their generation's compaction: past the bound, read no more until it catches up.
    if (!this.backlogPaused && this.hooks.uncompactedPoints() >= TAIL_HIGH) this.pauseReads('compaction');
  }

  /**
   * A commit failed (disk full, read-only file...). Nothing of it was stored, so
   * nothing is acknowledged: the affected devices are disconnected and will resend
   * from their buffers when they reconnect (SPEC.md §5.5).
   */
  private onCommitFailed(o: BatchOutcome<FrameMeta>): void {
    this.metrics.storeFailures.inc();
    const entries = new Set(o.metas.map((m) => m.entry));
    // With the server unreachable the store has said so once (storage-health.ts): a line per batch would only repeat it.
    this.log[this.storeDown ? 'debug' : 'error'](
      { err: o.error?.message, frames: o.frames, devices: entries.size },
      'commit failed: not acknowledging; disconnecting the devices',
    );
    this.discardPending(new Set([...entries].map((e) => e.record.rowid)));
    for (const e of entries) {
      e.acceptedSeq = e.durableSeq;
      e.session?.fail(CloseCode.InternalError, 'storage unavailable; reconnect later and resend');
      this.settled(e);
    }
  }

  /**
   * A device being deleted (already out of the fleet's lookups): ends every session
   * of it, opened or not, and drops its frames and presence rows not yet written.
   */
  disconnectDeleted(e: DeviceEntry): void {
    for (const s of [...this.sessions]) if (s.entry === e) s.fail(CloseCode.Revoked, 'the device was deleted');
    this.discardPending(new Set([e.record.rowid]));
    this.presenceQueue = this.presenceQueue.filter((p) => p.device !== e.record.rowid);
    this.ackDue.delete(e);
  }

  /** Ends a device's live session (revoked, token rotated, deleted). */
  disconnect(id: string, code: number, message: string): void {
    const e = this.fleet.get(id);
    e?.session?.fail(code, message);
    for (const s of this.sessions) if (s.entry.record.id === id && !s.isOpen) s.fail(code, message);
  }

  /**
   * Another node takes the device over (ownership.ts): nothing more is read, what
   * was read is committed and acknowledged, then the session closes with 4409.
   */
  async letGo(device: string, sessionId: string): Promise<void> {
    const s = this.findSession(device, sessionId);
    if (s === undefined) return;
    if (this.claiming.has(s) || !s.isOpen) {
      s.end(CloseCode.Replaced, 'replaced', 'replaced by a connection to another hub node');
      return;
    }
    s.setReading(false);
    await this.store.drain();
    this.ackNow(s.entry);
    s.end(CloseCode.Replaced, 'replaced', 'replaced by a connection to another hub node');
  }

  *held(): Iterable<[string, string]> {
    for (const s of this.sessions) if (s.isOpen && !this.claiming.has(s)) yield [s.entry.record.id, s.id];
  }

  /** A session of the device by its id: the welcomed one, else one still being handed over. */
  private findSession(device: string, sessionId: string): DeviceSession | undefined {
    const current = this.fleet.get(device)?.session;
    if (current?.id === sessionId) return current;
    for (const s of this.claiming) if (s.id === sessionId && s.entry.record.id === device) return s;
    return undefined;
  }

  leaseLost(device: string, sessionId: string): void {
    const s = this.findSession(device, sessionId);
    if (s === undefined) return;
    this.log.warn({ device, session: sessionId }, 'another node holds the device now; closing this session');
    s.end(CloseCode.Replaced, 'replaced', 'replaced by a connection to another hub node');
  }

  commandAccepted(e: DeviceEntry, id: string): void {
    this.hooks.commandAccepted(e, id);
  }

  commandResult(e: DeviceEntry, m: DecodedUplink & { type: typeof MessageType.CmdResult }): void {
    this.hooks.commandResult(e, m);
  }

  chunkRequest(e: DeviceEntry, session: DeviceSession, m: DecodedUplink & { type: typeof MessageType.ChunkRequest }): void {
    this.hooks.chunkRequest(e, session, m);
  }

  admitTelemetry(e: DeviceEntry, records: readonly ResolvedRecord[]): string | undefined {
    return this.hooks.admitTelemetry(e, records);
  }

  /** Sends the device's ACK now if one is due (before an ERROR, SPEC.md §8.3). */
  ackNow(e: DeviceEntry): void {
    if (this.ackDue.delete(e)) e.session?.send({ type: MessageType.Ack, seq: e.durableSeq });
  }

  /**
   * Sends the ACKs due, at most `max` now and the rest in later turns. Each ACK is
   * a socket write, and a commit can owe a thousand devices one: in slices, device
   * reads go on in between; and a device whose ACK is still waiting when its next
   * commit lands gets one ACK for both (it is cumulative), so under load there are
   * fewer writes, not more.
   */
  private sendAcks(max: number): void {
    let n = 0;
    for (const e of this.ackDue) {
      if (n++ >= max) break;
      this.ackDue.delete(e);
      e.session?.send({ type: MessageType.Ack, seq: e.durableSeq });
    }
    if (this.ackDue.size > 0 && !this.acksScheduled) {
      this.acksScheduled = true;
      setImmediate(() => {
        this.acksScheduled = false;
        this.sendAcks(ACK_SLICE);
      });
    }
  }

  /** Stops accepting, closes every session with 1001, writes presence. */
  async shutdown(): Promise<void> {
    this.shuttingDown = true;
    this.sendAcks(Number.POSITIVE_INFINITY);
    clearInterval(this.ticker);
    clearInterval(this.flusher);
    const closed = [...this.sessions].map(
      (s) =>
        new Promise<void>((resolve) => {
          if (s.ws.readyState === s.ws.CLOSED) return resolve();
          s.ws.once('close', () => resolve());
          s.end(CloseCode.GoingAway, 'shutdown', 'hub shutting down');
        }),
    );
    await Promise.race([Promise.all(closed), new Promise((r) => setTimeout(r, 2_000))]);
    for (const s of this.sessions) s.ws.terminate();
    this.flushPresence();
    this.wss.close();
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
