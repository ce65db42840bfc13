// What migrate-store copies from each SQLite table (except telemetry, which has its
// own path: copy-telemetry.ts), and how a row becomes its PostgreSQL row. Column
// meanings are those of ../store/migrations.ts and ../store/postgres/schema.ts:
// PostgreSQL keeps device names, model, firmware, series units and command errors as
// JSON strings (they may hold U+0000), flags as boolean, and documents as json.

/** One SQLite table's copy: rows read a page at a time in key order, written with their keys. */
export interface TableSpec {
  /** The name in both databases. */
  name: string;
  /** PostgreSQL columns, in the order `row` returns values. */
  columns: readonly string[];
  /** SQLite SELECT list; its first `keys.length` values are the key (row-value order). */
  select: string;
  /** Key expressions, in order, for paging (`(k1, k2) > (?, ?)`). */
  keys: readonly string[];
  /** WHERE filter, if any: rows of deleted devices, which PostgreSQL's foreign keys refuse. */
  where?: string;
  /** A SQLite row (raw array, SELECT order) as PostgreSQL parameters. */
  row: (r: unknown[]) => unknown[];
  /** Rows per page when they are large (firmware chunks: 64 KiB each); default PAGE_ROWS. */
  pageRows?: number;
  /** The identity column whose sequence must pass the copied ids, and the SQLite AUTOINCREMENT table, if any. */
  identity?: { column: string; sqliteSequence?: string };
}

const jsonString = (s: unknown) => (s === null || s === undefined ? null : JSON.stringify(String(s)));
const bool = (x: unknown) => x !== 0 && x !== 0n && x !== null;
const bytes = (x: unknown) => (x instanceof Uint8Array ? Buffer.from(x.buffer, x.byteOffset, x.byteLength) : x);
const same = (r: unknown[]) => r;
const LIVE_DEVICE = 'device IN (SELECT rowid FROM devices)';

/** In dependency order: a table comes after those its foreign keys point at. */
export const TABLES: readonly TableSpec[] = [
  {
    name: 'operators',
    columns: ['username', 'password_hash', 'role', 'disabled', 'created_at'],
    select: 'username, password_hash, role, disabled, created_at',
    keys: ['username'],
    row: (r) => [r[0], r[1], r[2], bool(r[3]), r[4]],
  },
  {
    // Operators stay logged in: a session is only a token's hash and an expiry.
    name: 'sessions',
    columns: ['token_hash', 'username', 'created_at', 'expires_at'],
    select: 'token_hash, username, created_at, expires_at',
    keys: ['token_hash'],
    where: 'username IN (SELECT username FROM operators)',
    row: (r) => [bytes(r[0]), r[1], r[2], r[3]],
  },
  {
    // Each operator's dashboard (SQLite migration 8, PostgreSQL 4); doc is JSON text.
    name: 'dashboards',
    columns: ['username', 'doc', 'updated_at'],
    select: 'username, doc, updated_at',
    keys: ['username'],
    where: 'username IN (SELECT username FROM operators)',
    row: same,
  },
  {
    name: 'integrators',
    columns: ['username', 'password_hash', 'acl', 'created_at'],
    select: 'username, password_hash, acl, created_at',
    keys: ['username'],
    row: same,
  },
  {
    name: 'devices',
    // caps: the JSON array text of the last HELLO (SQLite migration 6, PostgreSQL 2), as is.
    columns: [
      'rowid',
      'id',
      'name',
      'model',
      'firmware',
      'tags',
      'secret_hash',
      'created_at',
      'revoked_at',
      'boot',
      'last_seen',
      'rtt',
      'caps',
    ],
    select: 'rowid, id, name, model, firmware, tags, secret_hash, created_at, revoked_at, boot, last_seen, rtt, caps',
    keys: ['rowid'],
    row: (r) => [
      r[0],
      r[1],
      jsonString(r[2]),
      jsonString(r[3]),
      jsonString(r[4]),
      r[5],
      bytes(r[6]),
      r[7],
      r[8],
      r[9],
      r[10],
      r[11],
      r[12],
    ],
    identity: { column: 'rowid', sqliteSequence: 'devices' },
  },
  {
    // The durable sequence high-water marks: a device resuming after the move is
    // acknowledged, not stored twice, for what the SQLite hub already stored (SPEC.md §5.5).
    name: 'device_seq',
    columns: ['device', 'seq'],
    select: 'device, seq',
    keys: ['device'],
    where: LIVE_DEVICE,
    row: same,
  },
  {
    name: 'twins',
    columns: ['device', 'desired', 'desired_version', 'desired_updated', 'reported', 'reported_version', 'reported_updated'],
    select: 'device, desired, desired_version, desired_updated, reported, reported_version, reported_updated',
    keys: ['device'],
    where: LIVE_DEVICE,
    row: same,
  },
  {
    name: 'commands',
    columns: [
      'rowid',
      'id',
      'device',
      'name',
      'params',
      'state',
      'key',
      'created_at',
      'created_by',
      'ttl',
      'timeout',
      'sent_at',
      'result',
      'error',
      'updated_at',
    ],
    select: 'rowid, id, device, name, params, state, key, created_at, created_by, ttl, timeout, sent_at, result, error, updated_at',
    keys: ['rowid'],
    where: LIVE_DEVICE,
    row: (r) => [...r.slice(0, 13), jsonString(r[13]), r[14]],
    identity: { column: 'rowid' },
  },
  {
    // SQLite's implicit rowid keeps the order of moves; it becomes the id.
    name: 'command_history',
    columns: ['id', 'command', 'state', 'at'],
    select: 'rowid, command, state, at',
    keys: ['rowid'],
    where: `command IN (SELECT rowid FROM commands WHERE ${LIVE_DEVICE})`,
    row: same,
    identity: { column: 'id' },
  },
  {
    name: 'idempotency_keys',
    columns: ['scope', 'key', 'command', 'created_at'],
    select: 'scope, key, command, created_at',
    keys: ['scope', 'key'],
    row: same,
  },
  {
    name: 'events',
    columns: ['id', 'device', 'name', 'level', 'data', 'time', 'received_at'],
    select: 'id, device, name, level, data, time, received_at',
    keys: ['id'],
    where: LIVE_DEVICE,
    row: same,
    identity: { column: 'id' },
  },
  {
    name: 'presence',
    columns: ['id', 'device', 'online', 'reason', 'code', 'at'],
    select: 'id, device, online, reason, code, at',
    keys: ['id'],
    where: LIVE_DEVICE,
    row: (r) => [r[0], r[1], bool(r[2]), r[3], r[4], r[5]],
    identity: { column: 'id' },
  },
  {
    name: 'audit',
    columns: ['id', 'at', 'actor', 'action', 'target', 'detail'],
    select: 'id, at, actor, action, target, detail',
    keys: ['id'],
    row: same,
    identity: { column: 'id' },
  },
  {
    // What operators know of each hardware model (SQLite migration 7, PostgreSQL 3); doc is JSON text.
    name: 'model_profiles',
    columns: ['model', 'doc', 'updated_at', 'updated_by'],
    select: 'model, doc, updated_at, updated_by',
    keys: ['model'],
    row: same,
  },
  {
    // Firmware images (SQLite migration 9, PostgreSQL 6; docs/firmware.md). The signing
    // key's public half (meta) is not copied: the hub records it again from its key file.
    name: 'firmware',
    columns: [
      'rowid',
      'id',
      'model',
      'version',
      'notes',
      'size',
      'sha256',
      'signature',
      'chunk_size',
      'complete',
      'created_at',
      'created_by',
      'touched_at',
    ],
    select: 'rowid, id, model, version, notes, size, sha256, signature, chunk_size, complete, created_at, created_by, touched_at',
    keys: ['rowid'],
    row: (r) => [r[0], r[1], r[2], r[3], r[4], r[5], bytes(r[6]), bytes(r[7]), r[8], bool(r[9]), r[10], r[11], r[12]],
    identity: { column: 'rowid', sqliteSequence: 'firmware' },
  },
  {
    name: 'firmware_chunks',
    columns: ['image', 'n', 'data'],
    select: 'image, n, data',
    keys: ['image', 'n'],
    row: (r) => [r[0], r[1], bytes(r[2])],
    // 64 KiB rows: 16 to a page keeps a page near 1 MiB.
    pageRows: 16,
  },
  {
    name: 'device_updates',
    columns: [
      'rowid',
      'id',
      'device',
      'firmware',
      'job',
      'state',
      'progress',
      'reason',
      'detail',
      'from_fw',
      'to_fw',
      'attempts',
      'created_at',
      'created_by',
      'updated_at',
      'finished_at',
    ],
    select:
      'rowid, id, device, firmware, job, state, progress, reason, detail, from_fw, to_fw, attempts, created_at, created_by, updated_at, finished_at',
    keys: ['rowid'],
    where: LIVE_DEVICE,
    row: (r) => [...r.slice(0, 9), jsonString(r[9]), ...r.slice(10)],
    identity: { column: 'rowid', sqliteSequence: 'device_updates' },
  },
  {
    // Alarm rules (SQLite migration 10, PostgreSQL 7); doc is JSON text.
    name: 'alarm_rules',
    columns: ['id', 'doc', 'updated_at'],
    select: 'id, doc, updated_at',
    keys: ['id'],
    row: same,
  },
  {
    // Alarms with their history (SQLite migration 10, PostgreSQL 7); doc is JSON text.
    name: 'alarms',
    columns: ['rowid', 'id', 'rule', 'device', 'severity', 'state', 'raised_at', 'updated_at', 'doc'],
    select: 'rowid, id, rule, device, severity, state, raised_at, updated_at, doc',
    keys: ['rowid'],
    where: LIVE_DEVICE,
    row: same,
    identity: { column: 'rowid', sqliteSequence: 'alarms' },
  },
  {
    // Webhooks, signing secret inside doc (SQLite migration 11, PostgreSQL 8).
    name: 'webhooks',
    columns: ['id', 'doc', 'updated_at'],
    select: 'id, doc, updated_at',
    keys: ['id'],
    row: same,
  },
  {
    // The delivery queue and log: pending rows go on being delivered by the new store's hub.
    name: 'webhook_deliveries',
    columns: [
      'rowid',
      'id',
      'webhook',
      'event',
      'body',
      'state',
      'attempts',
      'created_at',
      'next_at',
      'last_status',
      'last_error',
      'finished_at',
    ],
    select: 'rowid, id, webhook, event, body, state, attempts, created_at, next_at, last_status, last_error, finished_at',
    keys: ['rowid'],
    row: same,
    identity: { column: 'rowid', sqliteSequence: 'webhook_deliveries' },
  },
  {
    // Series keep their ids, so the points copied from blocks need no lookup.
    name: 'series',
    columns: ['id', 'device', 'name', 'unit'],
    select: 's.id, s.device, m.name, s.unit',
    keys: ['s.id'],
    where: `s.${LIVE_DEVICE}`,
    row: (r) => [r[0], r[1], r[2], jsonString(r[3])],
    identity: { column: 'id' },
  },
];

/** The FROM clause of a spec (series joins its metric names). */
export function fromClause(t: TableSpec): string {
  return t.name === 'series' ? 'series s JOIN metrics m ON m.id = s.metric' : t.name;
}
