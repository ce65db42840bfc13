// Copying telemetry: first every point of the compacted blocks (decoded with the
// store's own unpackBlock, series by series in block order), then every point of
// the generations not yet compacted, decoded from the frame log as compaction would
// (framePoints). Each chunk goes in by COPY, in one transaction with its checkpoint
// (checkpoints.ts), so a rerun continues after the last chunk that committed.

import type { Db } from '../store/db.js';
import { ensurePartitions } from '../store/postgres/partitions.js';
import type { Client, Pool } from '../store/postgres/pool.js';
import { query, transaction } from '../store/postgres/pool.js';
import { emptyColumns, insertPointsCopy, type PointColumns, pushPoint } from '../store/postgres/telemetry-insert.js';
import { type Points, type PointValue, unpackBlock } from '../store/telemetry/blocks.js';
import { framePoints, logTable, readGenState } from '../store/telemetry/log-compactor.js';
import { readCheckpoint, writeCheckpoint } from './checkpoints.js';
import { Progress, type Write } from './progress.js';

/** Blocks per chunk: at most 4,096 points each, so a chunk stays below ~130,000 points. */
const BLOCKS_PER_CHUNK = 32;
/** Log frames per chunk. */
const FRAMES_PER_CHUNK = 2000;
/** Partitions are made ahead for at most this far back; older points land in the default partition. */
const PARTITIONS_BACK_MS = 366 * 86_400_000;

interface BlockCursor {
  series: number;
  t0: number;
  id: number;
  points: number;
  done?: boolean;
}
interface LogCursor {
  gen: number;
  rowid: number;
  points: number;
  done?: boolean;
}

export interface TelemetryCopyOptions {
  write: Write;
  /** Tests: throw after this many chunks have committed, as an interruption would. */
  failAfterChunks?: number;
}

const LIVE_SERIES = 'series IN (SELECT s.id FROM series s WHERE s.device IN (SELECT rowid FROM devices))';

/** Points in compacted blocks (from the block headers: nothing is decoded). */
export function sourceBlockPoints(src: Db): number {
  const { compacted } = readGenState(src);
  return src.prepare(`SELECT coalesce(sum(n), 0) FROM telemetry_blocks WHERE gen <= ? AND ${LIVE_SERIES}`).pluck().get(compacted) as number;
}

/** Points in the generations not yet compacted (decoded, one frame at a time). */
export function sourceLogPoints(src: Db): number {
  let n = 0;
  const { current, compacted } = readGenState(src);
  for (let gen = compacted + 1; gen <= current; gen++) {
    const rows = src
      .prepare(`SELECT received, frame FROM ${logTable(gen)} WHERE device IN (SELECT rowid FROM devices)`)
      .raw()
      .iterate() as Iterable<[number, Uint8Array]>;
    for (const [received, frame] of rows)
      framePoints(frame, received, () => {
        n++;
      });
  }
  return n;
}

export async function copyTelemetry(src: Db, dst: Pool, opts: TelemetryCopyOptions): Promise<number> {
  const total = sourceBlockPoints(src) + sourceLogPoints(src);
  const oldest = src.prepare('SELECT min(t0) FROM telemetry_blocks').pluck().get() as number | null;
  const now = Date.now();
  await ensurePartitions(dst, now, Math.max(oldest ?? now, now - PARTITIONS_BACK_MS));
  let chunks = 0;
  const commit = async (cols: PointColumns, part: string, cursor: unknown) => {
    if (opts.failAfterChunks !== undefined && chunks >= opts.failAfterChunks) throw new Error('injected failure (test)');
    await transaction(dst, 'copying telemetry', async (c: Client) => {
      await insertPointsCopy(c, cols);
      await writeCheckpoint(c, part, cursor);
    });
    chunks++;
  };

  // Compacted blocks, in (series, t0, id) order: the cursor is the last block copied.
  const { current, compacted } = readGenState(src);
  let bc: BlockCursor = (await readCheckpoint<BlockCursor>(dst, 'telemetry.blocks')) ?? { series: -1, t0: 0, id: 0, points: 0 };
  const log0: LogCursor = (await readCheckpoint<LogCursor>(dst, 'telemetry.log')) ?? { gen: compacted + 1, rowid: 0, points: 0 };
  const progress = new Progress(opts.write, 'telemetry', 'points', total, bc.points + log0.points);
  const blocks = src
    .prepare(
      `SELECT series, t0, id, data FROM telemetry_blocks WHERE gen <= ? AND (series, t0, id) > (?, ?, ?) AND ${LIVE_SERIES}
       ORDER BY series, t0, id LIMIT ${BLOCKS_PER_CHUNK}`,
    )
    .raw();
  while (bc.done !== true) {
    const rows = blocks.all(compacted, bc.series, bc.t0, bc.id) as [number, number, number, Uint8Array][];
    const cols = emptyColumns();
    const p: Points = { ts: [], values: [] };
    for (const [series, , , data] of rows) {
      p.ts.length = 0;
      p.values.length = 0;
      unpackBlock(data, p);
      for (let i = 0; i < p.ts.length; i++) pushPoint(cols, series, p.ts[i] as number, p.values[i] as PointValue);
    }
    // A short page is the last: the cursor says done, in the same commit as its points.
    const last = rows[rows.length - 1];
    const next: BlockCursor = {
      series: last?.[0] ?? bc.series,
      t0: last?.[1] ?? bc.t0,
      id: last?.[2] ?? bc.id,
      points: bc.points + cols.series.length,
      ...(rows.length < BLOCKS_PER_CHUNK ? { done: true } : {}),
    };
    await commit(cols, 'telemetry.blocks', next);
    bc = next;
    progress.update(bc.points + log0.points);
  }

  // The frame log of generations not yet compacted: the cursor is (generation, rowid).
  const seriesIds = new Map<string, { id: number; unit: string | null }>();
  const seriesId = async (device: number, name: string, unit: string | undefined): Promise<number> => {
    const k = `${device}\u0000${name}`;
    let known = seriesIds.get(k);
    if (known === undefined) {
      // A series compaction has not created yet gets a PostgreSQL id of its own (the
      // identity sequence was moved past the copied ids first).
      await query(dst, 'copying telemetry series', 'INSERT INTO series (device, name, unit) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [
        device,
        name,
        unit === undefined ? null : JSON.stringify(unit),
      ]);
      const r = await query<{ id: number; unit: string | null }>(
        dst,
        'copying telemetry series',
        'SELECT id, unit FROM series WHERE device = $1 AND name = $2',
        [device, name],
      );
      known = r[0] as { id: number; unit: string | null };
      seriesIds.set(k, known);
    }
    // Units follow the newest point that has one, as compaction keeps them (log-compactor.ts).
    if (unit !== undefined && known.unit !== unit) {
      await query(dst, 'copying telemetry series', 'UPDATE series SET unit = $1 WHERE id = $2', [JSON.stringify(unit), known.id]);
      known.unit = unit;
    }
    return known.id;
  };
  let lc = log0;
  while (lc.done !== true) {
    if (lc.gen > current) {
      lc = { ...lc, done: true };
      await commit(emptyColumns(), 'telemetry.log', lc);
      break;
    }
    const rows = src
      .prepare(
        `SELECT rowid, device, received, frame FROM ${logTable(lc.gen)} WHERE rowid > ? AND device IN (SELECT rowid FROM devices)
         ORDER BY rowid LIMIT ${FRAMES_PER_CHUNK}`,
      )
      .raw()
      .all(lc.rowid) as [number, number, number, Uint8Array][];
    const cols = emptyColumns();
    for (const [, device, received, frame] of rows) {
      const pts: [string, string | undefined, number, PointValue][] = [];
      framePoints(frame, received, (name, unit, ts, value) => pts.push([name, unit, ts, value]));
      for (const [name, unit, ts, value] of pts) pushPoint(cols, await seriesId(device, name, unit), ts, value);
    }
    const lastRow = rows[rows.length - 1];
    const next: LogCursor =
      rows.length < FRAMES_PER_CHUNK
        ? { gen: lc.gen + 1, rowid: 0, points: lc.points + cols.series.length }
        : { gen: lc.gen, rowid: (lastRow as [number, number, number, Uint8Array])[0], points: lc.points + cols.series.length };
    await commit(cols, 'telemetry.log', next);
    lc = next;
    progress.update(bc.points + lc.points);
  }
  progress.update(bc.points + lc.points, true);
  return bc.points + lc.points;
}
