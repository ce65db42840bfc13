// Messages between the main thread and the writer thread.

import type { IngestBatch } from './ingest.js';

export interface WorkerSettings {
  path: string;
  cacheMiB: number;
  /** ms of raw telemetry to keep; 0 = forever. */
  retentionMs: number;
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
