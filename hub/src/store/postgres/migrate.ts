// Applying the schema on start. Several hubs may start together against one
// database: a session advisory lock makes them take turns, so each migration runs
// exactly once and the later hubs find the schema already there.

import { HubError, HubErrorCode } from '../../errors.js';
import { type Client, type Pool, storageError } from './pool.js';
import { PG_MIGRATIONS, type PgMigration } from './schema.js';

/** Advisory lock key for schema changes (any constant; 'hlyd' 'mig1' as two int4s). */
export const MIGRATE_LOCK: readonly [number, number] = [0x686c7964, 0x6d696731];

/** Brings the database up to the newest migration; returns the versions this call applied. */
export async function migrate(pool: Pool, migrations: readonly PgMigration[] = PG_MIGRATIONS): Promise<number[]> {
  let client: Client;
  try {
    client = await pool.connect();
  } catch (err) {
    throw storageError(err, 'migrating the PostgreSQL schema');
  }
  let broken: Error | undefined;
  // See transaction() in pool.ts: a dropped connection must not emit 'error' unheard.
  const onError = (err: Error) => {
    broken ??= err;
  };
  client.on('error', onError);
  try {
    // A session lock, not a transaction one: it spans the migrations' own transactions.
    // The server releases it if this connection dies, so a crashed hub blocks no one.
    await client.query('SELECT pg_advisory_lock($1, $2)', [...MIGRATE_LOCK]);
    try {
      await client.query(
        'CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)',
      );
      const done = new Set((await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
      const latest = migrations[migrations.length - 1]?.version ?? 0;
      const newest = Math.max(0, ...done);
      if (newest > latest) {
        throw new HubError(
          HubErrorCode.Storage,
          `database schema version ${newest} is newer than this hub knows (${latest}): upgrade the hub`,
        );
      }
      const applied: number[] = [];
      for (const m of migrations) {
        if (done.has(m.version)) continue;
        await client.query('BEGIN');
        try {
          await client.query(m.sql);
          await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [
            m.version,
            m.name,
            Date.now(),
          ]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK').catch((e: Error) => {
            broken = e;
          });
          throw err;
        }
        applied.push(m.version);
      }
      return applied;
    } finally {
      await client.query('SELECT pg_advisory_unlock($1, $2)', [...MIGRATE_LOCK]).catch((e: Error) => {
        broken = e;
      });
    }
  } catch (err) {
    throw storageError(err, 'migrating the PostgreSQL schema');
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}
