// The PostgreSQL connection pool and transactions on it. Timestamps and ids are
// bigint in the schema but the hub works in JavaScript numbers (ms since the epoch,
// row ids): both stay far below 2^53, so int8 is parsed as a number here, once.

import pg from 'pg';
import { HubError, HubErrorCode } from '../../errors.js';

/** int8 (bigint) as a number: ms timestamps and row ids fit in 53 bits. */
const INT8_OID = 20;
const types = {
  getTypeParser: (oid: number, format?: string) =>
    oid === INT8_OID && format !== 'binary' ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text'),
};

export interface PoolOptions {
  /** Connections at most (default 10). */
  max?: number;
  /** ms to wait for a connection before a query fails (default 10 s). */
  connectTimeoutMs?: number;
  /** Called for errors of idle connections (the server went away); the pool replaces them. */
  onIdleError?: (err: Error) => void;
}

export type Pool = pg.Pool;
export type Client = pg.PoolClient;

export function createPool(url: string, options: PoolOptions = {}): Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    types,
    application_name: 'halyard-hub',
  });
  // An idle client losing its server emits 'error' on the pool; unhandled, that would
  // end the process. The next query gets a fresh connection (or a clear error).
  pool.on('error', (err) => options.onIdleError?.(err));
  return pool;
}

/**
 * Whether the server takes a new connection and answers on it. The store's probe
 * while it is down: a connection kept in the pool can still answer for a moment
 * while the server shuts down (its backend has not yet handled the signal), and
 * would report the server up just as it goes away.
 */
export async function probeServer(url: string, timeoutMs = 10_000): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs, application_name: 'halyard-hub' });
  // An error after the answer (the server going away again) must not end the process.
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
  } finally {
    await client.end().catch(() => {});
  }
}

/** SQLSTATE classes that mean the connection or the server is gone, not that the statement is wrong. */
export function isConnectionFault(err: unknown): boolean {
  if (err instanceof HubError) return err.cause !== undefined && isConnectionFault(err.cause);
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') {
    // 08: connection exception; 57P01..57P03: admin shutdown, crash shutdown, cannot connect now.
    if (code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03') return true;
    if (code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'EPIPE' || code === 'ETIMEDOUT') return true;
  }
  const msg = err instanceof Error ? err.message : '';
  // The last two: no answer at all (a host that drops packets), from the pool's
  // connect timeout and from a statement's own (INGEST_TIMEOUT_MS).
  return /Connection terminated|connection timeout|Client has encountered a connection error|timeout exceeded when trying to connect|Query read timeout/i.test(
    msg,
  );
}

/**
 * A database failure as the hub's error: HubError passes through; a lost server
 * becomes HUB_ERR_STORAGE saying so (the pool reconnects on the next call).
 */
export function storageError(err: unknown, what: string): Error {
  if (err instanceof HubError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  // The caller's text, not the server: U+0000 (or a character the encoding lacks) in a value.
  if (BAD_TEXT.has(pgCode(err) ?? ''))
    return new HubError(HubErrorCode.Validation, `${what}: a value holds U+0000 or a character PostgreSQL cannot store`, { cause: err });
  if (isConnectionFault(err))
    return new HubError(HubErrorCode.Storage, `${what}: the PostgreSQL server is unreachable (${detail}); retry later`, { cause: err });
  return new HubError(HubErrorCode.Storage, `${what}: ${detail}`, { cause: err });
}

/** SQLSTATEs of text the server cannot hold: character_not_in_repertoire (U+0000 in UTF-8), untranslatable_character. */
const BAD_TEXT: ReadonlySet<string> = new Set(['22021', '22P05']);

/** SQLSTATE of a unique violation. */
export const UNIQUE_VIOLATION = '23505';

export function pgCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Runs `fn` in one transaction on one connection: COMMIT when it resolves, ROLLBACK
 * when it throws. Resolves only after COMMIT has returned, so a caller told "done"
 * can rely on it (a device's ACK waits for this). A connection that failed is
 * destroyed instead of going back to the pool.
 */
/**
 * Longest an ingest statement may go unanswered, ms. A server that stops answering
 * without closing the connection (a network that drops packets, a host gone dark)
 * would otherwise hold a batch, and its devices' ACKs, for as long as TCP takes to
 * give up (minutes to hours); past this the statement fails as a connection fault
 * and the store reports the server unreachable. Ten seconds is the pool's connect
 * timeout too: a batch is a few ms to a few hundred on a loaded server. Named
 * operations and reads have none: a migration or retention may wait for a lock.
 */
export const INGEST_TIMEOUT_MS = 10_000;

/** `c` with every plain statement bounded by `ms` (pg's query_timeout); other submittables (COPY) pass as they are. */
function bounded(c: Client, ms: number): Client {
  return new Proxy(c, {
    get(target, prop, receiver) {
      if (prop !== 'query') return Reflect.get(target, prop, receiver);
      return (text: unknown, values?: unknown[]) =>
        typeof text === 'string'
          ? target.query({ text, values, query_timeout: ms } as never)
          : target.query(text as never, values as never);
    },
  });
}

export async function transaction<T>(
  pool: Pool,
  what: string,
  fn: (c: Client) => Promise<T>,
  options: { queryTimeoutMs?: number } = {},
): Promise<T> {
  let client: Client;
  try {
    client = await pool.connect();
  } catch (err) {
    throw storageError(err, what);
  }
  let broken: Error | undefined;
  // A checked-out connection the server drops between two statements emits 'error'
  // with nobody listening (the pool listens only while it is idle): unhandled, that
  // would end the process. The next statement fails anyway; remember the error.
  const onError = (err: Error) => {
    broken ??= err;
  };
  client.on('error', onError);
  try {
    const c = options.queryTimeoutMs === undefined ? client : bounded(client, options.queryTimeoutMs);
    await c.query('BEGIN');
    const out = await fn(c);
    await c.query('COMMIT');
    return out;
  } catch (err) {
    // A connection that failed or stopped answering is not asked to roll back (it
    // could hang as the statement did): destroyed, it rolls back on the server.
    if (isConnectionFault(err)) broken ??= err as Error;
    else {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackErr) {
        broken = rollbackErr as Error;
      }
    }
    throw storageError(err, what);
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}

/** One statement outside a transaction, with the same error translation. */
export async function query<R extends pg.QueryResultRow>(
  pool: Pool | Client,
  what: string,
  text: string,
  values?: unknown[],
): Promise<R[]> {
  try {
    return (await pool.query<R>(text, values)).rows;
  } catch (err) {
    throw storageError(err, what);
  }
}

/**
 * Refuses (QueueFull, "at most `max` `what`") when `table` already holds `max` rows
 * (`table` may end in a WHERE clause: the rows that count), counted under the transaction advisory lock `lock`. Without the lock two
 * transactions (two hubs, or two requests on one) both counted max - 1 under READ
 * COMMITTED and both inserted; with it the second counts after the first commits.
 * Call it first in the transaction that then inserts.
 */
export async function refuseAtCap(db: Queryable, lock: readonly [number, number], table: string, max: number, what: string): Promise<void> {
  await db.query('SELECT pg_advisory_xact_lock($1, $2)', [...lock]);
  const n = (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]?.n ?? 0;
  if (n >= max) throw new HubError(HubErrorCode.QueueFull, `at most ${max} ${what}`);
}

/** Anything that runs a query: the pool, or a connection inside a transaction. */
export type Queryable = Pool | Client;
