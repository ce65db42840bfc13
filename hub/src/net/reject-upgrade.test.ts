import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { HubError, HubErrorCode } from '../errors.js';
import { refusalHeaders, rejectUpgrade } from './reject-upgrade.js';

/** The header lines and body written to a stream until it ends. */
function written(stream: PassThrough): Promise<{ head: string[]; body: string }> {
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return new Promise((resolve) =>
    stream.on('end', () => {
      const text = Buffer.concat(chunks).toString();
      const at = text.indexOf('\r\n\r\n');
      resolve({ head: text.slice(0, at).split('\r\n'), body: text.slice(at + 4) });
    }),
  );
}

describe('rejectUpgrade', () => {
  it('answers with the status of the error code, its JSON body and the headers its code implies', async () => {
    const socket = new PassThrough();
    const text = written(socket);
    rejectUpgrade(socket, new HubError(HubErrorCode.RateLimited, 'slow down', { retryAfter: 30 }));
    const { head: lines, body } = await text;
    assert.equal(lines[0], 'HTTP/1.1 429 Too Many Requests');
    assert.ok(lines.includes('Retry-After: 30'));
    assert.ok(lines.includes('Connection: close'));
    assert.ok(lines.includes(`Content-Length: ${Buffer.byteLength(body)}`));
    assert.deepEqual(JSON.parse(body), { error: { code: 'HUB_ERR_RATE_LIMITED', message: 'slow down' } });
  });

  it('adds extra headers, and nothing once the socket is gone', async () => {
    const socket = new PassThrough();
    const text = written(socket);
    rejectUpgrade(socket, new HubError(HubErrorCode.MethodNotAllowed, 'GET only'), { 'Sec-WebSocket-Version': '13' });
    const { head } = await text;
    assert.equal(head[0], 'HTTP/1.1 405 Method Not Allowed');
    assert.ok(head.includes('Sec-WebSocket-Version: 13'));

    const gone = new PassThrough();
    gone.destroy();
    rejectUpgrade(gone, new HubError(HubErrorCode.Internal, 'x'));
    assert.equal(gone.writableLength, 0);
  });

  it('asks for a bearer credential on 401 only', () => {
    assert.deepEqual(refusalHeaders(new HubError(HubErrorCode.Unauthenticated, 'who?')), { 'WWW-Authenticate': 'Bearer' });
    assert.deepEqual(refusalHeaders(new HubError(HubErrorCode.Forbidden, 'no')), {});
  });
});
