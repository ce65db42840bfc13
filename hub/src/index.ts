// The hub as a library, for its own tests and tools: start one in-process, or
// prepare and inspect a data directory without a running hub (the benchmarks seed
// devices and generate telemetry blocks with these). bench/ imports this file and,
// through the exports map, the Mosquitto test helper: no other hub internals.

export { sha256 } from './auth/secrets.js';
export { type HubConfig, loadConfig } from './config.js';
export { BACKLOG_HIGH } from './device/gateway.js';
export { type Hub, startHub } from './hub.js';
export { createLogger } from './log.js';
// The journals of persistent MQTT sessions, for the mqtt-sessions benchmark (a single hub's SQLite file against a cluster's PostgreSQL).
export { ENTRY_BYTES, OfflineQueues } from './mqtt/offline-queue.js';
export { SessionDb } from './mqtt/session-db.js';
export { PgSessionDb } from './mqtt/session-pg.js';
export { openDatabase } from './store/db.js';
export { migrate } from './store/migrations.js';
export { migrate as migratePostgres } from './store/postgres/migrate.js';
// The PostgreSQL store itself, for the postgres benchmark's queries on a seeded table.
export { ensurePartitions } from './store/postgres/partitions.js';
export { createPool as createPostgresPool } from './store/postgres/pool.js';
export { PostgresStore } from './store/postgres/postgres-store.js';
export { BLOCK_MAX_POINTS, blockRanges, type PackedBlock, packBlock, packBlocks, unpackBlock } from './store/telemetry/blocks.js';
export { decodeBlock, encodeBlock } from './store/telemetry/codec.js';
export { ROLLUP_WIDTHS, rollupsOf } from './store/telemetry/rollups.js';
export { BucketAccumulator } from './telemetry/buckets.js';
