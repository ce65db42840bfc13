// Integrators: MQTT accounts (README.md § MQTT). A password hash (scrypt)
// and an optional ACL; no ACL means the default one, computed from the hub's
// --mqtt-prefix at run time so that a prefix change needs no migration.

import { HubError, HubErrorCode } from '../errors.js';
import type { Db } from './db.js';
import { sql } from './prepared.js';

/** MQTT topic filters (`+`, `#` allowed) an account may subscribe and publish to. */
export interface IntegratorAcl {
  subscribe: string[];
  publish: string[];
}

export interface IntegratorRecord {
  username: string;
  passwordHash: string;
  /** null: the default ACL. */
  acl: IntegratorAcl | null;
  createdAt: number;
}

interface Row {
  username: string;
  password_hash: string;
  acl: string | null;
  created_at: number;
}

const toRecord = (r: Row): IntegratorRecord => ({
  username: r.username,
  passwordHash: r.password_hash,
  acl: r.acl === null ? null : (JSON.parse(r.acl) as IntegratorAcl),
  createdAt: r.created_at,
});

export function getIntegrator(db: Db, username: string): IntegratorRecord | undefined {
  const r = sql(db, 'SELECT * FROM integrators WHERE username = ?').get(username) as Row | undefined;
  return r && toRecord(r);
}

export function listIntegrators(db: Db): IntegratorRecord[] {
  return (sql(db, 'SELECT * FROM integrators ORDER BY username').all() as Row[]).map(toRecord);
}

export function createIntegrator(db: Db, i: IntegratorRecord): IntegratorRecord {
  try {
    sql(db, 'INSERT INTO integrators (username, password_hash, acl, created_at) VALUES (?, ?, ?, ?)').run(
      i.username,
      i.passwordHash,
      i.acl === null ? null : JSON.stringify(i.acl),
      i.createdAt,
    );
  } catch (err) {
    if (String((err as { code?: string }).code).startsWith('SQLITE_CONSTRAINT')) {
      throw new HubError(HubErrorCode.IntegratorExists, `integrator "${i.username}" already exists`);
    }
    throw err;
  }
  return getIntegrator(db, i.username) as IntegratorRecord;
}

export function deleteIntegrator(db: Db, username: string): void {
  const { changes } = sql(db, 'DELETE FROM integrators WHERE username = ?').run(username);
  if (changes === 0) throw new HubError(HubErrorCode.IntegratorUnknown, `no integrator "${username}"`);
}
