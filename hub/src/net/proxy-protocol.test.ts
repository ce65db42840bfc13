import assert from 'node:assert/strict';
import { connect, createServer, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { parseProxyHeader, readProxyHeader } from './proxy-protocol.js';

const SIG = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

function v2(cmd: number, fam: number, body: Buffer): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(body.length);
  return Buffer.concat([SIG, Buffer.from([0x20 | cmd, fam]), len, body]);
}

const v4body = Buffer.from([203, 0, 113, 9, 127, 0, 0, 1, 0x15, 0xb3, 0x07, 0x5b]);
const v6body = Buffer.concat([Buffer.from('20010db8000000000000000000000001', 'hex'), Buffer.alloc(16), Buffer.alloc(4)]);

describe('PROXY protocol header', () => {
  it('reads v1 and v2 headers, and says when it needs more bytes', () => {
    assert.deepEqual(parseProxyHeader(Buffer.from('PROXY TCP4 203.0.113.9 127.0.0.1 5555 1883\r\nrest')), {
      ok: true,
      address: '203.0.113.9',
      length: 44,
    });
    assert.deepEqual(parseProxyHeader(Buffer.from('PROXY TCP6 2001:db8::1 ::1 5555 1883\r\n'))?.ok, true);
    assert.deepEqual(parseProxyHeader(Buffer.from('PROXY UNKNOWN\r\n')), { ok: true, address: undefined, length: 15 });
    assert.equal(parseProxyHeader(Buffer.from('PROXY TCP4 203.0')), undefined);
    assert.equal(parseProxyHeader(Buffer.from('PRO')), undefined);
    assert.deepEqual(parseProxyHeader(v2(1, 0x11, v4body)), { ok: true, address: '203.0.113.9', length: 28 });
    assert.deepEqual(parseProxyHeader(v2(1, 0x21, v6body)), { ok: true, address: '2001:db8::1', length: 52 });
    // LOCAL (health checks): no client address, the peer's stands.
    assert.deepEqual(parseProxyHeader(v2(0, 0x00, Buffer.alloc(0))), { ok: true, address: undefined, length: 16 });
    assert.equal(parseProxyHeader(v2(1, 0x11, v4body).subarray(0, 20)), undefined);
    // Not a header at all: MQTT CONNECT straight away.
    assert.deepEqual(parseProxyHeader(Buffer.from([0x10, 0x0c])), { ok: true, address: undefined, length: 0 });
  });

  it('refuses hostile headers with a reason, never a throw', () => {
    const bad = [
      Buffer.from(`PROXY TCP4 ${'1'.repeat(120)}`),
      Buffer.from('PROXY TCP4 not.an.ip 127.0.0.1 1 2\r\n'),
      Buffer.from('PROXY TCP4 2001:db8::1 ::1 1 2\r\n'),
      Buffer.from('PROXY TCP9 1.2.3.4 1.2.3.4 1 2\r\n'),
      Buffer.from('PROXY \r\n'),
      Buffer.from(`PROXY TCP4 1.2.3.4 1.2.3.4 1 2 ${'x'.repeat(100)}\r\n`),
      v2(1, 0x11, Buffer.alloc(3)),
      v2(1, 0x21, Buffer.alloc(20)),
      v2(5, 0x11, v4body),
      Buffer.concat([SIG, Buffer.from([0x10, 0x11, 0, 12]), v4body]),
      Buffer.concat([SIG, Buffer.from([0x21, 0x11, 0xff, 0xff])]),
    ];
    for (const b of bad) {
      const p = parseProxyHeader(b);
      assert.equal(p?.ok, false, b.toString('latin1').slice(0, 40));
      assert.ok(p !== undefined && !p.ok && p.reason.length > 0);
    }
  });

  it('reads the header off a real socket and leaves what follows for the next reader', async () => {
    const got = new Promise<{ address: string | undefined; rest: string }>((resolve) => {
      const server = createServer(async (s: Socket) => {
        const h = await readProxyHeader(s, 2_000);
        assert.equal(h.ok, true);
        const chunks: Buffer[] = [];
        s.on('data', (c: Buffer) => chunks.push(c));
        s.on('end', () => {
          server.close();
          resolve({ address: h.ok ? h.address : undefined, rest: Buffer.concat(chunks).toString() });
        });
      }).listen(0, '127.0.0.1', () => {
        const port = (server.address() as { port: number }).port;
        const c = connect(port, '127.0.0.1', () => {
          // Split across writes: the header arrives in pieces.
          c.write('PROXY TCP4 203.0.113.9 ');
          setImmediate(() => c.end('127.0.0.1 5555 1883\r\nhello mqtt'));
        });
      });
    });
    assert.deepEqual(await got, { address: '203.0.113.9', rest: 'hello mqtt' });
  });
});
