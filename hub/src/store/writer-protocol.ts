// Messages between the main thread and the writer thread.

import type { IngestBatch, IngestResult } from './ingest.js';
import type { Quarantined } from './telemetry/quarantine.js';

export interface WorkerSettings {
  path: string;
  cacheMiB: number;
  /** ms of raw telemetry to keep; 0 = forever. */
  retentionMs: number;
  /** ms of telemetry rollups to keep; 0 or absent = forever. */
  retentionRollupsMs?: number;
  /** Compact the telemetry log at least this often... */
  compactIntervalMs: number;
  /** ...or once it holds this many rows. */
  compactRows: number;
}

export interface WorkerStats {
  batches: number;
  /** TELEMETRY frames logged. */
  frames: number;
  logRows: number;
  compactions: number;
  compactedRows: number;
  mergedPoints: number;
  retainedBlocks: number;
  lastCompactionMs: number;
  failures: number;
  /** Frames or series compaction set aside since start (telemetry_quarantine). */
  quarantined: number;
}

export type ToWorker =
  | { t: 'batch'; batch: IngestBatch }
  | { t: 'ops'; ops: { id: number; op: string; args: unknown }[] }
  | { t: 'stats'; id: number }
  | { t: 'compact'; id: number }
  | { t: 'retain'; id: number; now: number }
  | { t: 'close'; id: number };

/** One named operation's outcome, in a `done` message. */
export interface OpOutcome {
  id: number;
  result?: unknown;
  error?: SerializedError;
}

export interface SerializedError {
  code: string;
  message: string;
  field?: string;
}

/** Everything the writer thread sends back, typed like the requests. */
export type FromWorker =
  | { t: 'ready' }
  | { t: 'done'; ops: OpOutcome[] }
  | { t: 'batch'; result: IngestResult }
  | { t: 'batch'; id: number; error: SerializedError }
  | { t: 'stats'; id: number; stats: WorkerStats }
  | { t: 'compacted-all'; id: number }
  | { t: 'retained'; id: number; error?: SerializedError }
  | { t: 'closed'; id: number; error?: SerializedError }
  | { t: 'compacted'; gen: number }
  | { t: 'quarantined'; items: Quarantined[] }
  | { t: 'maintenance'; failing: number }
  | { t: 'log'; level: 'error' | 'warn' | 'info'; msg: string; err?: SerializedError };
