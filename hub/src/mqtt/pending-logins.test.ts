// Red team, wave 2: the slots for MQTT connections not logged in yet were counted
// per exact address, so one IPv6 subscriber, walking through the 2^64 addresses of
// its /64, had as many slots as it liked and could fill the listener's 1,000 for
// everybody without a password. An address counts as the login limiter's client:
// IPv4 itself (also written IPv4-mapped), IPv6 its /64.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PendingLogins } from './pending-logins.js';

describe('PendingLogins', () => {
  it('counts an IPv6 /64 as one address, and an IPv4-mapped address as its IPv4 one', () => {
    const p = new PendingLogins(3);
    for (let i = 1; i <= 3; i++) assert.equal(p.take(`2001:db8:1:2::${i}`), true);
    assert.equal(p.take('2001:db8:1:2:ffff:ffff:ffff:ffff'), false, 'another address of the same /64');
    assert.equal(p.take('2001:db8:1:3::1'), true, 'the next /64 is someone else');
    p.give('2001:db8:1:2::2');
    assert.equal(p.take('2001:db8:1:2::99'), true, 'a slot given back is free for the /64');
    assert.equal(p.take('192.0.2.7'), true);
    assert.equal(p.take('::ffff:192.0.2.7'), true);
    assert.equal(p.take('192.0.2.7'), true);
    assert.equal(p.take('::ffff:192.0.2.7'), false);
    assert.equal(p.of('192.0.2.7'), 3);
    assert.equal(p.total, 7);
  });
});
