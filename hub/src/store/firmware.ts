// Firmware images in SQLite (docs/firmware.md): one row per image, its bytes in
// chunks of a fixed size so that serving a device reads a chunk, never the image.
// An image is written in three steps (begin, chunks, finish) while its upload
// streams in; until finished it is `complete = 0` and never offered to devices.

import { HubError, HubErrorCode } from '../errors.js';
import type { Db } from './db.js';
import { sql } from './prepared.js';

export interface FirmwareRecord {
  rowid: number;
  /** Public id, `fw-...`. */
  id: string;
  model: string;
  version: string;
  notes: string;
  /** Bytes: while uploading, those stored so far (they count toward --firmware-max-total). */
  size: number;
  /** SHA-256 of the image; null until finished. */
  sha256: Uint8Array | null;
  /** Ed25519 signature (SPEC.md §12.8); null for an unsigned image. */
  signature: Uint8Array | null;
  /** Bytes per stored chunk (the last may be shorter). */
  chunkSize: number;
  complete: boolean;
  createdAt: number;
  createdBy: string;
  /** Last chunk written (an upload that stopped is replaced once it is stale). */
  touchedAt: number;
}

export interface NewFirmware {
  id: string;
  model: string;
  version: string;
  notes: string;
  chunkSize: number;
  createdAt: number;
  createdBy: string;
}

/** States of a device update that still need its image (SPEC.md §12.5: not final). */
export const OPEN_UPDATE_STATES = ['offered', 'downloading', 'downloaded', 'verifying', 'installing', 'rebooting'] as const;

/** A firmware row as an engine returns it: `B` its bytes (Uint8Array, Buffer), `C` its complete flag (0/1, boolean). */
export interface FirmwareRow<B, C> {
  rowid: number;
  id: string;
  model: string;
  version: string;
  notes: string;
  size: number;
  sha256: B | null;
  signature: B | null;
  chunk_size: number;
  complete: C;
  created_at: number;
  created_by: string;
  touched_at: number;
}

type Row = FirmwareRow<Uint8Array, number>;

/** The columns of a FirmwareRow, in both engines' SQL. */
export const FIRMWARE_COLUMNS =
  'rowid, id, model, version, notes, size, sha256, signature, chunk_size, complete, created_at, created_by, touched_at';
const COLUMNS = FIRMWARE_COLUMNS;

/** A row as a FirmwareRecord; `bytes` and `complete` decode the engine's column types. */
export function firmwareFromRow<B, C>(r: FirmwareRow<B, C>, bytes: (b: B) => Uint8Array, complete: (c: C) => boolean): FirmwareRecord {
  return {
    rowid: r.rowid,
    id: r.id,
    model: r.model,
    version: r.version,
    notes: r.notes,
    size: r.size,
    sha256: r.sha256 === null ? null : bytes(r.sha256),
    signature: r.signature === null ? null : bytes(r.signature),
    chunkSize: r.chunk_size,
    complete: complete(r.complete),
    createdAt: r.created_at,
    createdBy: r.created_by,
    touchedAt: r.touched_at,
  };
}

const toRecord = (r: Row): FirmwareRecord =>
  firmwareFromRow(
    r,
    (b) => new Uint8Array(b),
    (c) => c !== 0,
  );

/**
 * Starts an image. The same model and version may exist once: a finished image, or
 * an upload in progress, refuse another (FirmwareExists); an upload that stopped
 * (nothing written since `staleBefore`) is dropped and replaced.
 */
export function beginFirmware(db: Db, f: NewFirmware, staleBefore: number): FirmwareRecord {
  return db.transaction(() => {
    const old = sql(db, `SELECT ${COLUMNS} FROM firmware WHERE model = ? AND version = ?`).get(f.model, f.version) as Row | undefined;
    if (old !== undefined) {
      if (old.complete !== 0 || old.touched_at >= staleBefore)
        throw new HubError(
          HubErrorCode.FirmwareExists,
          old.complete !== 0
            ? `firmware ${f.version} for ${f.model} exists (${old.id}); delete it first`
            : `firmware ${f.version} for ${f.model} is being uploaded`,
        );
      removeImage(db, old.rowid);
    }
    // Uploads that stopped (a killed hub) hold their chunks, which count toward the library's total.
    for (const stale of sql(db, 'SELECT rowid FROM firmware WHERE complete = 0 AND touched_at < ?').pluck().all(staleBefore) as number[])
      removeImage(db, stale);
    const rowid = sql(
      db,
      `INSERT INTO firmware (id, model, version, notes, size, chunk_size, complete, created_at, created_by, touched_at)
       VALUES (?, ?, ?, ?, 0, ?, 0, ?, ?, ?)`,
    ).run(f.id, f.model, f.version, f.notes, f.chunkSize, f.createdAt, f.createdBy, f.createdAt).lastInsertRowid;
    return toRecord(sql(db, `SELECT ${COLUMNS} FROM firmware WHERE rowid = ?`).get(rowid) as Row);
  })();
}

/** The library is full: `held` bytes of `maxTotal` stored, and `more` would pass it. */
export function libraryFull(held: number, more: number, maxTotal: number): HubError {
  return new HubError(
    HubErrorCode.FirmwareLibraryFull,
    `the firmware library holds ${held} bytes and may hold ${maxTotal} (--firmware-max-total): ${more} more do not fit; delete images no longer needed`,
  );
}

/**
 * Adds chunk `n` to an upload; FirmwareLibraryFull when the library's images
 * (finished and uploading) would pass `maxTotal` bytes with it.
 */
export function putFirmwareChunk(db: Db, image: number, n: number, data: Uint8Array, at: number, maxTotal: number): void {
  db.transaction(() => {
    const held = sql(db, 'SELECT coalesce(sum(size), 0) FROM firmware').pluck().get() as number;
    if (held + data.length > maxTotal) throw libraryFull(held, data.length, maxTotal);
    if (
      sql(db, 'UPDATE firmware SET touched_at = ?, size = size + ? WHERE rowid = ? AND complete = 0').run(at, data.length, image)
        .changes === 0
    )
      throw new HubError(HubErrorCode.FirmwareUnknown, 'the image was deleted or finished during its upload');
    sql(db, 'INSERT INTO firmware_chunks (image, n, data) VALUES (?, ?, ?)').run(image, n, data);
  })();
}

export function finishFirmware(db: Db, image: number, size: number, sha256: Uint8Array, signature: Uint8Array | null): FirmwareRecord {
  return db.transaction(() => {
    const changed = sql(db, 'UPDATE firmware SET size = ?, sha256 = ?, signature = ?, complete = 1 WHERE rowid = ? AND complete = 0').run(
      size,
      sha256,
      signature,
      image,
    ).changes;
    if (changed === 0) throw new HubError(HubErrorCode.FirmwareUnknown, 'the image was deleted during its upload');
    return toRecord(sql(db, `SELECT ${COLUMNS} FROM firmware WHERE rowid = ?`).get(image) as Row);
  })();
}

/** Deletes an image and its chunks; refused while a device update that is not over uses it. */
export function deleteFirmware(db: Db, id: string): FirmwareRecord {
  return db.transaction(() => {
    const r = sql(db, `SELECT ${COLUMNS} FROM firmware WHERE id = ?`).get(id) as Row | undefined;
    if (r === undefined) throw new HubError(HubErrorCode.FirmwareUnknown, `no firmware "${id}"`);
    const using = sql(
      db,
      `SELECT count(*) FROM device_updates WHERE firmware = ? AND state IN (${OPEN_UPDATE_STATES.map(() => '?').join(', ')})`,
    )
      .pluck()
      .get(r.rowid, ...OPEN_UPDATE_STATES) as number;
    if (using > 0) throw new HubError(HubErrorCode.FirmwareInUse, `firmware "${id}" is being installed on ${using} device(s)`);
    // A fleet job not over will offer it to more devices (docs/jobs.md).
    const job = sql(db, 'SELECT id FROM jobs WHERE firmware = ? AND finished_at IS NULL').pluck().get(r.rowid) as string | undefined;
    if (job !== undefined) throw new HubError(HubErrorCode.FirmwareInUse, `firmware "${id}" is used by job ${job}, which is not over`);
    removeImage(db, r.rowid);
    return toRecord(r);
  })();
}

function removeImage(db: Db, rowid: number): void {
  sql(db, 'DELETE FROM firmware_chunks WHERE image = ?').run(rowid);
  // Finished updates keep their history: the image reference is cleared, not the row.
  sql(db, 'UPDATE device_updates SET firmware = NULL WHERE firmware = ?').run(rowid);
  sql(db, 'DELETE FROM firmware WHERE rowid = ?').run(rowid);
}

export function getFirmware(db: Db, id: string): FirmwareRecord | undefined {
  const r = sql(db, `SELECT ${COLUMNS} FROM firmware WHERE id = ?`).get(id) as Row | undefined;
  return r && toRecord(r);
}

/** Newest first; one model's only when `model` is given. */
export function listFirmware(db: Db, model?: string): FirmwareRecord[] {
  const rows =
    model === undefined
      ? sql(db, `SELECT ${COLUMNS} FROM firmware ORDER BY rowid DESC`).all()
      : sql(db, `SELECT ${COLUMNS} FROM firmware WHERE model = ? ORDER BY rowid DESC`).all(model);
  return (rows as Row[]).map(toRecord);
}

export function firmwareChunk(db: Db, image: number, n: number): Uint8Array | undefined {
  const data = sql(db, 'SELECT data FROM firmware_chunks WHERE image = ? AND n = ?').pluck().get(image, n) as Uint8Array | undefined;
  return data === undefined ? undefined : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Stores `value` under `key` unless a value is there; returns the stored one. */
export function initMeta(db: Db, key: string, value: string): string {
  sql(db, 'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING').run(key, value);
  return sql(db, 'SELECT value FROM meta WHERE key = ?').pluck().get(key) as string;
}

export function getMeta(db: Db, key: string): string | undefined {
  return sql(db, 'SELECT value FROM meta WHERE key = ?').pluck().get(key) as string | undefined;
}
