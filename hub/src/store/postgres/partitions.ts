// Telemetry partitions: one per UTC day, created a few days ahead so ingest never
// waits on DDL, and dropped whole for retention (DETACH + DROP: no row-by-row
// DELETE, no vacuum debt). Points outside every day partition land in the default
// partition; making a partition for a day the default already holds points of
// moves those points into it first, since PostgreSQL refuses to attach a range the
// default partition has rows in.

import type { Client, Pool } from './pool.js';
import { query, transaction } from './pool.js';

export const DAY_MS = 86_400_000;
/** Partitions kept ready beyond today. */
export const DAYS_AHEAD = 3;
/** Transaction advisory lock so two hubs doing partition upkeep take turns ('hlyd' 'part'). */
export const PARTITION_LOCK = [0x686c7964, 0x70617274];

/** The partition holding day `day` (ms at 00:00 UTC): telemetry_p20261130. */
export function partitionName(day: number): string {
  return `telemetry_p${new Date(day).toISOString().slice(0, 10).replaceAll('-', '')}`;
}

function dayOf(name: string): number | undefined {
  const m = /^telemetry_p(\d{4})(\d{2})(\d{2})$/.exec(name);
  return m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : undefined;
}

/** The day partitions there are, by their day (ms), oldest first. */
export async function listPartitions(db: Pool | Client): Promise<{ name: string; day: number }[]> {
  const rows = await query<{ name: string }>(
    db,
    'listing telemetry partitions',
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = 'telemetry'::regclass`,
  );
  return rows
    .map((r) => ({ name: r.name, day: dayOf(r.name) }))
    .filter((p): p is { name: string; day: number } => p.day !== undefined)
    .sort((a, b) => a.day - b.day);
}

/** Creates the day partitions from `from`'s day through DAYS_AHEAD days after `now`'s; returns those created. */
export async function ensurePartitions(pool: Pool, now: number, from = now): Promise<string[]> {
  const first = Math.floor(from / DAY_MS) * DAY_MS;
  const last = Math.floor(now / DAY_MS) * DAY_MS + DAYS_AHEAD * DAY_MS;
  return transaction(pool, 'creating telemetry partitions', async (c) => {
    await c.query('SELECT pg_advisory_xact_lock($1, $2)', PARTITION_LOCK);
    const have = new Set((await listPartitions(c)).map((p) => p.day));
    const created: string[] = [];
    for (let day = first; day <= last; day += DAY_MS) {
      if (have.has(day)) continue;
      await createDay(c, day);
      created.push(partitionName(day));
    }
    return created;
  });
}

async function createDay(c: Client, day: number): Promise<void> {
  const name = partitionName(day);
  const range = `FOR VALUES FROM (${day}) TO (${day + DAY_MS})`;
  const stray = await c.query('SELECT 1 FROM telemetry_default WHERE ts >= $1 AND ts < $2 LIMIT 1', [day, day + DAY_MS]);
  if (stray.rowCount === 0) {
    await c.query(`CREATE TABLE ${name} PARTITION OF telemetry ${range}`);
    return;
  }
  // Build it beside the table, move the default partition's points of that day in, then attach.
  await c.query(`CREATE TABLE ${name} (LIKE telemetry INCLUDING DEFAULTS)`);
  await c.query(
    `WITH moved AS (DELETE FROM telemetry_default WHERE ts >= $1 AND ts < $2 RETURNING *) INSERT INTO ${name} SELECT * FROM moved`,
    [day, day + DAY_MS],
  );
  await c.query(`ALTER TABLE telemetry ATTACH PARTITION ${name} ${range}`);
}

/**
 * Retention: drops the day partitions wholly older than `cutoff` (ms) and the
 * default partition's points before it; returns the partitions dropped.
 */
export async function dropPartitionsBefore(pool: Pool, cutoff: number): Promise<string[]> {
  return transaction(pool, 'dropping old telemetry partitions', async (c) => {
    await c.query('SELECT pg_advisory_xact_lock($1, $2)', PARTITION_LOCK);
    const old = (await listPartitions(c)).filter((p) => p.day + DAY_MS <= cutoff);
    for (const p of old) {
      await c.query(`ALTER TABLE telemetry DETACH PARTITION ${p.name}`);
      await c.query(`DROP TABLE ${p.name}`);
    }
    await c.query('DELETE FROM telemetry_default WHERE ts < $1', [cutoff]);
    return old.map((p) => p.name);
  });
}
