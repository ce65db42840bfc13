// The firmware library (docs/firmware.md): images operators upload, stored in chunks
// in the store so every hub of a cluster serves them, each with its size, SHA-256
// and, when signing is on, an Ed25519 signature (SPEC.md §12.8). An upload streams:
// the hub holds one store chunk of it at a time, never the image.

import { createHash, randomBytes } from 'node:crypto';
import { statfs } from 'node:fs/promises';
import { type Audit, type Requester, viaDetail } from '../audit.js';
import { HubError, HubErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import { type FirmwareRecord, libraryFull } from '../store/firmware.js';
import type { Store } from '../store/store.js';
import type { FirmwareSigner, PublicSigningKey } from './signer.js';

/** Bytes per stored chunk: 4 devices' 16 KiB requests (SPEC.md §12.3) per read, and few rows per image. */
export const STORE_CHUNK = 65_536;
/** An upload that has written nothing for this long is taken for dead: the same model and version may be uploaded again. */
export const STALE_UPLOAD_MS = 300_000;

/**
 * Uploads at once on one hub: each writes a 64 KiB row per piece to the store for
 * as long as its body arrives, and nothing else bounds how many an operator starts.
 */
export const MAX_CONCURRENT_UPLOADS = 2;
export interface FirmwareLimits {
  /** Largest image, bytes (--firmware-max-size). */
  maxSize: number;
  /** Most bytes all images together hold, finished and uploading (--firmware-max-total). */
  maxTotal: number;
  /** The SQLite store's directory, whose free space is checked before an upload; undefined for PostgreSQL. */
  diskDir: string | undefined;
  /**
   * Free disk an upload must leave under `diskDir`, bytes (--firmware-disk-reserve):
   * the library's own total is bounded by maxTotal, but the disk holds the telemetry
   * too, and a full disk stops every write of the hub.
   */
  diskReserve: number;
}

/** An image as the API shows it. */
export interface FirmwareInfo {
  id: string;
  model: string;
  version: string;
  notes: string;
  size: number;
  /** Hex; null while uploading. */
  sha256: string | null;
  /** Base64 Ed25519 signature (SPEC.md §12.8); null when unsigned. */
  signature: string | null;
  status: 'uploading' | 'ready';
  createdAt: number;
  createdBy: string;
}

export function firmwareInfo(r: FirmwareRecord): FirmwareInfo {
  return {
    id: r.id,
    model: r.model,
    version: r.version,
    notes: r.notes,
    size: r.size,
    sha256: r.sha256 === null ? null : Buffer.from(r.sha256).toString('hex'),
    signature: r.signature === null ? null : Buffer.from(r.signature).toString('base64'),
    status: r.complete ? 'ready' : 'uploading',
    createdAt: r.createdAt,
    createdBy: r.createdBy,
  };
}

export interface UploadMeta {
  model: string;
  version: string;
  notes: string;
}

export class FirmwareLibrary {
  constructor(
    private readonly store: Store,
    readonly signer: FirmwareSigner,
    private readonly audit: Audit,
    private readonly log: Logger,
    readonly limits: FirmwareLimits,
  ) {}

  /** Uploads running on this hub. */
  private uploading = 0;

  /**
   * Stores an image as its bytes arrive. `declared` is the request's Content-Length
   * when it has one: an image declared too large is refused before anything is
   * stored. On any failure the partial image is removed.
   */
  async upload(requester: Requester, meta: UploadMeta, body: AsyncIterable<Uint8Array>, declared?: number): Promise<FirmwareInfo> {
    if (declared !== undefined && declared > this.limits.maxSize) throw this.refused(requester, meta, declared, this.tooLarge());
    if (declared === 0) throw new HubError(HubErrorCode.Validation, 'body: the image is empty', { field: 'body' });
    if (this.uploading >= MAX_CONCURRENT_UPLOADS) {
      this.log.warn({ user: requester.actor, model: meta.model, version: meta.version }, 'firmware upload refused: too many at once');
      throw new HubError(
        HubErrorCode.RateLimited,
        `at most ${MAX_CONCURRENT_UPLOADS} firmware uploads at once on this hub; retry when one ends`,
        { retryAfter: 10 },
      );
    }
    this.uploading++;
    try {
      return await this.store_(requester, meta, body, declared);
    } finally {
      this.uploading--;
    }
  }

  /** Refused before anything is stored when the declared size, or any image, cannot fit. */
  private async room(requester: Requester, meta: UploadMeta, declared: number | undefined): Promise<void> {
    const refuse = (err: HubError, detail: Record<string, unknown>) => this.refused(requester, meta, declared, err, detail);
    const held = (await this.store.listFirmware()).reduce((a, r) => a + Number(r.size), 0);
    if (held + (declared ?? 1) > this.limits.maxTotal)
      throw refuse(libraryFull(held, declared ?? 1, this.limits.maxTotal), { held, maxTotal: this.limits.maxTotal });
    if (this.limits.diskDir === undefined) return;
    const fs = await statfs(this.limits.diskDir);
    const free = fs.bavail * fs.bsize;
    const reserve = this.limits.diskReserve;
    const needs = (declared ?? this.limits.maxSize) + reserve;
    if (free < needs)
      throw refuse(
        new HubError(
          HubErrorCode.FirmwareLibraryFull,
          `the disk under the data directory has ${free} bytes free; an image of ${declared ?? this.limits.maxSize} bytes would leave less than ${reserve} (--firmware-disk-reserve)`,
        ),
        { free, reserve },
      );
  }

  private async store_(requester: Requester, meta: UploadMeta, body: AsyncIterable<Uint8Array>, declared?: number): Promise<FirmwareInfo> {
    await this.room(requester, meta, declared);
    const now = Date.now();
    const begun = await this.store.op('beginFirmware', {
      image: { id: `fw-${randomBytes(8).toString('hex')}`, ...meta, chunkSize: STORE_CHUNK, createdAt: now, createdBy: requester.actor },
      staleBefore: now - STALE_UPLOAD_MS,
    });
    try {
      const { size, sha256 } = await this.write(begun.rowid, body);
      if (size === 0) throw new HubError(HubErrorCode.Validation, 'body: the image is empty', { field: 'body' });
      const signature = await this.signer.sign({ model: meta.model, fw: meta.version, size, sha256 });
      const done = await this.store.op('finishFirmware', { image: begun.rowid, size, sha256, signature });
      const info = firmwareInfo(done);
      await this.audit(
        requester.actor,
        'firmware.upload',
        info.id,
        viaDetail(requester, { model: info.model, version: info.version, size, sha256: info.sha256, signed: signature !== null }),
      );
      return info;
    } catch (err) {
      if (err instanceof HubError && (err.code === HubErrorCode.FirmwareLibraryFull || err.code === HubErrorCode.TooLarge))
        this.refused(requester, meta, declared, err);
      await this.store.op('deleteFirmware', { id: begun.id }).catch((e: unknown) => {
        this.log.error({ err: e, firmware: begun.id }, 'could not remove a failed firmware upload');
      });
      throw err;
    }
  }

  /** Writes the body in STORE_CHUNK pieces as it arrives; one piece in memory at a time. */
  private async write(image: number, body: AsyncIterable<Uint8Array>): Promise<{ size: number; sha256: Uint8Array }> {
    const hash = createHash('sha256');
    const piece = Buffer.allocUnsafe(STORE_CHUNK);
    let fill = 0;
    let size = 0;
    let n = 0;
    const flush = async () => {
      // A copy: the store may still hold it when the piece fills again.
      await this.store.op('putFirmwareChunk', {
        image,
        n: n++,
        data: new Uint8Array(piece.subarray(0, fill)),
        at: Date.now(),
        maxTotal: this.limits.maxTotal,
      });
      fill = 0;
    };
    for await (const part of body) {
      size += part.length;
      if (size > this.limits.maxSize) throw this.tooLarge();
      hash.update(part);
      let at = 0;
      while (at < part.length) {
        const take = Math.min(STORE_CHUNK - fill, part.length - at);
        piece.set(part.subarray(at, at + take), fill);
        fill += take;
        at += take;
        if (fill === STORE_CHUNK) await flush();
      }
    }
    if (fill > 0) await flush();
    return { size, sha256: new Uint8Array(hash.digest()) };
  }

  /** Logs a refused upload (one warn line) and returns the error to throw. */
  private refused(
    requester: Requester,
    meta: UploadMeta,
    declared: number | undefined,
    err: HubError,
    detail: Record<string, unknown> = {},
  ): HubError {
    this.log.warn(
      { user: requester.actor, model: meta.model, version: meta.version, declared, ...detail },
      `firmware upload refused: ${err.message}`,
    );
    return err;
  }

  private tooLarge(): HubError {
    return new HubError(HubErrorCode.TooLarge, `the image is larger than ${this.limits.maxSize} bytes (--firmware-max-size)`, {
      field: 'body',
    });
  }

  /** Newest first; one model's when `model` is given. */
  async list(model?: string): Promise<FirmwareInfo[]> {
    return (await this.store.listFirmware(model)).map(firmwareInfo);
  }

  async get(id: string): Promise<FirmwareInfo> {
    return firmwareInfo(await this.record(id));
  }

  /** The stored record, for the update service; FirmwareUnknown if missing. */
  async record(id: string): Promise<FirmwareRecord> {
    const r = await this.store.getFirmware(id);
    if (r === undefined) throw new HubError(HubErrorCode.FirmwareUnknown, `no firmware "${id}"`);
    return r;
  }

  /** Refused (FirmwareInUse) while a device update that is not over uses the image. */
  async delete(requester: Requester, id: string): Promise<void> {
    const r = await this.store.op('deleteFirmware', { id });
    await this.audit(requester.actor, 'firmware.delete', id, viaDetail(requester, { model: r.model, version: r.version }));
  }

  async signingKey(): Promise<PublicSigningKey> {
    const key = await this.signer.publicKey();
    if (key === undefined)
      throw new HubError(
        HubErrorCode.NotFound,
        'firmware signing is off on this hub (--firmware-signing-key off) and no key was ever made',
      );
    return key;
  }
}
