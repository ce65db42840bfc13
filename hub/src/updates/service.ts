// Firmware updates of single devices (docs/firmware.md, SPEC.md §12): the unit a
// fleet job will be made of. The service offers an update to its device whenever the
// device is connected (listing `ota`), serves the device's CHUNK_REQUESTs from the
// store (the device drives the pace; at most 16 outstanding per session), takes the
// device's UPDATE_STATUS once its ingest batch has committed it, decides `succeeded`
// from the HELLO that carries the new version and `rolled_back` from one that comes
// back on the old version after `rebooting`, and applies the step timeouts and the
// retry limit of §12.7. Open updates are reloaded at start: a restarted hub resumes
// every download at the offset the device reports in HELLO. Every change is published
// on the bus (`update`); in a cluster the other nodes keep their copy in step from
// it, and the node holding the device's session offers or withdraws the update.

import { randomBytes } from 'node:crypto';
import {
  type ChunkRequest,
  CloseCode,
  FINAL_UPDATE_STATES,
  type Hello,
  MessageType,
  UPDATE_CAPABILITY,
  type UpdateInfo,
  UpdateLimits,
  type UpdateOffer,
  updateReasonName,
} from '@halyard/firmware-protocol';
import { type Audit, type Requester, viaDetail } from '../audit.js';
import type { EventBus } from '../bus.js';
import type { DeviceSession } from '../device/session.js';
import { HubError, HubErrorCode } from '../errors.js';
import type { FirmwareLibrary } from '../firmware/library.js';
import type { DeviceEntry, Fleet } from '../fleet.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { DeviceUpdateRecord, UpdateStateName, UpdateStatusOutcome } from '../store/device-updates.js';

export type { UpdateInfo };

import type { FirmwareRecord } from '../store/firmware.js';
import type { Store } from '../store/store.js';
import { ImageReader } from './image-reader.js';

/** Step timeouts and limits (SPEC.md §12.7); tests shorten them. */
export interface UpdateTimeouts {
  offerAnswerMs: number;
  downloadIdleMs: number;
  installMs: number;
  maxAttempts: number;
  /** How often the timeouts are checked, ms. */
  sweepMs: number;
}

export const DEFAULT_TIMEOUTS: Readonly<UpdateTimeouts> = Object.freeze({
  offerAnswerMs: UpdateLimits.offerAnswerMs,
  downloadIdleMs: UpdateLimits.downloadIdleMs,
  installMs: UpdateLimits.installMs,
  maxAttempts: UpdateLimits.maxAttempts,
  sweepMs: 1_000,
});

/** An update not over, with its image, and when the device last did something for it. */
interface Active {
  update: DeviceUpdateRecord;
  image: FirmwareRecord;
  /** Date.now() of the last offer, request or status while connected; reset when the device connects. */
  lastActivity: number;
}

/** Per session: requests outstanding and the tail of its answers (answered in order). */
interface Serving {
  outstanding: number;
  tail: Promise<void>;
}

const OPEN_SENDS_OFFER: ReadonlySet<UpdateStateName> = new Set(['offered', 'downloading', 'downloaded', 'verifying', 'installing']);

export class UpdateService {
  readonly reader: ImageReader;
  /** Open updates by device rowid (at most one each). */
  private readonly active = new Map<number, Active>();
  private readonly serving = new WeakMap<DeviceSession, Serving>();
  private readonly timer: NodeJS.Timeout;

  private constructor(
    private readonly store: Store,
    private readonly fleet: Fleet,
    private readonly firmware: FirmwareLibrary,
    private readonly audit: Audit,
    private readonly log: Logger,
    private readonly metrics: Pick<Metrics, 'firmwareBytesServed' | 'updatesFinished'>,
    private readonly bus: EventBus,
    /** Another node may create or end updates of devices connected here (--cluster). */
    private readonly clustered: boolean,
    private readonly limits: UpdateTimeouts,
  ) {
    this.reader = new ImageReader(store);
    if (clustered) bus.subscribe('update', ({ update }) => this.changedElsewhere(update), 'remote');
    // A deleted device's updates went with it (the store deletes them): forget them here too.
    bus.subscribe('device.removed', ({ id }) => {
      for (const [rowid, a] of this.active) if (a.update.deviceId === id) this.active.delete(rowid);
    });
    this.timer = setInterval(() => void this.checkTimeouts(Date.now()), limits.sweepMs);
    this.timer.unref();
  }

  /** Loads the open updates (a restarted hub resumes them as their devices return). */
  static async start(
    store: Store,
    fleet: Fleet,
    firmware: FirmwareLibrary,
    audit: Audit,
    log: Logger,
    metrics: Pick<Metrics, 'firmwareBytesServed' | 'updatesFinished'>,
    bus: EventBus,
    clustered: boolean,
    limits: Partial<UpdateTimeouts> = {},
  ): Promise<UpdateService> {
    const s = new UpdateService(store, fleet, firmware, audit, log, metrics, bus, clustered, { ...DEFAULT_TIMEOUTS, ...limits });
    const now = Date.now();
    for (const u of await store.openDeviceUpdates()) {
      const image = u.firmwareId === null ? undefined : await store.getFirmware(u.firmwareId);
      if (image === undefined) continue; // cannot happen: an image in use is not deleted
      s.active.set(u.deviceRowid, { update: u, image, lastActivity: now });
    }
    if (s.active.size > 0) log.info({ updates: s.active.size }, 'resumed open firmware updates');
    return s;
  }

  close(): void {
    clearInterval(this.timer);
  }

  // ---- the API -------------------------------------------------------------------

  /** `forJob`: the fleet job (jobs/scheduler.ts) creating it, with the update id it chose ahead (so a retry after a crash finds it). */
  async create(requester: Requester, deviceId: string, firmwareId: string, forJob?: { job: string; id: string }): Promise<UpdateInfo> {
    const entry = this.fleet.get(deviceId);
    if (entry === undefined) throw new HubError(HubErrorCode.DeviceUnknown, `no device "${deviceId}"`);
    const image = await this.firmware.record(firmwareId);
    if (!image.complete) throw new HubError(HubErrorCode.FirmwareUnknown, `firmware "${firmwareId}" is still being uploaded`);
    const r = entry.record;
    if (r.model !== null && r.model !== image.model)
      throw new HubError(HubErrorCode.Validation, `firmware: the image is for model "${image.model}", the device is "${r.model}"`, {
        field: 'firmware',
      });
    if (r.firmware === image.version)
      throw new HubError(HubErrorCode.Validation, `firmware: the device already runs ${image.version}`, { field: 'firmware' });
    const now = Date.now();
    const update = await this.store.op('createDeviceUpdate', {
      id: forJob?.id ?? newUpdateId(),
      device: r.rowid,
      firmware: image.rowid,
      job: forJob?.job ?? null,
      fromFw: r.firmware,
      toFw: image.version,
      createdAt: now,
      createdBy: requester.actor,
    });
    const a: Active = { update, image, lastActivity: now };
    this.active.set(r.rowid, a);
    this.publish(update, image.size);
    await this.audit(
      requester.actor,
      'update.start',
      deviceId,
      viaDetail(requester, { update: update.id, firmware: image.id, version: image.version }),
    );
    this.log.info({ device: deviceId, update: update.id, firmware: image.id, version: image.version }, 'firmware update started');
    const session = entry.session;
    if (session?.isOpen && this.takesUpdates(entry)) this.offer(entry, session, a);
    return this.info(update);
  }

  /**
   * Cancels before installing (SPEC.md §12.9); UpdateFinal once installing or over.
   * `deadline`: an overall deadline (a fleet job's) passed, so the update ends
   * `timed_out` rather than `cancelled` (SPEC.md §12.7); the device sees the same
   * UPDATE_CANCEL either way.
   */
  async cancel(requester: Requester, id: string, opts: { deadline?: boolean } = {}): Promise<UpdateInfo> {
    const u = await this.store.getDeviceUpdate(id);
    if (u === undefined) throw new HubError(HubErrorCode.UpdateUnknown, `no update "${id}"`);
    const done = await this.store.op('transitionUpdate', {
      id,
      from: ['offered', 'downloading', 'downloaded', 'verifying'],
      to: opts.deadline === true ? 'timed_out' : 'cancelled',
      now: Date.now(),
    });
    if (done === null)
      throw new HubError(
        HubErrorCode.UpdateFinal,
        u.state === 'installing' || u.state === 'rebooting'
          ? `update ${id} is ${u.state}: too late to cancel`
          : `update ${id} is over (${u.state})`,
      );
    this.settled(done);
    this.publish(done, null);
    const entry = this.fleet.getByRowid(done.deviceRowid);
    if (entry?.session?.isOpen && this.takesUpdates(entry)) entry.session.send({ type: MessageType.UpdateCancel, job: id });
    await this.audit(
      requester.actor,
      'update.cancel',
      done.deviceId,
      viaDetail(requester, opts.deadline === true ? { update: id, deadline: true } : { update: id }),
    );
    return this.info(done);
  }

  async get(id: string): Promise<UpdateInfo> {
    const u = await this.store.getDeviceUpdate(id);
    if (u === undefined) throw new HubError(HubErrorCode.UpdateUnknown, `no update "${id}"`);
    return this.info(u);
  }

  async list(deviceId: string, limit = 50): Promise<UpdateInfo[]> {
    const entry = this.fleet.get(deviceId);
    if (entry === undefined) throw new HubError(HubErrorCode.DeviceUnknown, `no device "${deviceId}"`);
    return Promise.all((await this.store.listDeviceUpdates(entry.record.rowid, limit)).map((u) => this.info(u)));
  }

  private async info(u: DeviceUpdateRecord): Promise<UpdateInfo> {
    const a = this.active.get(u.deviceRowid);
    if (a !== undefined && a.update.id === u.id) return infoOf(u, a.image.size);
    return infoOf(u, u.firmwareId === null ? null : ((await this.store.getFirmware(u.firmwareId))?.size ?? null));
  }

  /** Tells the bus (consoles and MQTT later, the other nodes of a cluster now); `size` when known, else looked up. */
  private publish(u: DeviceUpdateRecord, size: number | null): void {
    if (size !== null) {
      this.bus.publish('update', { update: infoOf(u, size) });
      return;
    }
    this.info(u).then(
      (update) => this.bus.publish('update', { update }),
      (err: unknown) => this.log.error({ err, update: u.id }, 'could not announce a firmware update change'),
    );
  }

  /**
   * Cluster mode: an update changed on another node. An open one is brought into this
   * node's memory (and offered, when it is new here and its device is connected here);
   * one that ended is dropped, and a cancelled or timed-out one withdrawn from the device.
   */
  private changedElsewhere(info: UpdateInfo): void {
    const entry = this.fleet.get(info.device);
    if (entry === undefined) return;
    const a = this.active.get(entry.record.rowid);
    const known = a !== undefined && a.update.id === info.id;
    if (FINAL_UPDATE_STATES.has(info.state)) {
      if (known) this.active.delete(entry.record.rowid);
      if ((info.state === 'cancelled' || info.state === 'timed_out') && entry.session?.isOpen && this.takesUpdates(entry))
        entry.session.send({ type: MessageType.UpdateCancel, job: info.id });
      return;
    }
    this.load(entry, info.id, !known).catch((err: unknown) =>
      this.log.error({ err, update: info.id }, 'could not load a firmware update started on another node'),
    );
  }

  /** Reads update `id` from the store into memory; offers it when `offer` and its device is connected here. */
  private async load(entry: DeviceEntry, id: string, offer: boolean): Promise<Active | undefined> {
    const u = await this.store.getDeviceUpdate(id);
    if (u === undefined || u.finishedAt !== null) return undefined;
    let a = this.active.get(u.deviceRowid);
    if (a === undefined || a.update.id !== u.id) {
      const image = u.firmwareId === null ? undefined : await this.store.getFirmware(u.firmwareId);
      if (image === undefined) return undefined;
      a = { update: u, image, lastActivity: Date.now() };
      this.active.set(u.deviceRowid, a);
    } else a.update = u;
    const session = entry.session;
    if (offer && session?.isOpen && this.takesUpdates(entry) && u.state === 'offered') this.offer(entry, session, a);
    return a;
  }

  // ---- the device side -----------------------------------------------------------

  private takesUpdates(entry: DeviceEntry): boolean {
    return entry.record.caps.includes(UPDATE_CAPABILITY);
  }

  /**
   * After WELCOME, DESIRED and pending commands (SPEC.md §12.2): decide from HELLO's
   * version, withdraw a job the device holds that is over, or offer the open update.
   */
  async online(entry: DeviceEntry, session: DeviceSession, hello: Hello): Promise<void> {
    let a = this.active.get(entry.record.rowid);
    // In a cluster an update may have been created while this node missed the event (Redis away): the store knows.
    if (a === undefined && this.clustered) {
      const last = (await this.store.listDeviceUpdates(entry.record.rowid, 1))[0];
      if (last !== undefined && last.finishedAt === null) a = await this.load(entry, last.id, false);
    }
    const held = hello.update;
    if (held !== undefined && (a === undefined || a.update.id !== held.job) && this.takesUpdates(entry))
      session.send({ type: MessageType.UpdateCancel, job: held.job });
    if (a === undefined) return;
    const u = a.update;
    const now = Date.now();
    a.lastActivity = now;
    if (hello.fw === u.toFw) {
      await this.decide(u, 'succeeded', now, null);
      return;
    }
    if (u.state === 'rebooting') {
      // Back from the reboot on another version: the new image did not stay (Appendix B, rollback).
      await this.decide(u, 'rolled_back', now, null);
      return;
    }
    if (session.isOpen && OPEN_SENDS_OFFER.has(u.state) && this.takesUpdates(entry)) this.offer(entry, session, a);
  }

  private async decide(u: DeviceUpdateRecord, to: UpdateStateName, now: number, reason: number | null): Promise<void> {
    const done = await this.store.op('transitionUpdate', { id: u.id, to, now, ...(reason === null ? {} : { reason }) });
    if (done === null) return;
    const size = this.active.get(done.deviceRowid)?.image.size ?? null;
    this.settled(done);
    this.publish(done, size);
  }

  private offer(entry: DeviceEntry, session: DeviceSession, a: Active): void {
    const { image, update } = a;
    const offer: UpdateOffer = {
      type: MessageType.UpdateOffer,
      job: update.id,
      model: image.model,
      fw: image.version,
      size: image.size,
      sha256: image.sha256 as Uint8Array,
      chunk: UpdateLimits.maxChunk,
    };
    if (image.signature !== null) offer.sig = image.signature;
    a.lastActivity = Date.now();
    session.send(offer);
    this.log.debug({ device: entry.record.id, update: update.id, state: update.state }, 'firmware update offered');
  }

  /**
   * A CHUNK_REQUEST (SPEC.md §12.3): answered in order from the store, at most 16
   * outstanding per session, a request counting until its CHUNK has been written out.
   */
  chunkRequest(entry: DeviceEntry, session: DeviceSession, m: ChunkRequest): void {
    const a = this.active.get(entry.record.rowid);
    // A job that ended meanwhile (cancelled, timed out): its requests still in flight are ignored.
    if (a === undefined || a.update.id !== m.job) {
      this.log.debug({ device: entry.record.id, job: m.job }, 'CHUNK_REQUEST for a job not running: ignored');
      return;
    }
    if (m.length > UpdateLimits.maxChunk || m.offset + m.length > a.image.size) {
      session.fail(
        CloseCode.Malformed,
        `CHUNK_REQUEST ${m.offset}+${m.length} is past the image (${a.image.size} bytes) or longer than the offer's chunk (SPEC.md §12.3)`,
      );
      return;
    }
    let s = this.serving.get(session);
    if (s === undefined) {
      s = { outstanding: 0, tail: Promise.resolve() };
      this.serving.set(session, s);
    }
    if (++s.outstanding > UpdateLimits.maxOutstandingChunks) {
      session.fail(CloseCode.RateLimited, `more than ${UpdateLimits.maxOutstandingChunks} CHUNK_REQUESTs outstanding (SPEC.md §12.3)`);
      return;
    }
    a.lastActivity = Date.now();
    const serving = s;
    const read = this.reader.read(a.image, m.offset, m.length);
    // Handled in turn below; until then a failed read must not count as unhandled.
    read.catch(() => {});
    serving.tail = serving.tail
      .then(() => read)
      .then(
        (data) => {
          // Outstanding until the CHUNK has left for the kernel: a device that asks and
          // never reads would otherwise pile every answer up in this process.
          const done = () => serving.outstanding--;
          if (session.isOpen && session.send({ type: MessageType.Chunk, job: m.job, offset: m.offset, data }, done))
            this.metrics.firmwareBytesServed.inc(data.length);
          else done();
        },
        (err: unknown) => {
          serving.outstanding--;
          this.log.error({ err, device: entry.record.id, update: m.job }, 'could not read a firmware chunk');
          session.fail(CloseCode.InternalError, 'could not read the firmware image; reconnect later');
        },
      );
  }

  /** UPDATE_STATUS messages committed by an ingest batch (SPEC.md §12.5). */
  statusApplied(outcomes: readonly UpdateStatusOutcome[]): void {
    const now = Date.now();
    for (const o of outcomes) {
      const u = o.update;
      const a = this.active.get(u.deviceRowid);
      this.publish(u, a !== undefined && a.update.id === u.id ? a.image.size : null);
      if (u.finishedAt !== null) {
        this.settled(u);
        continue;
      }
      if (a === undefined || a.update.id !== u.id) continue;
      a.update = u;
      a.lastActivity = now;
      if (u.state === 'offered' && o.before !== 'offered') {
        // A retryable failure (SPEC.md §12.6): a new attempt, offered at once.
        this.log.warn(
          { device: u.deviceId, update: u.id, reason: updateReasonName(u.reason ?? 0), attempt: u.attempts },
          'firmware update attempt failed: offering again',
        );
        const entry = this.fleet.getByRowid(u.deviceRowid);
        if (entry?.session?.isOpen) this.offer(entry, entry.session, a);
      }
    }
  }

  /** An update reached a final state: forget it here, say so once. */
  private settled(u: DeviceUpdateRecord): void {
    const a = this.active.get(u.deviceRowid);
    if (a === undefined || a.update.id !== u.id) return; // already settled here
    this.active.delete(u.deviceRowid);
    this.metrics.updatesFinished.inc({ state: u.state });
    const reason = u.reason === null ? undefined : updateReasonName(u.reason);
    const line = { device: u.deviceId, update: u.id, state: u.state, reason, version: u.toFw };
    if (u.state === 'succeeded' || u.state === 'cancelled') this.log.info(line, `firmware update ${u.state}`);
    else this.log.warn(line, `firmware update ${u.state}`);
  }

  /** Step timeouts and the retry limit (SPEC.md §12.7), as of `now` (the timer's clock; tests pass a later one). */
  async checkTimeouts(now: number): Promise<void> {
    const expiring: Promise<void>[] = [];
    for (const a of this.active.values()) {
      const u = a.update;
      if (u.state === 'installing' || u.state === 'rebooting') {
        // Counted whether or not the device is connected: it is meant to come back.
        if (now - u.updatedAt > this.limits.installMs) expiring.push(this.expire(a, true, now));
        continue;
      }
      // Time offline does not count: the device resumes when it is back (SPEC.md §12.7).
      if (this.fleet.getByRowid(u.deviceRowid)?.session?.isOpen !== true) continue;
      const idle = now - a.lastActivity;
      if ((u.state === 'offered' && idle > this.limits.offerAnswerMs) || (u.state === 'downloading' && idle > this.limits.downloadIdleMs))
        expiring.push(this.expire(a, false, now));
    }
    await Promise.all(expiring);
  }

  /** A step took too long: the attempt failed; after the last attempt, or an install that never reported back, timed_out. */
  private async expire(a: Active, final: boolean, now: number): Promise<void> {
    const u = a.update;
    a.lastActivity = now; // not again before the next step's time
    const last = final || u.attempts >= this.limits.maxAttempts;
    try {
      const next = await this.store.op('transitionUpdate', {
        id: u.id,
        from: [u.state],
        to: last ? 'timed_out' : 'offered',
        attempt: !last,
        now,
      });
      if (next === null) return;
      this.publish(next, a.image.size);
      const entry = this.fleet.getByRowid(u.deviceRowid);
      if (last) {
        this.settled(next);
        if (entry?.session?.isOpen && this.takesUpdates(entry)) entry.session.send({ type: MessageType.UpdateCancel, job: u.id });
      } else {
        a.update = next;
        this.log.warn(
          { device: u.deviceId, update: u.id, step: u.state, attempt: next.attempts },
          'firmware update step timed out: offering again at the next connection',
        );
      }
    } catch (err) {
      this.log.error({ err, update: u.id }, 'could not record a firmware update timeout');
    }
  }
}

/** An update id as devices see it in UPDATE_OFFER: `u-` and 12 hex digits. */
export function newUpdateId(): string {
  return `u-${randomBytes(6).toString('hex')}`;
}

function infoOf(u: DeviceUpdateRecord, size: number | null): UpdateInfo {
  return {
    id: u.id,
    device: u.deviceId,
    firmware: u.firmwareId,
    job: u.job,
    state: u.state,
    progress: u.progress,
    size,
    reason: u.reason === null ? null : updateReasonName(u.reason),
    reasonCode: u.reason,
    detail: u.detail,
    fromFw: u.fromFw,
    toFw: u.toFw,
    attempts: u.attempts,
    createdAt: u.createdAt,
    createdBy: u.createdBy,
    updatedAt: u.updatedAt,
    finishedAt: u.finishedAt,
  };
}
