import { it } from 'node:test';
import { connect } from 'node:net';
import { startTestHub } from './helpers/hub.js';

it('explore anon upload', { timeout: 120_000 }, async () => {
  const t = await startTestHub();
  const port = Number(new URL(t.http).port);
  for (const auth of ['', `Authorization: Bearer ${t.api.token}\r\n`]) {
    const s = connect(port, '127.0.0.1');
    await new Promise((r) => s.once('connect', r));
    let resp = '';
    let closed = false;
    s.on('data', (d) => { resp += d; });
    s.on('close', () => { closed = true; });
    s.on('error', () => {});
    s.write(`POST /api/v1/firmware?model=m&version=${auth ? 'x' : 'y'} HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n`);
    const chunk = Buffer.alloc(65536, 1);
    const piece = Buffer.concat([Buffer.from('10000\r\n'), chunk, Buffer.from('\r\n')]);
    let sent = 0;
    const start = Date.now();
    while (!closed && Date.now() - start < 5000) {
      if (!s.write(piece)) await new Promise((r) => { s.once('drain', r); setTimeout(r, 200); });
      sent += 65536;
      if (auth && sent > 200 * 1024 * 1024) break;
    }
    console.log(auth ? 'auth' : 'anon', 'sent MiB', sent / 1048576, 'closed', closed, 'resp', resp.split('\r\n')[0], Date.now() - start, 'ms');
    s.destroy();
  }
  await t.close();
});
