// Firmware images and the hub's meta values in PostgreSQL (as ../firmware.ts does in
// SQLite; docs/firmware.md). Every hub of a cluster serves images from these rows.

import { HubError, HubErrorCode } from '../../errors.js';
import {
  FIRMWARE_COLUMNS,
  type FirmwareRecord,
  type FirmwareRow,
  firmwareFromRow,
  libraryFull,
  type NewFirmware,
  OPEN_UPDATE_STATES,
} from '../firmware.js';
import { pgCode, type Queryable, UNIQUE_VIOLATION } from './pool.js';

type Row = FirmwareRow<Buffer, boolean>;

const COLUMNS = FIRMWARE_COLUMNS;

const bytes = (b: Buffer | null) => (b === null ? null : new Uint8Array(b.buffer, b.byteOffset, b.byteLength));

const toRecord = (r: Row): FirmwareRecord =>
  firmwareFromRow(
    r,
    (b) => bytes(b) as Uint8Array,
    (c) => c,
  );

const exists = (f: NewFirmware, old: Row) =>
  new HubError(
    HubErrorCode.FirmwareExists,
    old.complete
      ? `firmware ${f.version} for ${f.model} exists (${old.id}); delete it first`
      : `firmware ${f.version} for ${f.model} is being uploaded`,
  );

export async function beginFirmware(db: Queryable, f: NewFirmware, staleBefore: number): Promise<FirmwareRecord> {
  const old = (await db.query<Row>(`SELECT ${COLUMNS} FROM firmware WHERE model = $1 AND version = $2 FOR UPDATE`, [f.model, f.version]))
    .rows[0];
  if (old !== undefined) {
    if (old.complete || old.touched_at >= staleBefore) throw exists(f, old);
    await removeImage(db, old.rowid);
  }
  // Uploads that stopped (a killed hub) hold their chunks, which count toward the library's total.
  const stale = await db.query<{ rowid: number }>('SELECT rowid FROM firmware WHERE NOT complete AND touched_at < $1 FOR UPDATE', [
    staleBefore,
  ]);
  for (const r of stale.rows) await removeImage(db, r.rowid);
  try {
    const r = await db.query<Row>(
      `INSERT INTO firmware (id, model, version, notes, size, chunk_size, complete, created_at, created_by, touched_at)
       VALUES ($1, $2, $3, $4, 0, $5, false, $6, $7, $6) RETURNING ${COLUMNS}`,
      [f.id, f.model, f.version, f.notes, f.chunkSize, f.createdAt, f.createdBy],
    );
    return toRecord(r.rows[0] as Row);
  } catch (err) {
    // Another hub began the same model and version at the same moment.
    if (pgCode(err) === UNIQUE_VIOLATION)
      throw new HubError(HubErrorCode.FirmwareExists, `firmware ${f.version} for ${f.model} is being uploaded`);
    throw err;
  }
}

/** Held while a chunk is counted and added: uploads on several hubs cannot pass the total together. */
const LIBRARY_LOCK = [0x686c7964, 0x66776c62];

export async function putFirmwareChunk(
  db: Queryable,
  image: number,
  n: number,
  data: Uint8Array,
  at: number,
  maxTotal: number,
): Promise<void> {
  await db.query('SELECT pg_advisory_xact_lock($1, $2)', LIBRARY_LOCK);
  const held = Number((await db.query<{ held: string }>('SELECT coalesce(sum(size), 0)::text AS held FROM firmware')).rows[0]?.held ?? 0);
  if (held + data.length > maxTotal) throw libraryFull(held, data.length, maxTotal);
  const r = await db.query('UPDATE firmware SET touched_at = $1, size = size + $3 WHERE rowid = $2 AND NOT complete', [
    at,
    image,
    data.length,
  ]);
  if (r.rowCount === 0) throw new HubError(HubErrorCode.FirmwareUnknown, 'the image was deleted or finished during its upload');
  await db.query('INSERT INTO firmware_chunks (image, n, data) VALUES ($1, $2, $3)', [
    image,
    n,
    Buffer.from(data.buffer, data.byteOffset, data.byteLength),
  ]);
}

export async function finishFirmware(
  db: Queryable,
  image: number,
  size: number,
  sha256: Uint8Array,
  signature: Uint8Array | null,
): Promise<FirmwareRecord> {
  const r = await db.query<Row>(
    `UPDATE firmware SET size = $1, sha256 = $2, signature = $3, complete = true WHERE rowid = $4 AND NOT complete RETURNING ${COLUMNS}`,
    [size, Buffer.from(sha256), signature === null ? null : Buffer.from(signature), image],
  );
  const row = r.rows[0];
  if (row === undefined) throw new HubError(HubErrorCode.FirmwareUnknown, 'the image was deleted during its upload');
  return toRecord(row);
}

export async function deleteFirmware(db: Queryable, id: string): Promise<FirmwareRecord> {
  const r = (await db.query<Row>(`SELECT ${COLUMNS} FROM firmware WHERE id = $1 FOR UPDATE`, [id])).rows[0];
  if (r === undefined) throw new HubError(HubErrorCode.FirmwareUnknown, `no firmware "${id}"`);
  const using = (
    await db.query<{ n: number }>('SELECT count(*)::int AS n FROM device_updates WHERE firmware = $1 AND state = ANY($2)', [
      r.rowid,
      OPEN_UPDATE_STATES,
    ])
  ).rows[0]?.n;
  if (using !== undefined && using > 0)
    throw new HubError(HubErrorCode.FirmwareInUse, `firmware "${id}" is being installed on ${using} device(s)`);
  // A fleet job not over will offer it to more devices (docs/jobs.md).
  const job = (await db.query<{ id: string }>('SELECT id FROM jobs WHERE firmware = $1 AND finished_at IS NULL', [r.rowid])).rows[0];
  if (job !== undefined) throw new HubError(HubErrorCode.FirmwareInUse, `firmware "${id}" is used by job ${job.id}, which is not over`);
  await removeImage(db, r.rowid);
  return toRecord(r);
}

async function removeImage(db: Queryable, rowid: number): Promise<void> {
  await db.query('DELETE FROM firmware_chunks WHERE image = $1', [rowid]);
  await db.query('UPDATE device_updates SET firmware = NULL WHERE firmware = $1', [rowid]);
  await db.query('DELETE FROM firmware WHERE rowid = $1', [rowid]);
}

export async function getFirmware(db: Queryable, id: string): Promise<FirmwareRecord | undefined> {
  const r = (await db.query<Row>(`SELECT ${COLUMNS} FROM firmware WHERE id = $1`, [id])).rows[0];
  return r && toRecord(r);
}

export async function listFirmware(db: Queryable, model?: string): Promise<FirmwareRecord[]> {
  const r =
    model === undefined
      ? await db.query<Row>(`SELECT ${COLUMNS} FROM firmware ORDER BY rowid DESC`)
      : await db.query<Row>(`SELECT ${COLUMNS} FROM firmware WHERE model = $1 ORDER BY rowid DESC`, [model]);
  return r.rows.map(toRecord);
}

export async function firmwareChunk(db: Queryable, image: number, n: number): Promise<Uint8Array | undefined> {
  const r = (await db.query<{ data: Buffer }>('SELECT data FROM firmware_chunks WHERE image = $1 AND n = $2', [image, n])).rows[0];
  return r === undefined ? undefined : (bytes(r.data) as Uint8Array);
}

export async function initMeta(db: Queryable, key: string, value: string): Promise<string> {
  await db.query('INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING', [key, value]);
  return (await db.query<{ value: string }>('SELECT value FROM meta WHERE key = $1', [key])).rows[0]?.value as string;
}

export async function getMeta(db: Queryable, key: string): Promise<string | undefined> {
  return (await db.query<{ value: string }>('SELECT value FROM meta WHERE key = $1', [key])).rows[0]?.value;
}
