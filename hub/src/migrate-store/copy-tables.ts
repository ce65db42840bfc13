// Copying the hub's state tables (tables.ts) a page at a time: each page is read in
// key order from SQLite and inserted into PostgreSQL with its keys, ON CONFLICT DO
// NOTHING, so a rerun after an interruption skips what is there and copies the
// rest; a table finished is marked so (checkpoints.ts) and not read again. Memory
// stays at one page whatever the table's size.

import type { Db } from '../store/db.js';
import type { Pool } from '../store/postgres/pool.js';
import { query } from '../store/postgres/pool.js';
import { readCheckpoint, writeCheckpoint } from './checkpoints.js';
import { Progress, type Write } from './progress.js';
import { fromClause, type TableSpec } from './tables.js';

/** Rows per page: 15 parameters a row for commands stays far below PostgreSQL's 65,535 per statement. */
export const PAGE_ROWS = 1000;

/** How many rows of the table the copy takes from SQLite. */
export function sourceCount(src: Db, t: TableSpec): number {
  return src
    .prepare(`SELECT count(*) FROM ${fromClause(t)}${t.where ? ` WHERE ${t.where}` : ''}`)
    .pluck()
    .get() as number;
}

export async function copyTable(src: Db, dst: Pool, t: TableSpec, write: Write): Promise<number> {
  const base = `SELECT ${t.select} FROM ${fromClause(t)}`;
  const pageRows = t.pageRows ?? PAGE_ROWS;
  const order = ` ORDER BY ${t.keys.join(', ')} LIMIT ${pageRows}`;
  const cond = (extra?: string) => {
    const all = [t.where, extra].filter((x) => x !== undefined);
    return all.length ? ` WHERE ${all.join(' AND ')}` : '';
  };
  const first = src.prepare(`${base}${cond()}${order}`).raw();
  const after = src.prepare(`${base}${cond(`(${t.keys.join(', ')}) > (${t.keys.map(() => '?').join(', ')})`)}${order}`).raw();
  const total = sourceCount(src, t);
  const progress = new Progress(write, t.name, 'rows', total);
  // A table a previous run finished is not read again (its rows would all be skipped anyway).
  const part = `table.${t.name}`;
  const finished = await readCheckpoint<{ rows: number }>(dst, part);
  if (finished !== undefined) {
    progress.update(finished.rows, true);
    return finished.rows;
  }
  const insertHead = `INSERT INTO ${t.name} (${t.columns.join(', ')}) VALUES `;
  let done = 0;
  let key: unknown[] | undefined;
  for (;;) {
    const rows = (key === undefined ? first.all() : after.all(...key)) as unknown[][];
    if (rows.length === 0) break;
    const params: unknown[] = [];
    const tuples: string[] = [];
    for (const r of rows) {
      const k = params.length;
      tuples.push(`(${t.columns.map((_, i) => `$${k + i + 1}`).join(', ')})`);
      params.push(...t.row(r));
    }
    await query(dst, `copying ${t.name}`, `${insertHead}${tuples.join(', ')} ON CONFLICT DO NOTHING`, params);
    key = (rows[rows.length - 1] as unknown[]).slice(0, t.keys.length);
    done += rows.length;
    progress.update(done);
    if (rows.length < pageRows) break;
  }
  await writeCheckpoint(dst, part, { rows: done });
  progress.update(done, true);
  return done;
}
