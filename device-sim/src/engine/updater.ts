// Firmware updates as firmware does them (SPEC.md §12, Appendix B): A/B slots, a
// download the device pulls chunk by chunk at its own link speed, resumable at the
// offset it holds after a reconnect or a reboot, verified (size, SHA-256, Ed25519)
// before installing, then a reboot into the new slot that confirms itself after
// WELCOME, or rolls back. Faults by option: corrupt download, install failure, boot
// failure (rolled_back), refusal, going offline mid-download.
//
// The "flash" is this object: it outlives connections and simulated reboots. It never
// holds the image: a running SHA-256 and the count of bytes written stand for the
// slot, so a thousand devices updating at once cost a few KB each.

import { createHash, type Hash, type KeyObject, verify } from 'node:crypto';
import {
  CHUNK_OVERHEAD,
  type Chunk,
  MessageType,
  signedBytes,
  UPDATE_STATE_NAMES,
  UpdateLimits,
  type UpdateOffer,
  UpdateReason,
  UpdateState,
  type UpdateStateNumber,
  type UplinkMessage,
  updateReasonName,
} from '@halyard/firmware-protocol';

export const UPDATE_FAULTS = ['corrupt', 'install-fail', 'boot-fail', 'reject', 'offline'] as const;
export type UpdateFault = (typeof UPDATE_FAULTS)[number];

export interface UpdateOptions {
  /** Download speed of the device's link, bytes/s; 0: as fast as the hub answers. */
  speed: number;
  /** CHUNK_REQUESTs kept outstanding (1-16, SPEC.md §12.3). */
  window: number;
  /** Ed25519 public key to verify offers with; undefined: signatures are not checked, unsigned offers taken. */
  publicKey: KeyObject | undefined;
  /** The fault this device's updates suffer; undefined: none. */
  fault: UpdateFault | undefined;
  /** Time to write the new slot, ms. */
  installMs: number;
}

export const DEFAULT_UPDATE_OPTIONS: Readonly<UpdateOptions> = Object.freeze({
  speed: 0,
  window: 4,
  publicKey: undefined,
  fault: undefined,
  installMs: 200,
});

/** What the updater needs from its device. */
export interface UpdaterHost {
  readonly model: string;
  /** The version in the running slot. */
  runningFw(): string;
  /** Sends now when connected (CHUNK_REQUEST is not in the sequence space: §12.3). */
  sendDirect(message: UplinkMessage): void;
  /** Queues a message in the sequence space (UPDATE_STATUS: §12.5). */
  enqueue(make: (seq: number) => UplinkMessage): void;
  /** Reboots; `fw` runs after it. */
  rebootInto(fw: string): void;
  /** Drops the connection abruptly (the offline fault); the device reconnects with backoff. */
  dropConnection(): void;
  /** A status went out (for the fleet's `update` event). */
  updated(job: string, state: string, reason: string | undefined, progress: number): void;
}

/** Receive buffer of the simulated device: the default maxFrame of SPEC.md §9. */
const RECEIVE_BUFFER = 65_536;
/** UPDATE_STATUS `downloading` again after this much more of the image (SPEC.md §12.5: at least every 10%). */
const PROGRESS_STEP = 0.1;

type Phase = 'downloading' | 'verifying' | 'installing' | 'rebooting';

/** An update the device is working on: what its flash holds of it. */
interface Job {
  offer: UpdateOffer;
  phase: Phase;
  /** Bytes written to the spare slot, in order from 0. */
  held: number;
  hash: Hash;
  /** Next offset to request. */
  next: number;
  /** Outstanding requests: offset -> performance.now() when sent. */
  outstanding: Map<number, number>;
  /** Chunks that arrived ahead of `held` (at most `window` of them). */
  early: Map<number, Uint8Array>;
  /** `held` at the last `downloading` report. */
  reported: number;
  wentOffline: boolean;
}

export class FirmwareUpdater {
  private job: Job | undefined;
  /** Bumped on every disconnect: chunks still "on the link" of an older connection are dropped. */
  private link = 0;
  /** When the simulated link is free again, performance.now() ms. */
  private linkFreeAt = 0;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly host: UpdaterHost,
    private readonly options: UpdateOptions,
  ) {}

  /** HELLO's `update`: the download in progress, if any (SPEC.md §12.4). */
  helloUpdate(): { job: string; held: number } | undefined {
    const j = this.job;
    return j !== undefined && j.phase === 'downloading' ? { job: j.offer.job, held: j.held } : undefined;
  }

  onOffer(offer: UpdateOffer): void {
    const j = this.job;
    if (j !== undefined && j.offer.job === offer.job) {
      if (!sameBytes(j.offer.sha256, offer.sha256)) {
        // The job's image changed under the same id: what we hold is worthless.
        this.job = undefined;
      } else {
        // A repeated offer (a reconnect, a hub restart): answer with where we are, restart nothing.
        if (j.phase === 'downloading') {
          this.status(UpdateState.Downloading, j.held);
          this.pump();
        } else this.status(phaseState(j.phase), j.held);
        return;
      }
    } else if (j !== undefined) {
      this.statusOf(offer.job, UpdateState.Rejected, 0, UpdateReason.Busy);
      return;
    }
    const refusal = this.refusal(offer);
    if (refusal !== undefined) {
      if (refusal === 'already') this.statusOf(offer.job, UpdateState.Succeeded, offer.size);
      else this.statusOf(offer.job, UpdateState.Rejected, 0, refusal);
      return;
    }
    this.job = {
      offer,
      phase: 'downloading',
      held: 0,
      hash: createHash('sha256'),
      next: 0,
      outstanding: new Map(),
      early: new Map(),
      reported: 0,
      wentOffline: false,
    };
    this.status(UpdateState.Downloading, 0);
    this.pump();
  }

  /** Why an offer is not taken (a reason code), `already` when it runs that version, or undefined to take it. */
  private refusal(offer: UpdateOffer): number | 'already' | undefined {
    if (offer.model !== this.host.model) return UpdateReason.WrongModel;
    if (offer.fw === this.host.runningFw()) return 'already';
    if (this.options.fault === 'reject') return UpdateReason.LowBattery;
    if (this.options.publicKey !== undefined && offer.sig === undefined) return UpdateReason.Unsigned;
    return undefined;
  }

  onChunk(chunk: Chunk): void {
    const j = this.job;
    // A CHUNK for another job or an offset not asked for is ignored (SPEC.md §12.3).
    if (j === undefined || j.phase !== 'downloading' || chunk.job !== j.offer.job || !j.outstanding.has(chunk.offset)) return;
    const { speed } = this.options;
    if (speed <= 0) {
      this.accept(j, chunk);
      return;
    }
    // The link carries one chunk after another at `speed`: this one is through when the link is free again.
    const now = performance.now();
    this.linkFreeAt = Math.max(now, this.linkFreeAt) + (chunk.data.length * 1000) / speed;
    const link = this.link;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (this.link === link && this.job === j && j.phase === 'downloading') this.accept(j, chunk);
    }, this.linkFreeAt - now);
    this.timers.add(timer);
  }

  private accept(j: Job, chunk: Chunk): void {
    if (!j.outstanding.delete(chunk.offset)) return;
    let data = chunk.data;
    if (this.options.fault === 'corrupt' && chunk.offset === 0) {
      data = Uint8Array.from(data);
      data[0] = (data[0] as number) ^ 0xff;
    }
    if (chunk.offset !== j.held) {
      j.early.set(chunk.offset, data);
    } else {
      this.write(j, data);
      for (let e = j.early.get(j.held); e !== undefined; e = j.early.get(j.held)) {
        j.early.delete(j.held);
        this.write(j, e);
      }
    }
    const size = j.offer.size;
    if (j.held >= size) {
      this.downloaded(j);
      return;
    }
    if (j.held - j.reported >= size * PROGRESS_STEP) {
      j.reported = j.held;
      this.status(UpdateState.Downloading, j.held);
    }
    if (this.options.fault === 'offline' && !j.wentOffline && j.held >= size / 2) {
      j.wentOffline = true;
      this.host.dropConnection();
      return;
    }
    this.pump();
  }

  private write(j: Job, data: Uint8Array): void {
    j.hash.update(data);
    j.held += data.length;
  }

  /** Keeps `window` requests outstanding (SPEC.md §12.3: the device drives the download). */
  private pump(): void {
    const j = this.job;
    if (j === undefined || j.phase !== 'downloading') return;
    const max = Math.min(j.offer.chunk, RECEIVE_BUFFER - CHUNK_OVERHEAD);
    const window = Math.min(this.options.window, UpdateLimits.maxOutstandingChunks);
    while (j.outstanding.size < window && j.next < j.offer.size) {
      const length = Math.min(max, j.offer.size - j.next);
      j.outstanding.set(j.next, performance.now());
      this.host.sendDirect({ type: MessageType.ChunkRequest, job: j.offer.job, offset: j.next, length });
      j.next += length;
    }
  }

  /** Every 250 ms from the fleet's sweep: re-request chunks unanswered for 30 s (SPEC.md §12.3). */
  sweep(now: number): void {
    const j = this.job;
    if (j === undefined || j.phase !== 'downloading') return;
    const max = Math.min(j.offer.chunk, RECEIVE_BUFFER - CHUNK_OVERHEAD);
    for (const [offset, sentAt] of j.outstanding) {
      if (now - sentAt < UpdateLimits.chunkRetryMs) continue;
      j.outstanding.set(offset, now);
      const length = Math.min(max, j.offer.size - offset);
      this.host.sendDirect({ type: MessageType.ChunkRequest, job: j.offer.job, offset, length });
    }
  }

  /** The connection ended: requests in flight are gone; ask again from `held` after the next offer. */
  disconnected(): void {
    this.link++;
    this.linkFreeAt = 0;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const j = this.job;
    if (j === undefined) return;
    j.outstanding.clear();
    j.early.clear();
    j.next = j.held;
  }

  /** WELCOME after a reboot into the new slot: confirm it, or report the rollback (Appendix B). */
  welcomed(): void {
    const j = this.job;
    if (j === undefined || j.phase !== 'rebooting') return;
    this.job = undefined;
    if (this.host.runningFw() === j.offer.fw) this.statusOf(j.offer.job, UpdateState.Succeeded, j.offer.size);
    else this.statusOf(j.offer.job, UpdateState.RolledBack, j.offer.size, UpdateReason.BootFailed);
  }

  /** UPDATE_CANCEL (SPEC.md §12.9): honoured until installing starts. */
  onCancel(job: string): void {
    const j = this.job;
    if (j === undefined || j.offer.job !== job) return;
    if (j.phase === 'installing' || j.phase === 'rebooting') return;
    this.job = undefined;
    this.disconnectedTimers();
    this.statusOf(job, UpdateState.Cancelled, j.held);
  }

  stop(): void {
    this.disconnectedTimers();
  }

  private disconnectedTimers(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private downloaded(j: Job): void {
    const { offer } = j;
    this.status(UpdateState.Downloaded, j.held);
    j.phase = 'verifying';
    this.status(UpdateState.Verifying, j.held);
    const digest = j.hash.digest();
    let reason: number | undefined;
    if (j.held !== offer.size) reason = UpdateReason.SizeMismatch;
    else if (!sameBytes(digest, offer.sha256)) reason = UpdateReason.DigestMismatch;
    else if (this.options.publicKey !== undefined && offer.sig !== undefined) {
      const signed = signedBytes({ model: offer.model, fw: offer.fw, size: offer.size, sha256: digest });
      if (!verify(null, signed, this.options.publicKey, offer.sig)) reason = UpdateReason.SignatureInvalid;
    }
    if (reason !== undefined) {
      this.job = undefined;
      this.statusOf(offer.job, UpdateState.Failed, j.held, reason);
      return;
    }
    j.phase = 'installing';
    this.status(UpdateState.Installing, j.held);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (this.job !== j) return;
      if (this.options.fault === 'install-fail') {
        this.job = undefined;
        this.statusOf(offer.job, UpdateState.Failed, j.held, UpdateReason.InstallFailed);
        return;
      }
      j.phase = 'rebooting';
      this.status(UpdateState.Rebooting, j.held);
      // A new image that never confirms itself: the bootloader falls back to the old slot.
      this.host.rebootInto(this.options.fault === 'boot-fail' ? this.host.runningFw() : offer.fw);
    }, this.options.installMs);
    this.timers.add(timer);
  }

  private status(state: UpdateStateNumber, progress: number, reason?: number): void {
    const j = this.job;
    if (j !== undefined) this.statusOf(j.offer.job, state, progress, reason);
  }

  private statusOf(job: string, state: UpdateStateNumber, progress: number, reason?: number): void {
    this.host.enqueue((seq) => ({
      type: MessageType.UpdateStatus,
      seq,
      job,
      state,
      progress,
      ...(reason === undefined ? {} : { reason }),
    }));
    this.host.updated(job, UPDATE_STATE_NAMES[state], reason === undefined ? undefined : updateReasonName(reason), progress);
  }
}

function phaseState(phase: Phase): UpdateStateNumber {
  return phase === 'downloading'
    ? UpdateState.Downloading
    : phase === 'verifying'
      ? UpdateState.Verifying
      : phase === 'installing'
        ? UpdateState.Installing
        : UpdateState.Rebooting;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
