// The writer thread: owns the only writing SQLite connection. Runs ingest batches
// (group commits), the named operations of ops.ts, and background maintenance
// (compaction, merging, retention) between them, each in a short transaction so
// no ACK waits long behind it.

import { parentPort, workerData } from 'node:worker_threads';
import { HubError } from '../errors.js';
import { openDatabase } from './db.js';
import { pruneHistory } from './events.js';
import { applyBatch, type IngestBatch } from './ingest.js';
import { migrate } from './migrations.js';
import { pruneSessions } from './operators.js';
import { type OpContext, type OpName, ops } from './ops.js';
import { TelemetryWriter } from './telemetry/log-compactor.js';
import type { Quarantined } from './telemetry/quarantine.js';
import type { FromWorker, OpOutcome, ToWorker, WorkerSettings, WorkerStats } from './writer-protocol.js';

const settings = workerData as WorkerSettings;
const port = parentPort;

if (port === null) throw new Error('writer-worker must run as a worker thread');

function send(msg: FromWorker): void {
  port?.postMessage(msg);
}

const db = openDatabase(settings.path, { cacheMiB: settings.cacheMiB });
migrate(db);
const telemetry = new TelemetryWriter(db);
const ctx: OpContext = { db, telemetry, deleted: new Set() };

telemetry.resumeIfNeeded();
const stats: WorkerStats = {
  batches: 0,
  frames: 0,
  logRows: telemetry.currentRows,
  compactions: 0,
  compactedRows: 0,
  mergedPoints: 0,
  retainedBlocks: 0,
  lastCompactionMs: 0,
  failures: 0,
  quarantined: 0,
};
/** Maintenance steps failed in a row, and when that was last logged. */
let failingSteps = 0;
let lastFailureLog = Number.NEGATIVE_INFINITY;

function reportQuarantine(items: Quarantined[]): void {
  stats.quarantined += items.length;
  send({ t: 'quarantined', items });
}
let lastSeal = Date.now();
let nextRetention = Date.now() + 60_000;
let retentionSeries: number | undefined;
let closing = false;

function serializeError(err: unknown): { code: string; message: string; field?: string } {
  if (err instanceof HubError) return { code: err.code, message: err.message, ...(err.field === undefined ? {} : { field: err.field }) };
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && code.startsWith('SQLITE'))
    return { code: 'HUB_ERR_STORAGE', message: `${code}: ${(err as Error).message}` };
  return { code: 'HUB_ERR_INTERNAL', message: err instanceof Error ? err.message : String(err) };
}

/** How long the last maintenance step took, ms (the pause before the next one). */
let lastStepMs = 0;

/** One bounded step of background work; returns true if it did something. */
function maintain(): boolean {
  const now = Date.now();
  try {
    const busy = maintenanceStep(now);
    maintenanceSucceeded();
    return busy;
  } catch (err) {
    stats.failures++;
    failingSteps++;
    // A failure that repeats (a full disk) is said once a minute, with the count, not on every try.
    if (failingSteps === 1 || now - lastFailureLog >= 60_000) {
      lastFailureLog = now;
      send({
        t: 'log',
        level: 'error',
        msg: `storage maintenance failed (${failingSteps} time(s) in a row)`,
        err: serializeError(err),
      });
    }
    send({ t: 'maintenance', failing: failingSteps });
    return false;
  }
}

/** The step itself; throws what maintain() counts and reports. */
function maintenanceStep(now: number): boolean {
  if (
    !telemetry.compacting &&
    (telemetry.currentRows >= settings.compactRows || (telemetry.currentRows > 0 && now - lastSeal >= settings.compactIntervalMs))
  ) {
    telemetry.seal();
    lastSeal = now;
  }
  if (telemetry.compacting) {
    const t = performance.now();
    const p = telemetry.compactStep(now);
    stats.lastCompactionMs = Math.max(stats.lastCompactionMs, performance.now() - t);
    if (p.quarantined.length > 0) reportQuarantine(p.quarantined);
    if (p.compacted !== undefined) {
      stats.compactions++;
      stats.compactedRows += p.rows;
      send({ t: 'compacted', gen: p.compacted });
    }
    return true;
  }
  const merged = telemetry.merge(now, mergeSkipped);
  if (merged > 0) {
    stats.mergedPoints += merged;
    return true;
  }
  if (recodeRunning) {
    const r = telemetry.recode();
    if (r !== undefined) {
      recoded.blocks += r.blocks;
      recoded.skipped += r.skipped;
      return true;
    }
    recodeFinished();
  }
  if (now >= nextRetention) {
    if (retentionStep(now)) return true;
    pruneSessions(db, now);
    nextRetention = now + 3_600_000;
  }
  return false;
}

/** One step of retention (raw telemetry and history, rollups) as at `now`; true while series remain. */
function retentionStep(now: number): boolean {
  const rollupsMs = settings.retentionRollupsMs ?? 0;
  if (settings.retentionMs <= 0 && rollupsMs <= 0) return false;
  const cutoff = settings.retentionMs > 0 ? now - settings.retentionMs : 0;
  const r = telemetry.retain(cutoff, retentionSeries ?? 0, 200, rollupsMs > 0 ? now - rollupsMs : 0);
  stats.retainedBlocks += r.deleted;
  retentionSeries = r.nextSeries;
  if (retentionSeries !== undefined) return true;
  if (cutoff > 0) pruneHistory(db, cutoff, 5_000);
  return false;
}

/** The pass that rewrites blocks of the first format (README.md § Storage) runs until it has seen every block. */
let recodeRunning = true;
const recoded = { blocks: 0, skipped: 0 };

function recodeFinished(): void {
  recodeRunning = false;
  if (recoded.blocks === 0 && recoded.skipped === 0) return;
  send({
    t: 'log',
    level: recoded.skipped > 0 ? 'error' : 'info',
    msg: `telemetry blocks rewritten in the current format: ${recoded.blocks}; corrupt ones left as they were: ${recoded.skipped}`,
  });
}

function mergeSkipped(series: number, device: number, reason: string): void {
  send({
    t: 'log',
    level: 'error',
    msg: `telemetry merge skipped series ${series} of device rowid ${device}: its blocks stay as they are`,
    err: { code: 'HUB_ERR_STORAGE', message: reason },
  });
}

function maintenanceSucceeded(): void {
  if (failingSteps === 0) return;
  failingSteps = 0;
  send({ t: 'maintenance', failing: 0 });
}

let maintenanceScheduled = false;
function scheduleMaintenance(): void {
  if (maintenanceScheduled || closing) return;
  maintenanceScheduled = true;
  const run = () => {
    maintenanceScheduled = false;
    if (closing) return;
    const t = performance.now();
    const busy = maintain();
    lastStepMs = performance.now() - t;
    if (busy) scheduleMaintenance();
  };
  // Background work takes at most half of this thread while it keeps up: a pause as
  // long as the last step between steps. Compacting a generation flat out took a
  // whole core for a second every few seconds, and with the hub's main thread and
  // the devices on the same two cores, ACK latency spiked with it. Once a newer
  // generation is full too, compaction is behind and runs without pauses. Either
  // way, batches that arrive meanwhile run before the next step.
  if (telemetry.currentRows >= settings.compactRows || lastStepMs < 1) setImmediate(run);
  else setTimeout(run, lastStepMs);
}
const ticker = setInterval(scheduleMaintenance, Math.min(1_000, settings.compactIntervalMs));

port.on('message', (msg: ToWorker) => {
  switch (msg.t) {
    case 'batch': {
      try {
        const result = applyBatch(db, telemetry, msg.batch as IngestBatch, ctx.deleted);
        stats.batches++;
        stats.frames += result.frames;
        stats.logRows = telemetry.currentRows;
        send({ t: 'batch', result });
      } catch (err) {
        stats.failures++;
        try {
          telemetry.discardUncommitted();
        } catch {
          // The database may still be failing; the caches are cleared regardless.
        }
        send({ t: 'batch', id: msg.batch.id, error: serializeError(err) });
      }
      scheduleMaintenance();
      return;
    }
    case 'ops': {
      // Each operation is its own transaction: one failing leaves the others be.
      const done: OpOutcome[] = [];
      for (const { id, op, args } of msg.ops) {
        try {
          const fn = ops[op as OpName] as (c: OpContext, a: unknown) => unknown;
          if (fn === undefined) throw new Error(`unknown store operation ${op}`);
          done.push({ id, result: fn(ctx, args) });
        } catch (err) {
          done.push({ id, error: serializeError(err) });
        }
      }
      send({ t: 'done', ops: done });
      return;
    }
    case 'stats':
      send({ t: 'stats', id: msg.id, stats: { ...stats } });
      return;
    case 'compact': {
      // Tests and benchmarks: compact and merge everything now.
      for (const gen of telemetry.compactAll(reportQuarantine)) send({ t: 'compacted', gen });
      stats.logRows = 0;
      while (telemetry.merge(Number.POSITIVE_INFINITY, mergeSkipped) > 0);
      for (let r = telemetry.recode(); r !== undefined; r = telemetry.recode()) {
        recoded.blocks += r.blocks;
        recoded.skipped += r.skipped;
      }
      if (recodeRunning) recodeFinished();
      send({ t: 'compacted-all', id: msg.id });
      return;
    }
    case 'retain': {
      try {
        retentionSeries = undefined;
        while (retentionStep(msg.now));
        send({ t: 'retained', id: msg.id });
      } catch (err) {
        send({ t: 'retained', id: msg.id, error: serializeError(err) });
      }
      return;
    }
    case 'close': {
      closing = true;
      clearInterval(ticker);
      try {
        db.pragma('wal_checkpoint(TRUNCATE)');
        db.close();
        send({ t: 'closed', id: msg.id });
      } catch (err) {
        send({ t: 'closed', id: msg.id, error: serializeError(err) });
      }
      port.close();
      return;
    }
  }
});

send({ t: 'ready' });
