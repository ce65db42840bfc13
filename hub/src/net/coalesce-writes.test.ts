import assert from 'node:assert/strict';
import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { coalesceWrites } from './coalesce-writes.js';

/** A connected pair of real TCP sockets on 127.0.0.1. */
async function socketPair(server: Server): Promise<{ local: Socket; remote: Socket }> {
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const local = connect((server.address() as AddressInfo).port, '127.0.0.1');
  await once(local, 'connect');
  const [remote] = await accepted;
  return { local, remote };
}

/** Everything `remote` receives until it has `bytes`. */
async function receive(remote: Socket, bytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let got = 0;
  for await (const chunk of remote) {
    chunks.push(chunk as Buffer);
    got += (chunk as Buffer).length;
    if (got >= bytes) break;
  }
  return Buffer.concat(chunks);
}

describe('coalesceWrites', () => {
  let server: Server;
  before(async () => {
    server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
  });
  after(() => server.close());

  it('passes a turn of writes (strings and bytes) on in their order, in one write to the stream', async () => {
    const { local, remote } = await socketPair(server);
    const seen: number[] = [];
    const write = local.write.bind(local);
    local.write = ((chunk: Buffer, ...rest: never[]) => {
      seen.push(chunk.length);
      return write(chunk, ...rest);
    }) as Socket['write'];
    coalesceWrites(local);
    const parts: (string | Buffer)[] = [];
    for (let i = 0; i < 200; i++) parts.push(i % 2 === 0 ? `topic/${i}/é` : Buffer.from([i, i, i]));
    for (const p of parts) assert.equal(local.write(p), true);
    assert.equal(local.writableLength, 0, 'held until the end of the turn, outside writableLength');
    const expected = Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));
    assert.deepEqual(await receive(remote, expected.length), expected);
    assert.deepEqual(seen, [expected.length]);
    local.destroy();
  });

  it('writes what is held before a write that has a callback, and before end()', async () => {
    const { local, remote } = await socketPair(server);
    coalesceWrites(local);
    local.write('a');
    const written = new Promise<void>((resolve) => local.write('b', () => resolve()));
    local.write('c');
    local.end('d');
    await written;
    assert.equal((await receive(remote, 4)).toString(), 'abcd');
  });

  it('writes at once past the held limit, and reports the stream full until it drains', async () => {
    const { local, remote } = await socketPair(server);
    coalesceWrites(local, 1024);
    remote.pause();
    const chunk = Buffer.alloc(512, 1);
    let full = false;
    let sent = 0;
    // The receiver reads nothing: the kernel's buffers fill, then the socket's own.
    while (!full) {
      full = !local.write(chunk);
      sent += chunk.length;
      if (sent > 64 * 1024 * 1024) assert.fail('never full');
    }
    assert.ok(local.writableLength > 0);
    assert.equal(local.write(chunk), false, 'still full');
    sent += chunk.length;
    const drained = once(local, 'drain');
    const received = receive(remote, sent);
    await drained;
    assert.equal((await received).length, sent);
    local.destroy();
  });
});
