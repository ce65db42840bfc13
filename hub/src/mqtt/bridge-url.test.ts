// --bridge URLs: the documented form, defaults, and refusals that name the problem without the password.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseBridgeUrl } from './bridge-url.js';

describe('bridge URLs', () => {
  it('reads the documented form', () => {
    const c = parseBridgeUrl('mqtts://hub%40site:p%3Ass@broker.example:8884?prefix=site1/&qos=0&version=3.1.1', 'halyard');
    assert.deepStrictEqual(
      { ...c, clientId: c.clientId.replace(/[0-9a-f]{12}$/, 'HASH') },
      {
        url: 'mqtts://hub%40site:***@broker.example:8884?prefix=site1/&qos=0&version=3.1.1',
        label: 'broker.example:8884',
        protocol: 'mqtts',
        host: 'broker.example',
        port: 8884,
        username: 'hub@site',
        password: 'p:ss',
        prefix: 'site1/',
        qos: 0,
        version: 4,
        clientId: 'halyard-HASH',
      },
    );
  });

  it('has defaults: port by scheme, no prefix, QoS 1, MQTT 5 with fallback', () => {
    const c = parseBridgeUrl('mqtt://broker', 'h');
    assert.deepStrictEqual([c.port, c.prefix, c.qos, c.version, c.username], [1883, '', 1, 'auto', undefined]);
    assert.equal(parseBridgeUrl('mqtts://broker', 'h').port, 8883);
    assert.equal(parseBridgeUrl('mqtt://broker?prefix=site2', 'h').prefix, 'site2/', 'a missing final / is added');
    assert.equal(parseBridgeUrl('mqtt://broker', 'h').clientId, parseBridgeUrl('mqtt://broker', 'h').clientId, 'stable client id');
  });

  it('refuses what it cannot use, without showing the password', () => {
    for (const [url, why] of [
      ['http://u:pw@broker', /mqtt:\/\/ or mqtts:\/\//],
      ['mqtt://u:pw@broker?qos=3', /qos/],
      ['mqtt://u:pw@broker?prefix=a/%23', /prefix/],
      ['mqtt://u:pw@broker?version=6', /version/],
      ['mqtt://u:pw@broker?colour=red', /unknown parameter "colour"/],
    ] as const) {
      assert.throws(
        () => parseBridgeUrl(url, 'h'),
        (err: Error) => why.test(err.message) && !err.message.includes(':pw@') && (err as { code?: string }).code === 'HUB_ERR_VALIDATION',
        url,
      );
    }
  });
});
