import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AddressGuard, embeddedIpv4, urlProblem } from './address-guard.js';
import { retryDelay } from './backoff.js';
import { shownAuditDetail, shownUrl } from './shown-url.js';
import { sign, verify } from './signature.js';

describe('webhook address guard', () => {
  const guard = new AddressGuard([]);
  it('refuses loopback, link-local, metadata, unspecified, multicast and reserved addresses, mapped forms included', () => {
    for (const a of [
      '127.0.0.1',
      '127.9.9.9',
      '169.254.169.254',
      '0.0.0.0',
      '::',
      '::1',
      'fe80::1',
      'ff02::1',
      '224.0.0.1',
      '240.0.0.1',
      '100.100.100.200',
      'fd00:ec2::254',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
      '::ffff:169.254.169.254',
      // IPv4 carried to a translating router: NAT64, 6to4, IPv4-compatible.
      '64:ff9b::7f00:1',
      '64:ff9b::127.0.0.1',
      '64:ff9b::a9fe:a9fe',
      '64:ff9b:1::a9fe:a9fe',
      '2002:7f00:1::1',
      '2002:a9fe:a9fe::',
      '::127.0.0.1',
      '::a9fe:a9fe',
    ])
      assert.ok(guard.refusal(a) !== undefined, a);
  });
  it('reads the IPv4 address an IPv6 one carries', () => {
    assert.equal(embeddedIpv4('64:ff9b::7f00:1'), '127.0.0.1');
    assert.equal(embeddedIpv4('64:ff9b::93.184.216.34'), '93.184.216.34');
    assert.equal(embeddedIpv4('2002:5db8:d822::1'), '93.184.216.34');
    assert.equal(embeddedIpv4('::a9fe:a9fe'), '169.254.169.254');
    for (const a of ['::', '::1', '2001:db8::1', 'fd12::1', '127.0.0.1', 'fe80::1%eth0']) assert.equal(embeddedIpv4(a), undefined, a);
  });
  it('allows public and private addresses', () => {
    for (const a of [
      '93.184.216.34',
      '10.1.2.3',
      '192.168.1.10',
      '172.16.0.1',
      'fd12::1',
      '2001:db8::1',
      '64:ff9b::93.184.216.34',
      '2002:5db8:d822::1',
    ])
      assert.equal(guard.refusal(a), undefined, a);
  });
  it('allows what --webhook-allow lists, and only that', () => {
    const g = new AddressGuard(['127.0.0.1', '169.254.0.0/16']);
    assert.equal(g.refusal('127.0.0.1'), undefined);
    assert.equal(g.refusal('::ffff:127.0.0.1'), undefined);
    assert.equal(g.refusal('169.254.10.1'), undefined);
    assert.ok(g.refusal('127.0.0.2') !== undefined);
    assert.ok(g.refusal('::1') !== undefined);
  });
  it('checks URLs: scheme, credentials, length, literal addresses', () => {
    assert.equal(urlProblem('https://hooks.example/x?y=1', guard), undefined);
    assert.equal(urlProblem('http://localhost:9/x', guard), undefined, 'names are checked when connecting');
    assert.match(urlProblem('gopher://x/', guard) ?? '', /only http/);
    assert.match(urlProblem('javascript:alert(1)', guard) ?? '', /only http/);
    assert.match(urlProblem('https://a:b@x/', guard) ?? '', /no user or password/);
    assert.match(urlProblem(`https://x/${'a'.repeat(3_000)}`, guard) ?? '', /at most/);
    assert.match(urlProblem('http://[::1]:80/', guard) ?? '', /loopback/);
    assert.match(urlProblem('http://2130706433/', guard) ?? '', /loopback/, 'a decimal IPv4 literal is normalised by URL');
  });
});

describe('webhook URLs as the audit log shows them', () => {
  it('keep scheme, host, port and path; hide userinfo, query values and the fragment', () => {
    assert.equal(shownUrl('https://hooks.example:8443/a/b?token=s3cret&x=1#frag'), 'https://hooks.example:8443/a/b?token=***&x=***#***');
    assert.equal(shownUrl('http://user:pw@hooks.example/x'), 'http://***@hooks.example/x');
    assert.equal(shownUrl('https://hooks.example/x'), 'https://hooks.example/x');
    assert.equal(shownUrl('https://hooks.example/x?token'), 'https://hooks.example/x?token=***');
    assert.equal(shownUrl('not a url?token=s3cret'), '***');
  });
  it('in audit details of webhook actions only', () => {
    const url = 'https://h.example/x?k=s3cret';
    assert.deepEqual(shownAuditDetail('webhook.create', { name: 'n', url }), { name: 'n', url: 'https://h.example/x?k=***' });
    assert.deepEqual(shownAuditDetail('device.create', { url }), { url }, 'other actions are left alone');
    assert.equal(shownAuditDetail('webhook.delete', null), null);
  });
});

describe('webhook signatures', () => {
  it('verify what sign makes, and nothing else', () => {
    const body = '{"id":"x"}';
    const h = sign('whsec_k', 1_700_000_000, body);
    assert.match(h, /^t=1700000000,v1=[0-9a-f]{64}$/);
    assert.equal(verify('whsec_k', h, body, 1_700_000_100), true);
    assert.equal(verify('whsec_other', h, body, 1_700_000_100), false);
    assert.equal(verify('whsec_k', h, `${body} `, 1_700_000_100), false);
    assert.equal(verify('whsec_k', h, body, 1_700_000_000 + 301), false, 'too old: a replay');
    assert.equal(verify('whsec_k', h.replace('t=1700000000', 't=1700000001'), body, 1_700_000_100), false);
  });
});

describe('webhook retry delays', () => {
  it('double from about a second, with jitter between half and all, capped', () => {
    assert.equal(retryDelay(1, 0), 500);
    assert.equal(retryDelay(1, 0.999999), 1_000);
    assert.equal(retryDelay(4, 0), 4_000);
    assert.equal(retryDelay(40, 0.999999), 900_000);
    assert.ok(retryDelay(40, 0) >= 450_000);
  });
});
