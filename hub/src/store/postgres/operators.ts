// Operators, their login sessions, the audit log and integrators (MQTT accounts) in
// PostgreSQL (as ../operators.ts and ../integrators.ts do in SQLite).

import type { Role } from '@halyard/firmware-protocol';
import { HubError, HubErrorCode } from '../../errors.js';
import type { IntegratorAcl, IntegratorRecord } from '../integrators.js';
import type { AuditEntry, AuditQuery, AuditRecord, OperatorPatch, OperatorRecord, SessionRecord } from '../operators.js';
import { pgCode, type Queryable, UNIQUE_VIOLATION } from './pool.js';

interface OperatorRow {
  username: string;
  password_hash: string;
  role: Role;
  disabled: boolean;
  created_at: number;
}

const toOperator = (r: OperatorRow): OperatorRecord => ({
  username: r.username,
  passwordHash: r.password_hash,
  role: r.role,
  disabled: r.disabled,
  createdAt: r.created_at,
});

const bytes = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

export async function getOperator(db: Queryable, username: string): Promise<OperatorRecord | undefined> {
  const r = (await db.query<OperatorRow>('SELECT * FROM operators WHERE username = $1', [username])).rows[0];
  return r && toOperator(r);
}

export async function listOperators(db: Queryable): Promise<OperatorRecord[]> {
  return (await db.query<OperatorRow>('SELECT * FROM operators ORDER BY username COLLATE "C"')).rows.map(toOperator);
}

export async function countOperators(db: Queryable): Promise<number> {
  return (await db.query<{ n: number }>('SELECT count(*) AS n FROM operators')).rows[0]?.n ?? 0;
}

export async function createOperator(
  db: Queryable,
  o: { username: string; passwordHash: string; role: Role; createdAt: number },
): Promise<OperatorRecord> {
  try {
    await db.query('INSERT INTO operators (username, password_hash, role, created_at) VALUES ($1, $2, $3, $4)', [
      o.username,
      o.passwordHash,
      o.role,
      o.createdAt,
    ]);
  } catch (err) {
    if (pgCode(err) === UNIQUE_VIOLATION) throw new HubError(HubErrorCode.OperatorExists, `operator "${o.username}" already exists`);
    throw err;
  }
  return (await getOperator(db, o.username)) as OperatorRecord;
}

/** Active admins, their rows locked: two hubs demoting the last two admins at once must not both succeed. */
async function activeAdmins(db: Queryable): Promise<number> {
  return (await db.query("SELECT 1 FROM operators WHERE role = 'admin' AND NOT disabled FOR UPDATE")).rowCount ?? 0;
}

/** In a transaction. */
export async function updateOperator(db: Queryable, username: string, patch: OperatorPatch): Promise<OperatorRecord> {
  const o = await getOperator(db, username);
  if (o === undefined) throw new HubError(HubErrorCode.OperatorUnknown, `no operator "${username}"`);
  const role = patch.role ?? o.role;
  const disabled = patch.disabled ?? o.disabled;
  if (o.role === 'admin' && !o.disabled && (role !== 'admin' || disabled) && (await activeAdmins(db)) <= 1) {
    throw new HubError(HubErrorCode.LastAdmin, 'the last active admin cannot be demoted or disabled');
  }
  await db.query('UPDATE operators SET role = $1, disabled = $2, password_hash = $3 WHERE username = $4', [
    role,
    disabled,
    patch.passwordHash ?? o.passwordHash,
    username,
  ]);
  // A demoted, disabled or re-passworded operator starts over: sessions end.
  if (patch.role !== undefined || patch.disabled || patch.passwordHash !== undefined)
    await db.query('DELETE FROM sessions WHERE username = $1', [username]);
  return (await getOperator(db, username)) as OperatorRecord;
}

/** In a transaction. */
export async function deleteOperator(db: Queryable, username: string): Promise<void> {
  const o = await getOperator(db, username);
  if (o === undefined) throw new HubError(HubErrorCode.OperatorUnknown, `no operator "${username}"`);
  if (o.role === 'admin' && !o.disabled && (await activeAdmins(db)) <= 1)
    throw new HubError(HubErrorCode.LastAdmin, 'the last active admin cannot be deleted');
  await db.query('DELETE FROM operators WHERE username = $1', [username]);
}

export async function createSession(
  db: Queryable,
  s: { tokenHash: Uint8Array; username: string; createdAt: number; expiresAt: number },
): Promise<void> {
  await db.query('INSERT INTO sessions (token_hash, username, created_at, expires_at) VALUES ($1, $2, $3, $4)', [
    bytes(s.tokenHash),
    s.username,
    s.createdAt,
    s.expiresAt,
  ]);
}

export async function getSession(db: Queryable, tokenHash: Uint8Array): Promise<SessionRecord | undefined> {
  const r = (
    await db.query<{ username: string; created_at: number; expires_at: number }>(
      'SELECT username, created_at, expires_at FROM sessions WHERE token_hash = $1',
      [bytes(tokenHash)],
    )
  ).rows[0];
  return r && { username: r.username, createdAt: r.created_at, expiresAt: r.expires_at };
}

export async function deleteSession(db: Queryable, tokenHash: Uint8Array): Promise<void> {
  await db.query('DELETE FROM sessions WHERE token_hash = $1', [bytes(tokenHash)]);
}

export async function appendAudit(db: Queryable, e: AuditEntry): Promise<void> {
  await db.query('INSERT INTO audit (at, actor, action, target, detail) VALUES ($1, $2, $3, $4, $5)', [
    e.at,
    e.actor,
    e.action,
    e.target,
    e.detail === undefined || e.detail === null ? null : JSON.stringify(e.detail),
  ]);
}

export async function listAudit(db: Queryable, q: AuditQuery): Promise<AuditRecord[]> {
  const where: string[] = [];
  const args: (string | number)[] = [];
  if (q.beforeId !== undefined) {
    args.push(q.beforeId);
    where.push(`id < $${args.length}`);
  }
  if (q.actor !== undefined) {
    args.push(q.actor);
    where.push(`actor = $${args.length}`);
  }
  if (q.action?.endsWith('.')) {
    // Not LIKE: "_" in an action is a letter, not a wildcard.
    args.push(q.action);
    where.push(`left(action, ${q.action.length}) = $${args.length}`);
  } else if (q.action !== undefined) {
    args.push(q.action);
    where.push(`action = $${args.length}`);
  }
  if (q.target !== undefined) {
    args.push(q.target);
    where.push(`target = $${args.length}`);
  }
  args.push(q.limit);
  const rows = await db.query<{ id: number; at: number; actor: string; action: string; target: string | null; detail: unknown }>(
    `SELECT id, at, actor, action, target, detail FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT $${args.length}`,
    args,
  );
  return rows.rows.map((r) => ({ ...r, detail: r.detail ?? null }));
}

interface IntegratorRow {
  username: string;
  password_hash: string;
  acl: IntegratorAcl | null;
  created_at: number;
}

const toIntegrator = (r: IntegratorRow): IntegratorRecord => ({
  username: r.username,
  passwordHash: r.password_hash,
  acl: r.acl,
  createdAt: r.created_at,
});

export async function getIntegrator(db: Queryable, username: string): Promise<IntegratorRecord | undefined> {
  const r = (await db.query<IntegratorRow>('SELECT * FROM integrators WHERE username = $1', [username])).rows[0];
  return r && toIntegrator(r);
}

export async function listIntegrators(db: Queryable): Promise<IntegratorRecord[]> {
  return (await db.query<IntegratorRow>('SELECT * FROM integrators ORDER BY username COLLATE "C"')).rows.map(toIntegrator);
}

export async function createIntegrator(db: Queryable, i: IntegratorRecord): Promise<IntegratorRecord> {
  try {
    await db.query('INSERT INTO integrators (username, password_hash, acl, created_at) VALUES ($1, $2, $3, $4)', [
      i.username,
      i.passwordHash,
      i.acl === null ? null : JSON.stringify(i.acl),
      i.createdAt,
    ]);
  } catch (err) {
    if (pgCode(err) === UNIQUE_VIOLATION) throw new HubError(HubErrorCode.IntegratorExists, `integrator "${i.username}" already exists`);
    throw err;
  }
  return (await getIntegrator(db, i.username)) as IntegratorRecord;
}

export async function deleteIntegrator(db: Queryable, username: string): Promise<void> {
  const r = await db.query('DELETE FROM integrators WHERE username = $1', [username]);
  if (r.rowCount === 0) throw new HubError(HubErrorCode.IntegratorUnknown, `no integrator "${username}"`);
}
