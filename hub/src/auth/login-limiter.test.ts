import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clientOf, LoginLimiter } from './login-limiter.js';

describe('LoginLimiter', () => {
  it('throttles the guessing address with exponential backoff, not the account', () => {
    const l = new LoginLimiter();
    const t0 = 1_000_000;
    for (let i = 0; i < 4; i++) l.failed('10.0.0.1', 'admin', t0);
    assert.equal(l.blocked('10.0.0.1', 'admin', t0), 0, 'four failures are free');
    l.failed('10.0.0.1', 'admin', t0);
    assert.equal(l.blocked('10.0.0.1', 'admin', t0), 1);
    // Each further failure doubles the wait: 2, 4, 8 s...
    l.failed('10.0.0.1', 'admin', t0 + 1_000);
    assert.equal(l.blocked('10.0.0.1', 'admin', t0 + 1_000), 2);
    l.failed('10.0.0.1', 'admin', t0 + 3_000);
    assert.equal(l.blocked('10.0.0.1', 'admin', t0 + 3_000), 4);
    // Another address is not held up, nor is another username from the guessing address.
    assert.equal(l.blocked('10.0.0.2', 'admin', t0 + 3_000), 0);
    assert.equal(l.blocked('10.0.0.1', 'alice', t0 + 3_000), 0);
    // The wait is capped at 15 minutes.
    for (let i = 0; i < 40; i++) l.failed('10.0.0.1', 'admin', t0 + 3_000);
    assert.equal(l.blocked('10.0.0.1', 'admin', t0 + 3_000), 900);
    // Forgotten 15 minutes after the last failure once the wait is over.
    assert.equal(l.blocked('10.0.0.1', 'admin', t0 + 3_000 + 900_001), 0);
    l.failed('10.0.0.1', 'admin', t0 + 3_000 + 900_001);
    assert.equal(l.blocked('10.0.0.1', 'admin', t0 + 3_000 + 900_001), 0, 'counting starts again');
  });

  it('throttles an address spraying usernames after 20 failures, and a success does not reset it', () => {
    const l = new LoginLimiter();
    for (let i = 0; i < 19; i++) l.failed('10.0.0.1', `user-${i}`, 0);
    assert.equal(l.blocked('10.0.0.1', 'fresh', 0), 0);
    l.failed('10.0.0.1', 'user-19', 0);
    assert.equal(l.blocked('10.0.0.1', 'fresh', 0), 1);
    l.succeeded('10.0.0.1', 'mine');
    assert.equal(l.blocked('10.0.0.1', 'fresh', 0), 1);
    assert.equal(l.blocked('10.0.0.9', 'fresh', 0), 0);
  });

  it('forgets a pair once its right password arrives from that address', () => {
    const l = new LoginLimiter();
    for (let i = 0; i < 4; i++) l.failed('10.0.0.1', 'admin', 0);
    l.succeeded('10.0.0.1', 'admin');
    l.failed('10.0.0.1', 'admin', 0);
    assert.equal(l.blocked('10.0.0.1', 'admin', 0), 0);
  });

  it('keeps its memory bounded under a spray of addresses, forgetting the oldest first', () => {
    const l = new LoginLimiter({ maxKeys: 1_000 });
    for (let i = 0; i < 5; i++) l.failed('192.0.2.1', 'admin', 0);
    assert.equal(l.blocked('192.0.2.1', 'admin', 0), 1);
    for (let i = 0; i < 100_000; i++) l.failed(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, 'admin', 1);
    assert.ok(l.size <= 1_000, `${l.size} keys`);
    assert.equal(l.blocked('192.0.2.1', 'admin', 1), 0, 'the oldest went first');
  });

  it('counts an IPv6 /64 as one client, and IPv4-mapped addresses as IPv4', () => {
    assert.equal(clientOf('2001:db8:1:2::1'), clientOf('2001:0db8:0001:0002:ffff:ffff:ffff:ffff'));
    assert.notEqual(clientOf('2001:db8:1:2::1'), clientOf('2001:db8:1:3::1'));
    assert.equal(clientOf('::ffff:192.0.2.7'), '192.0.2.7');
    const l = new LoginLimiter();
    for (let i = 0; i < 5; i++) l.failed(`2001:db8:1:2::${i + 1}`, 'admin', 0);
    assert.equal(l.blocked('2001:db8:1:2::99', 'admin', 0), 1);
    assert.equal(l.blocked('2001:db8:1:3::1', 'admin', 0), 0);
  });
});
