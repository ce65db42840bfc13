// Operators, their login sessions, and the audit log.

import type { OperatorInfo, Role } from '@halyard/firmware-protocol';
import { HubError, HubErrorCode } from '../errors.js';
import type { Db } from './db.js';
import { sql } from './prepared.js';

export interface OperatorRecord extends OperatorInfo {
  passwordHash: string;
}

interface Row {
  username: string;
  password_hash: string;
  role: Role;
  disabled: number;
  created_at: number;
}

const toRecord = (r: Row): OperatorRecord => ({
  username: r.username,
  passwordHash: r.password_hash,
  role: r.role,
  disabled: r.disabled === 1,
  createdAt: r.created_at,
});

export function getOperator(db: Db, username: string): OperatorRecord | undefined {
  const r = sql(db, 'SELECT * FROM operators WHERE username = ?').get(username) as Row | undefined;
  return r && toRecord(r);
}

export function listOperators(db: Db): OperatorRecord[] {
  return (sql(db, 'SELECT * FROM operators ORDER BY username').all() as Row[]).map(toRecord);
}

export function countOperators(db: Db): number {
  return sql(db, 'SELECT count(*) FROM operators').pluck().get() as number;
}

export function createOperator(db: Db, o: { username: string; passwordHash: string; role: Role; createdAt: number }): OperatorRecord {
  try {
    sql(db, 'INSERT INTO operators (username, password_hash, role, created_at) VALUES (?, ?, ?, ?)').run(
      o.username,
      o.passwordHash,
      o.role,
      o.createdAt,
    );
  } catch (err) {
    if (String((err as { code?: string }).code).startsWith('SQLITE_CONSTRAINT')) {
      throw new HubError(HubErrorCode.OperatorExists, `operator "${o.username}" already exists`);
    }
    throw err;
  }
  return getOperator(db, o.username) as OperatorRecord;
}

function activeAdmins(db: Db): number {
  return sql(db, "SELECT count(*) FROM operators WHERE role = 'admin' AND disabled = 0").pluck().get() as number;
}

export interface OperatorPatch {
  role?: Role;
  disabled?: boolean;
  passwordHash?: string;
}

export function updateOperator(db: Db, username: string, patch: OperatorPatch): OperatorRecord {
  const o = getOperator(db, username);
  if (o === undefined) throw new HubError(HubErrorCode.OperatorUnknown, `no operator "${username}"`);
  const role = patch.role ?? o.role;
  const disabled = patch.disabled ?? o.disabled;
  if (o.role === 'admin' && !o.disabled && (role !== 'admin' || disabled) && activeAdmins(db) <= 1) {
    throw new HubError(HubErrorCode.LastAdmin, 'the last active admin cannot be demoted or disabled');
  }
  sql(db, 'UPDATE operators SET role = ?, disabled = ?, password_hash = ? WHERE username = ?').run(
    role,
    disabled ? 1 : 0,
    patch.passwordHash ?? o.passwordHash,
    username,
  );
  // A demoted, disabled or re-passworded operator starts over: sessions end.
  if (patch.role !== undefined || patch.disabled || patch.passwordHash !== undefined) deleteSessionsOf(db, username);
  return getOperator(db, username) as OperatorRecord;
}

export function deleteOperator(db: Db, username: string): void {
  const o = getOperator(db, username);
  if (o === undefined) throw new HubError(HubErrorCode.OperatorUnknown, `no operator "${username}"`);
  if (o.role === 'admin' && !o.disabled && activeAdmins(db) <= 1)
    throw new HubError(HubErrorCode.LastAdmin, 'the last active admin cannot be deleted');
  sql(db, 'DELETE FROM operators WHERE username = ?').run(username);
}

export interface SessionRecord {
  username: string;
  createdAt: number;
  expiresAt: number;
}

export function createSession(db: Db, s: { tokenHash: Uint8Array; username: string; createdAt: number; expiresAt: number }): void {
  sql(db, 'INSERT INTO sessions (token_hash, username, created_at, expires_at) VALUES (?, ?, ?, ?)').run(
    s.tokenHash,
    s.username,
    s.createdAt,
    s.expiresAt,
  );
}

export function getSession(db: Db, tokenHash: Uint8Array): SessionRecord | undefined {
  const r = sql(db, 'SELECT username, created_at, expires_at FROM sessions WHERE token_hash = ?').get(tokenHash) as
    | { username: string; created_at: number; expires_at: number }
    | undefined;
  return r && { username: r.username, createdAt: r.created_at, expiresAt: r.expires_at };
}

export function deleteSession(db: Db, tokenHash: Uint8Array): void {
  sql(db, 'DELETE FROM sessions WHERE token_hash = ?').run(tokenHash);
}

export function deleteSessionsOf(db: Db, username: string): void {
  sql(db, 'DELETE FROM sessions WHERE username = ?').run(username);
}

export function pruneSessions(db: Db, now: number): number {
  return sql(db, 'DELETE FROM sessions WHERE expires_at < ?').run(now).changes;
}

export interface AuditEntry {
  at: number;
  actor: string;
  action: string;
  target: string | null;
  detail: unknown;
}

export interface AuditRecord extends AuditEntry {
  id: number;
}

/** A page of the audit log, newest first, narrowed by any of who, what and on what. */
export interface AuditQuery {
  beforeId?: number;
  actor?: string;
  /** An action (`job.create`), or the start of some ending in a dot (`job.`). */
  action?: string;
  target?: string;
  limit: number;
}

export function appendAudit(db: Db, e: AuditEntry): void {
  sql(db, 'INSERT INTO audit (at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)').run(
    e.at,
    e.actor,
    e.action,
    e.target,
    e.detail === undefined || e.detail === null ? null : JSON.stringify(e.detail),
  );
}

export function listAudit(db: Db, q: AuditQuery): AuditRecord[] {
  const where: string[] = [];
  const args: (string | number)[] = [];
  if (q.beforeId !== undefined) {
    where.push('id < ?');
    args.push(q.beforeId);
  }
  if (q.actor !== undefined) {
    where.push('actor = ?');
    args.push(q.actor);
  }
  if (q.action?.endsWith('.')) {
    // Not LIKE: "_" in an action is a letter, not a wildcard.
    where.push('substr(action, 1, ?) = ?');
    args.push(q.action.length, q.action);
  } else if (q.action !== undefined) {
    where.push('action = ?');
    args.push(q.action);
  }
  if (q.target !== undefined) {
    where.push('target = ?');
    args.push(q.target);
  }
  const text = `SELECT id, at, actor, action, target, detail FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
  return (
    sql(db, text).all(...args, q.limit) as {
      id: number;
      at: number;
      actor: string;
      action: string;
      target: string | null;
      detail: string | null;
    }[]
  ).map((r) => ({ ...r, detail: r.detail === null ? null : (JSON.parse(r.detail) as unknown) }));
}
