// Numbered schema migrations. Each runs once, in order, inside a transaction;
// PRAGMA user_version records how far a database has come. Never edit a migration
// that has shipped: add the next one.

import type { Db } from './db.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'devices, telemetry, events, presence, operators, sessions, audit',
    sql: `
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

-- rowid is the compact device number telemetry refers to; AUTOINCREMENT so a
-- deleted device's number is never reused.
CREATE TABLE devices (
  rowid       INTEGER PRIMARY KEY AUTOINCREMENT,
  id          TEXT NOT NULL UNIQUE,
  name        TEXT,
  model       TEXT,
  firmware    TEXT,
  tags        TEXT NOT NULL DEFAULT '[]',
  secret_hash BLOB NOT NULL,
  created_at  INTEGER NOT NULL,
  revoked_at  INTEGER,
  boot        INTEGER,
  last_seen   INTEGER,
  rtt         INTEGER
);

-- Highest durable sequence number per device, written in the same transaction as
-- the data it covers (SPEC.md §5.5).
CREATE TABLE device_seq (
  device INTEGER PRIMARY KEY,
  seq    INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE metrics (
  id   INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE
);

-- One series per (device, metric). last_* is the newest compacted point.
CREATE TABLE series (
  id      INTEGER PRIMARY KEY,
  device  INTEGER NOT NULL,
  metric  INTEGER NOT NULL REFERENCES metrics(id),
  unit    TEXT,
  last_ts INTEGER,
  last_v  REAL,
  last_x  ANY,
  UNIQUE (device, metric)
) STRICT;

-- Telemetry lands in a log first: one row per TELEMETRY frame, as it arrived (the
-- frame's bytes and the time it was received, which anchors its relative times),
-- appended without an index, so a commit is cheap and the ACK fast whatever the
-- frame holds. Two tables take turns (generations); compaction decodes a sealed
-- generation into per-series blocks, then empties its table in one cheap truncate.
CREATE TABLE telemetry_log0 (
  device   INTEGER NOT NULL,
  received INTEGER NOT NULL,
  frame    BLOB NOT NULL
) STRICT;
CREATE TABLE telemetry_log1 (
  device   INTEGER NOT NULL,
  received INTEGER NOT NULL,
  frame    BLOB NOT NULL
) STRICT;

-- Compacted telemetry: one row holds up to 4096 points of one series, sorted by
-- time, with a summary so coarse queries need not unpack. level 0 = fresh from
-- compaction, 1 = merged into a full block; gen = the log generation it came from
-- (queries read blocks of compacted generations only).
CREATE TABLE telemetry_blocks (
  series INTEGER NOT NULL,
  t0     INTEGER NOT NULL,
  id     INTEGER NOT NULL,
  t1     INTEGER NOT NULL,
  level  INTEGER NOT NULL,
  gen    INTEGER NOT NULL,
  n      INTEGER NOT NULL,
  nnum   INTEGER NOT NULL,
  sum    REAL,
  min    REAL,
  max    REAL,
  data   BLOB NOT NULL,
  PRIMARY KEY (series, t0, id)
) STRICT, WITHOUT ROWID;

CREATE TABLE events (
  id          INTEGER PRIMARY KEY,
  device      INTEGER NOT NULL,
  name        TEXT NOT NULL,
  level       INTEGER NOT NULL,
  data        TEXT,
  time        INTEGER NOT NULL,
  received_at INTEGER NOT NULL
);
CREATE INDEX events_by_device ON events (device, id);

CREATE TABLE presence (
  id     INTEGER PRIMARY KEY,
  device INTEGER NOT NULL,
  online INTEGER NOT NULL,
  reason TEXT NOT NULL,
  code   INTEGER,
  at     INTEGER NOT NULL
);
CREATE INDEX presence_by_device ON presence (device, id);

CREATE TABLE operators (
  username      TEXT PRIMARY KEY,
  password_hash TEXT NOT NULL,
  role          TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
  disabled      INTEGER NOT NULL DEFAULT 0,
  created_at    INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE sessions (
  token_hash BLOB PRIMARY KEY,
  username   TEXT NOT NULL REFERENCES operators(username) ON DELETE CASCADE,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_by_user ON sessions (username);

CREATE TABLE audit (
  id     INTEGER PRIMARY KEY,
  at     INTEGER NOT NULL,
  actor  TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT,
  detail TEXT
);
`,
  },
  {
    version: 2,
    name: 'commands and twins',
    sql: `
CREATE TABLE twins (
  device           INTEGER PRIMARY KEY,
  desired          TEXT NOT NULL,
  desired_version  INTEGER NOT NULL,
  desired_updated  TEXT NOT NULL,
  reported         TEXT NOT NULL,
  reported_version INTEGER NOT NULL,
  reported_updated TEXT NOT NULL
);

-- The command ledger. state moves queued -> sent -> accepted -> succeeded/failed/
-- rejected, or ends expired/timed_out/cancelled; every move is in command_history.
CREATE TABLE commands (
  rowid      INTEGER PRIMARY KEY,
  id         TEXT NOT NULL UNIQUE,
  device     INTEGER NOT NULL,
  name       TEXT NOT NULL,
  params     TEXT NOT NULL,
  state      TEXT NOT NULL,
  key        TEXT,
  created_at INTEGER NOT NULL,
  created_by TEXT NOT NULL,
  ttl        INTEGER NOT NULL,
  timeout    INTEGER NOT NULL,
  sent_at    INTEGER,
  result     TEXT,
  error      TEXT,
  updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX commands_by_key ON commands (device, key) WHERE key IS NOT NULL;
CREATE INDEX commands_by_device ON commands (device, rowid);
CREATE INDEX commands_open ON commands (state) WHERE state IN ('queued', 'sent', 'accepted');

CREATE TABLE command_history (
  command INTEGER NOT NULL,
  state   TEXT NOT NULL,
  at      INTEGER NOT NULL
);
CREATE INDEX command_history_by_command ON command_history (command);
`,
  },
  {
    version: 3,
    name: 'integrators (MQTT accounts)',
    sql: `
-- acl: JSON {subscribe: [filter], publish: [filter]}, or NULL for the default ACL.
CREATE TABLE integrators (
  username      TEXT PRIMARY KEY,
  password_hash TEXT NOT NULL,
  acl           TEXT,
  created_at    INTEGER NOT NULL
) WITHOUT ROWID;
`,
  },
  {
    version: 4,
    name: 'idempotency keys per caller, with an age',
    sql: `
-- A key belongs to the caller who used it (an operator's username, mqtt:<account>,
-- bridge:<label>), not to the device: one caller's key must never answer another
-- caller's request. commands.key stays as the record of the key a command came with.
DROP INDEX commands_by_key;
CREATE TABLE idempotency_keys (
  scope      TEXT NOT NULL,
  key        TEXT NOT NULL,
  command    INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (scope, key)
) WITHOUT ROWID;
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
-- created_by is who asked, so the keys already used keep answering their own caller.
-- A caller could use one key on several devices before: its newest command keeps it.
INSERT OR IGNORE INTO idempotency_keys (scope, key, command, created_at)
  SELECT created_by, key, rowid, created_at FROM commands WHERE key IS NOT NULL ORDER BY rowid DESC;
`,
  },
  {
    version: 5,
    name: 'telemetry quarantine',
    sql: `
-- Telemetry compaction could not store: a logged frame (kind 'frame', ref = its
-- rowid in the log) or one series' points of a generation (kind 'series', ref = the
-- series id, points = CBOR [[time...], [value...]] when they could be encoded).
-- Kept for operators; compaction moves on without it.
CREATE TABLE telemetry_quarantine (
  id       INTEGER PRIMARY KEY,
  gen      INTEGER NOT NULL,
  kind     TEXT NOT NULL CHECK (kind IN ('frame', 'series')),
  ref      INTEGER NOT NULL,
  device   INTEGER NOT NULL,
  received INTEGER,
  frame    BLOB,
  points   BLOB,
  reason   TEXT NOT NULL,
  at       INTEGER NOT NULL,
  UNIQUE (gen, kind, ref)
);
`,
  },
  {
    version: 6,
    name: 'device caps',
    sql: `
-- What a device declared in its last HELLO \`caps\` (SPEC.md §5.1), a JSON array of
-- strings; [] until it declares any.
ALTER TABLE devices ADD COLUMN caps TEXT NOT NULL DEFAULT '[]';
`,
  },
  {
    version: 7,
    name: 'model profiles',
    sql: `
-- What operators know of a hardware model (README.md § HTTP API): its commands with
-- their parameters, its metrics' units and formats, its desired keys. doc is JSON.
CREATE TABLE model_profiles (
  model      TEXT PRIMARY KEY,
  doc        TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  updated_by TEXT NOT NULL
);
`,
  },
  {
    version: 8,
    name: 'dashboards',
    sql: `
-- Each operator's dashboard (README.md § Web console): doc is JSON {panels: [...]},
-- validated by the API; it goes with its operator.
CREATE TABLE dashboards (
  username   TEXT PRIMARY KEY REFERENCES operators(username) ON DELETE CASCADE,
  doc        TEXT NOT NULL,
  updated_at INTEGER NOT NULL
) WITHOUT ROWID;
`,
  },
  {
    version: 9,
    name: 'firmware images and device updates',
    sql: `
-- Firmware images (docs/firmware.md). The bytes are in firmware_chunks, chunk_size
-- bytes each, so a device's CHUNK_REQUEST reads one or two chunks, never the image.
-- An upload in progress is complete = 0; touched_at says when it last wrote a chunk.
CREATE TABLE firmware (
  rowid      INTEGER PRIMARY KEY AUTOINCREMENT,
  id         TEXT NOT NULL UNIQUE,
  model      TEXT NOT NULL,
  version    TEXT NOT NULL,
  notes      TEXT NOT NULL,
  size       INTEGER NOT NULL,
  sha256     BLOB,
  signature  BLOB,
  chunk_size INTEGER NOT NULL,
  complete   INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  created_by TEXT NOT NULL,
  touched_at INTEGER NOT NULL,
  UNIQUE (model, version)
);
CREATE TABLE firmware_chunks (
  image INTEGER NOT NULL,
  n     INTEGER NOT NULL,
  data  BLOB NOT NULL,
  PRIMARY KEY (image, n)
) WITHOUT ROWID;

-- One firmware update of one device (SPEC.md §12): the unit a fleet job is made of.
-- id is the job id on the wire; state the §12.5 name; progress the bytes the device
-- holds; reason the §12.6 code. firmware is cleared when a finished update's image
-- is deleted. At most one update per device is open (finished_at IS NULL).
CREATE TABLE device_updates (
  rowid       INTEGER PRIMARY KEY AUTOINCREMENT,
  id          TEXT NOT NULL UNIQUE,
  device      INTEGER NOT NULL,
  firmware    INTEGER,
  job         TEXT,
  state       TEXT NOT NULL,
  progress    INTEGER NOT NULL,
  reason      INTEGER,
  detail      TEXT,
  from_fw     TEXT,
  to_fw       TEXT NOT NULL,
  attempts    INTEGER NOT NULL,
  created_at  INTEGER NOT NULL,
  created_by  TEXT NOT NULL,
  updated_at  INTEGER NOT NULL,
  finished_at INTEGER
);
CREATE INDEX device_updates_device ON device_updates (device, rowid);
CREATE UNIQUE INDEX device_updates_open ON device_updates (device) WHERE finished_at IS NULL;
CREATE INDEX device_updates_firmware ON device_updates (firmware) WHERE finished_at IS NULL;
`,
  },
  {
    version: 10,
    name: 'alarm rules and alarms',
    sql: `
-- Alarm rules and alarms (README.md § Alarms and notifications). A rule is its JSON
-- document (AlarmRule). An alarm is its JSON document (AlarmInfo, history included)
-- plus the columns its queries filter on; device is the device's rowid (the alarms of
-- a deleted device go with it). At most one alarm per (rule, device) is not cleared.
CREATE TABLE alarm_rules (
  id         TEXT PRIMARY KEY,
  doc        TEXT NOT NULL,
  updated_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE alarms (
  rowid      INTEGER PRIMARY KEY AUTOINCREMENT,
  id         TEXT NOT NULL UNIQUE,
  rule       TEXT NOT NULL,
  device     INTEGER NOT NULL,
  severity   TEXT NOT NULL,
  state      TEXT NOT NULL,
  raised_at  INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  doc        TEXT NOT NULL
);
CREATE UNIQUE INDEX alarms_open ON alarms (rule, device) WHERE state <> 'cleared';
CREATE INDEX alarms_device ON alarms (device, rowid);
`,
  },
  {
    version: 11,
    name: 'webhooks and their deliveries',
    sql: `
-- Webhooks and their delivery queue and log (README.md § Alarms and notifications).
-- A webhook is its JSON document, signing secret included (stored as given: the hub
-- signs with it, SECURITY.md). A delivery is pending (the queue: due at next_at)
-- until delivered or failed (the log, pruned after a week).
CREATE TABLE webhooks (
  id         TEXT PRIMARY KEY,
  doc        TEXT NOT NULL,
  updated_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE webhook_deliveries (
  rowid       INTEGER PRIMARY KEY AUTOINCREMENT,
  id          TEXT NOT NULL UNIQUE,
  webhook     TEXT NOT NULL,
  event       TEXT NOT NULL,
  body        TEXT NOT NULL,
  state       TEXT NOT NULL,
  attempts    INTEGER NOT NULL,
  created_at  INTEGER NOT NULL,
  next_at     INTEGER,
  last_status INTEGER,
  last_error  TEXT,
  finished_at INTEGER
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (webhook, next_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook, rowid);
`,
  },
];

/** Brings `db` up to the newest migration; returns the versions applied. */
export function migrate(db: Db, migrations: readonly Migration[] = MIGRATIONS): number[] {
  const current = db.pragma('user_version', { simple: true }) as number;
  const latest = migrations[migrations.length - 1]?.version ?? 0;
  if (current > latest) {
    throw new Error(`database schema version ${current} is newer than this hub knows (${latest}): upgrade the hub`);
  }
  const applied: number[] = [];
  for (const m of migrations) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    })();
    applied.push(m.version);
  }
  return applied;
}
