// A best-effort check that no hub is writing to the SQLite file: take the write lock
// for a moment, as a hub's writer thread takes it for every commit. A busy hub holds
// it most of the time and is refused; an idle one holds it only while it commits,
// so the README still says to stop the hub first.

import Database from 'better-sqlite3';
import { HubError, HubErrorCode } from '../errors.js';

/** How long to wait for the write lock before deciding someone holds it. */
const WAIT_MS = 1000;

export function assertNoWriter(path: string): void {
  let db: Database.Database;
  try {
    db = new Database(path, { fileMustExist: true, timeout: WAIT_MS });
  } catch {
    // No write access (a copy on read-only media, say): nobody else writes either.
    return;
  }
  try {
    db.exec('BEGIN IMMEDIATE');
    db.exec('ROLLBACK');
  } catch (err) {
    if ((err as { code?: string }).code === 'SQLITE_BUSY') {
      throw new HubError(
        HubErrorCode.Storage,
        `${path} is being written to (a hub is running on it?): stop the hub, then run migrate-store again`,
      );
    }
    // Any other failure to lock (a read-only file) means no writer either; the copy reads it read-only.
  } finally {
    db.close();
  }
}
