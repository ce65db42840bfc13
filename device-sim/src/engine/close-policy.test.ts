import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dispositionForClose, dispositionForStatus, parseRetryAfter } from './close-policy.js';

test('no retry after 401, 403 at the upgrade or close 4403 (SPEC.md §8.3)', () => {
  assert.deepEqual(dispositionForStatus(401), { action: 'stop', reason: 'unauthorized' });
  assert.deepEqual(dispositionForStatus(403), { action: 'stop', reason: 'revoked' });
  assert.deepEqual(dispositionForClose(4403), { action: 'stop', reason: 'revoked' });
  assert.deepEqual(dispositionForClose(4409), { action: 'stop', reason: 'replaced' });
  assert.deepEqual(dispositionForStatus(400), { action: 'stop', reason: 'bad-request' });
});

test('429 and 503 wait at least Retry-After; 4429 at least 10 s', () => {
  assert.deepEqual(dispositionForStatus(429, 7), { action: 'retry', minDelayMs: 7_000, dropRefused: false });
  assert.deepEqual(dispositionForStatus(503), { action: 'retry', minDelayMs: 0, dropRefused: false });
  assert.deepEqual(dispositionForClose(4429), { action: 'retry', minDelayMs: 10_000, dropRefused: false });
});

test('4400 and 4413 retry after dropping the refused message; others (1009: no ERROR, no seq) just retry', () => {
  for (const code of [4400, 4413]) assert.deepEqual(dispositionForClose(code), { action: 'retry', minDelayMs: 0, dropRefused: true });
  for (const code of [1000, 1001, 1006, 1009, 1011, 4408, 4999])
    assert.deepEqual(dispositionForClose(code), { action: 'retry', minDelayMs: 0, dropRefused: false });
});

test('parseRetryAfter reads seconds only', () => {
  assert.equal(parseRetryAfter('12'), 12);
  assert.equal(parseRetryAfter(['3']), 3);
  assert.equal(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT'), undefined);
  assert.equal(parseRetryAfter(undefined), undefined);
});
