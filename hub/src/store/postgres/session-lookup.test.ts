// The in-memory session lookup follows the store's writes as PostgreSQL's tables do
// (postgres/operators.ts): what the hub's tests on PostgreSQL rely on, checked here
// without a server.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { OperatorRecord } from '../store.js';
import { PgSessionLookup } from './session-lookup.js';

const op = (username: string, patch: Partial<OperatorRecord> = {}): OperatorRecord => ({
  username,
  passwordHash: 'h',
  role: 'operator',
  disabled: false,
  createdAt: 1,
  ...patch,
});
const token = (n: number) => new Uint8Array(32).fill(n);

describe('PgSessionLookup', () => {
  it('follows sessions and operators through the named operations', () => {
    const l = new PgSessionLookup();
    l.apply('createOperator', { username: 'ann', passwordHash: 'h', role: 'operator', createdAt: 1 }, op('ann'));
    l.apply('createSession', { tokenHash: token(1), username: 'ann', createdAt: 1, expiresAt: 100 }, undefined);
    l.apply('createSession', { tokenHash: token(2), username: 'ann', createdAt: 1, expiresAt: 100 }, undefined);
    assert.equal(l.getSession(token(1))?.username, 'ann');
    assert.equal(l.getOperator('ann')?.role, 'operator');

    l.apply('deleteSession', { tokenHash: token(1) }, undefined);
    assert.equal(l.getSession(token(1)), undefined);
    assert.equal(l.getSession(token(2))?.username, 'ann');

    // A change that keeps rights keeps sessions; disabling ends them (as the table's DELETE does).
    l.apply('updateOperator', { username: 'ann', patch: { disabled: false } }, op('ann'));
    assert.equal(l.getSession(token(2))?.username, 'ann');
    l.apply('updateOperator', { username: 'ann', patch: { disabled: true } }, op('ann', { disabled: true }));
    assert.equal(l.getSession(token(2)), undefined);
    assert.equal(l.getOperator('ann')?.disabled, true);

    l.apply('createSession', { tokenHash: token(3), username: 'ann', createdAt: 1, expiresAt: 100 }, undefined);
    l.apply('deleteOperator', { username: 'ann' }, undefined);
    assert.equal(l.getOperator('ann'), undefined);
    assert.equal(l.getSession(token(3)), undefined);
  });

  it('forgets expired sessions when upkeep deletes them', () => {
    const l = new PgSessionLookup();
    l.apply('createSession', { tokenHash: token(1), username: 'ann', createdAt: 1, expiresAt: 50 }, undefined);
    l.apply('createSession', { tokenHash: token(2), username: 'ann', createdAt: 1, expiresAt: 150 }, undefined);
    l.pruneExpired(100);
    assert.equal(l.getSession(token(1)), undefined);
    assert.equal(l.getSession(token(2))?.expiresAt, 150);
  });
});
