// The main thread's read-only connection. WAL lets it read while the writer thread
// commits; every read sees the last committed state.

import type { Db } from './db.js';
import { openDatabase } from './db.js';
import { TelemetryReader } from './telemetry/query.js';

export class Reader {
  readonly db: Db;
  readonly telemetry: TelemetryReader;

  constructor(path: string) {
    this.db = openDatabase(path, { readonly: true, cacheMiB: 64 });
    this.telemetry = new TelemetryReader(this.db);
  }

  /** Size of the database and its WAL, bytes. */
  sizeBytes(): number {
    const pages = this.db.pragma('page_count', { simple: true }) as number;
    const size = this.db.pragma('page_size', { simple: true }) as number;
    return pages * size;
  }

  close(): void {
    this.db.close();
  }
}
