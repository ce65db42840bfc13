import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Encodable, encodeCbor } from './cbor/encode.js';
import { decodeConsoleRequest, MAX_CONSOLE_DEVICES } from './console.js';

const dec = (v: Encodable) => decodeConsoleRequest(encodeCbor(v));

describe('console channel requests', () => {
  it('accepts each request kind', () => {
    for (const m of [
      { t: 'sub', stream: 'fleet' },
      { t: 'sub', stream: 'telemetry', devices: ['d1', 'd2'] },
      { t: 'unsub', stream: 'stats' },
      { t: 'command', req: 1, device: 'd1', name: 'toggle', params: { on: true }, ttl: '30s', timeout: 5000 },
      { t: 'cancel', req: 2, command: 'c-1' },
      { t: 'twin.patch', req: 3, device: 'd1', patch: { mode: 'heat', old: null }, ifMatch: 4 },
    ]) {
      const r = dec(m);
      assert.ok(r.ok, JSON.stringify(m));
      assert.deepStrictEqual(r.request, m);
    }
  });
  it('rejects malformed requests with the field named', () => {
    const cases: [Encodable, string][] = [
      [{ t: 'sub', stream: 'everything' }, 'stream'],
      [{ t: 'sub', stream: 'telemetry', devices: Array.from({ length: MAX_CONSOLE_DEVICES + 1 }, (_, i) => `d${i}`) }, 'devices'],
      [{ t: 'sub', stream: 'telemetry', devices: ['../etc'] }, 'devices'],
      [{ t: 'command', req: -1, device: 'd', name: 'x' }, 'req'],
      [{ t: 'command', req: 1, device: 'd', name: 'x/y' }, 'name'],
      [{ t: 'command', req: 1, device: 'd', name: 'x', params: new Uint8Array([1]) }, 'params'],
      [{ t: 'twin.patch', req: 1, device: 'd', patch: [1] }, 'patch'],
      [{ t: 'twin.patch', req: 1, device: 'd', patch: {}, ifMatch: 'v1' }, 'ifMatch'],
    ];
    for (const [m, field] of cases) {
      const r = dec(m);
      assert.ok(!r.ok, JSON.stringify(m));
      assert.equal(r.error.field, field);
    }
  });
  it('rejects unknown kinds and non-map frames', () => {
    const a = dec({ t: 'drop_tables' });
    assert.ok(!a.ok && a.error.code === 'PROTO_ERR_UNKNOWN_TYPE');
    const b = dec([1, 2]);
    assert.ok(!b.ok && b.error.code === 'PROTO_ERR_ENVELOPE');
  });
});
