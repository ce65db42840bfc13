import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCidr, TrustedProxies } from './client-address.js';

describe('trusted proxies and X-Forwarded-For', () => {
  const proxies = new TrustedProxies(['10.0.0.0/8', '127.0.0.1', 'fd00::/8']);

  it('reads CIDR ranges and single addresses, and refuses anything else', () => {
    assert.deepEqual(parseCidr('10.0.0.0/8'), { address: '10.0.0.0', prefix: 8, family: 'ipv4' });
    assert.deepEqual(parseCidr('::1'), { address: '::1', prefix: 128, family: 'ipv6' });
    for (const bad of ['', '10.0.0.0/33', '10.0.0.0/8/1', 'example.com', '10.0.0.0/-1', '10.0.0.0/ 8', 'fd00::/129', '1.2.3.4/08x'])
      assert.equal(parseCidr(bad), undefined, bad);
    assert.throws(() => new TrustedProxies(['nope']), /not an address or CIDR/);
  });

  it('trusts peers in range, IPv4-mapped IPv6 included', () => {
    assert.equal(proxies.trusts('10.1.2.3'), true);
    assert.equal(proxies.trusts('::ffff:10.1.2.3'), true);
    assert.equal(proxies.trusts('fd12::1'), true);
    assert.equal(proxies.trusts('127.0.0.2'), false);
    assert.equal(proxies.trusts(undefined), false);
    assert.equal(new TrustedProxies([]).trusts('127.0.0.1'), false);
  });

  it('takes the nearest untrusted hop from a trusted peer, and ignores the header from anyone else', () => {
    assert.equal(proxies.clientAddress('10.0.0.5', '203.0.113.7'), '203.0.113.7');
    // A client's own forged entry sits left of what the proxy appended: it is not believed.
    assert.equal(proxies.clientAddress('10.0.0.5', '1.1.1.1, 203.0.113.7'), '203.0.113.7');
    // Chained proxies: skip the trusted ones.
    assert.equal(proxies.clientAddress('10.0.0.5', '203.0.113.7, 10.0.0.9'), '203.0.113.7');
    assert.equal(proxies.clientAddress('10.0.0.5', ['203.0.113.7', '10.0.0.9']), '203.0.113.7');
    assert.equal(proxies.clientAddress('::ffff:10.0.0.5', '[2001:db8::1]:443'), '2001:db8::1');
    assert.equal(proxies.clientAddress('10.0.0.5', '203.0.113.7:5555'), '203.0.113.7');
    assert.equal(proxies.clientAddress('192.0.2.1', '203.0.113.7'), '192.0.2.1');
    assert.equal(proxies.clientAddress('::ffff:192.0.2.1', undefined), '192.0.2.1');
    assert.equal(proxies.clientAddress(undefined, '203.0.113.7'), 'unknown');
  });

  it('never throws on hostile values, and believes nothing it cannot read', () => {
    const hostile = [
      '',
      ',,,',
      'garbage',
      '<script>alert(1)</script>',
      '203.0.113.7, not-an-ip',
      '\u0000\u0001',
      '1.2.3.4'.repeat(10_000),
      `${'9.9.9.9, '.repeat(5_000)}203.0.113.7`,
      '[::1',
      '[zz::1]:80',
      '999.1.1.1',
      '1.2.3.4:99999999',
      '%00',
    ];
    for (const h of hostile) {
      const got = proxies.clientAddress('10.0.0.5', h);
      assert.equal(typeof got, 'string');
      assert.ok(got === '10.0.0.5' || got === '203.0.113.7' || got === '9.9.9.9', `${JSON.stringify(h.slice(0, 40))} gave ${got}`);
    }
    // An unreadable hop right of a good one stops the walk at the proxy itself.
    assert.equal(proxies.clientAddress('10.0.0.5', '203.0.113.7, not-an-ip'), '10.0.0.5');
  });
});
