// Telemetry that compaction cannot store is set aside here instead of being retried
// forever. One bad row (a frame acknowledged by an older hub with a time outside
// SPEC.md §5.2's range, say) used to fail the same compaction step on every try and
// after every restart, and retention, the tail and start-up time grew behind it.

import { encodeCbor } from '@halyard/firmware-protocol';
import type { Statement } from 'better-sqlite3';
import type { Db } from '../db.js';
import type { Points } from './blocks.js';

/** What was set aside, for the log line and the metrics. */
export interface Quarantined {
  device: number;
  kind: 'frame' | 'series';
  /** Points in it, when known (0 for a frame that does not decode). */
  points: number;
  reason: string;
}

/**
 * SQLite failures that say nothing about the row being written: the disk, the file
 * or the connection is at fault, and the same step may well succeed later. Every
 * other failure (a datatype or constraint error, an encoder throwing) belongs to
 * the row, and retrying it cannot help.
 */
const ENVIRONMENT =
  /^SQLITE_(FULL|IOERR|BUSY|LOCKED|NOMEM|READONLY|CANTOPEN|CORRUPT|NOTADB|PROTOCOL|INTERRUPT|PERM|AUTH|ABORT|NOLFS|SCHEMA)/;

export function isEnvironmentFault(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && ENVIRONMENT.test(code);
}

export function faultReason(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  return (typeof code === 'string' ? `${code}: ${message}` : message).slice(0, 500);
}

export class TelemetryQuarantine {
  private readonly insert: Statement;

  constructor(db: Db) {
    // OR IGNORE: a compaction redone after a crash meets the same rows again.
    this.insert = db.prepare(
      'INSERT OR IGNORE INTO telemetry_quarantine (gen, kind, ref, device, received, frame, points, reason, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
  }

  /** A logged frame that cannot be decoded or whose series cannot be made. Returns whether it is new here. */
  frame(gen: number, logRowid: number, device: number, received: number, frame: Uint8Array, reason: string, now: number): boolean {
    return this.insert.run(gen, 'frame', logRowid, device, received, frame, null, reason, now).changes > 0;
  }

  /** A series' points of one generation that cannot be written as blocks. */
  series(gen: number, series: number, device: number, points: Points, reason: string, now: number): boolean {
    let data: Uint8Array | null = null;
    try {
      data = encodeCbor([points.ts, points.values]);
    } catch {
      // The points may be what broke the block encoder; the reason still says what happened.
    }
    return this.insert.run(gen, 'series', series, device, null, null, data, reason, now).changes > 0;
  }
}
