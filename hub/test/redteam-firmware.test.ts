// Red team, wave 2: firmware uploads (and JSON bodies) that end early. A client that went away mid-
// body (or a slow one cut off at the request timeout) was logged as the hub's own
// failure: "request failed" at error level with a stack, one per upload, as if the
// hub had a bug. It is the client's doing: one info line, and 400 if anyone still
// listens; nothing of the image stays.

import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { eventually } from './helpers/eventually.js';
import { startTestHub, type TestHub } from './helpers/hub.js';
import { sqliteOnly } from './helpers/test-store.js';

describe('red team: firmware uploads cut off', () => {
  let t: TestHub;
  before(async () => {
    t = await startTestHub();
  });
  after(() => t.close());

  /** Sends `sent` bytes of a body that declares `declared`, then drops the connection. */
  const cutOff = (version: string, declared: number, sent: number) =>
    new Promise<void>((resolve) => {
      const req = request(`${t.http}/api/v1/firmware?model=cut-model&version=${version}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${t.api.token}`, 'content-type': 'application/octet-stream', 'content-length': String(declared) },
      });
      req.on('error', () => resolve());
      req.on('response', () => resolve());
      req.write(Buffer.alloc(sent, 7), () => setTimeout(() => req.destroy(), 50));
    });

  it('an upload whose client went away is one info line, not a hub error, and leaves nothing behind', async () => {
    const lines = () => t.logs.filter((l) => l.msg === 'firmware upload cut off before its end: nothing kept');
    for (const [i, v] of ['1.0.0', '1.0.1', '1.0.2'].entries()) {
      await cutOff(v, 300_000, 100_000);
      // The client is gone at once; the hub ends the upload in its own time. The next one
      // waits for it: fired together, a third would be refused for the uploads at once
      // (429, unseen by a client that left) before the first two were ended.
      await eventually(() => lines().length === i + 1, `the line for upload ${i + 1} cut off`);
    }
    await eventually(
      async () => ((await t.api.get('/firmware?model=cut-model')).body.firmware as unknown[]).length === 0,
      'the partial uploads removed',
    );
    assert.ok(lines().every((l) => l.level === 30 && l.model === 'cut-model' && typeof l.received === 'number'));
    assert.deepEqual(
      t.logs.filter((l) => (l.level as number) >= 50).map((l) => l.msg),
      [],
    );
  });
});

describe('red team: the firmware library is bounded', () => {
  // No cap on the library's total nor on uploads at once: an operator could fill the
  // disk with images (or with many uploads running side by side).
  let t: TestHub;
  before(async () => {
    t = await startTestHub(['--firmware-max-size', '100KiB', '--firmware-max-total', '250KiB']);
  });
  after(() => t.close());

  const upload = (version: string, bytes: number, chunked = false) =>
    new Promise<{ status: number; body: { id?: string; error?: { code: string; message: string } } }>((resolve, reject) => {
      const req = request(`${t.http}/api/v1/firmware?model=full-model&version=${version}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${t.api.token}`,
          'content-type': 'application/octet-stream',
          ...(chunked ? {} : { 'content-length': String(bytes) }),
        },
      });
      req.on('error', reject);
      req.on('response', (res) => {
        let text = '';
        res.on('data', (d: Buffer) => {
          text += d.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
      });
      // Some of it may be refused before it is all sent.
      req.on('error', () => undefined);
      req.end(Buffer.alloc(bytes, version.length));
    });
  const images = async () =>
    ((await t.api.get('/firmware?model=full-model')).body.firmware as { version: string; size: number }[]).map((f) => [f.version, f.size]);

  it('refuses with 507 an image the library cannot hold: at once by its Content-Length, or as its bytes pass the total; nothing of it stays', async () => {
    const a = await upload('1.0.0', 100_000);
    assert.equal(a.status, 201, JSON.stringify(a.body));
    assert.equal((await upload('1.0.1', 100_000)).status, 201);
    const declared = await upload('1.0.2', 100_000);
    assert.equal(declared.status, 507, JSON.stringify(declared.body));
    assert.equal(declared.body.error?.code, 'HUB_ERR_FIRMWARE_LIBRARY_FULL');
    assert.match(declared.body.error?.message ?? '', /holds 200000 bytes and may hold 256000 \(--firmware-max-total\)/);
    const streamed = await upload('1.0.3', 100_000, true);
    assert.equal(streamed.status, 507, JSON.stringify(streamed.body));
    assert.equal(streamed.body.error?.code, 'HUB_ERR_FIRMWARE_LIBRARY_FULL');
    assert.deepEqual(await images(), [
      ['1.0.1', 100_000],
      ['1.0.0', 100_000],
    ]);
    assert.equal(
      t.logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('firmware upload refused: the firmware library holds')).length,
      2,
    );
    // Room made, the image fits.
    assert.equal((await t.api.delete(`/firmware/${a.body.id}`)).status, 204);
    assert.equal((await upload('1.0.3', 100_000, true)).status, 201);
  });

  it('runs at most 2 uploads at once: a third gets 429 with Retry-After, the two finish', async () => {
    const slow = ['2.0.0', '2.0.1'].map(
      (version) =>
        new Promise<{ req: ReturnType<typeof request>; status: Promise<number> }>((resolve) => {
          const req = request(`${t.http}/api/v1/firmware?model=slow-model&version=${version}`, {
            method: 'POST',
            headers: { authorization: `Bearer ${t.api.token}`, 'content-type': 'application/octet-stream', 'content-length': '20000' },
          });
          const status = new Promise<number>((done) =>
            req.on('response', (res) => {
              res.resume();
              done(res.statusCode ?? 0);
            }),
          );
          req.write(Buffer.alloc(10_000, 1), () => resolve({ req, status }));
        }),
    );
    const running = await Promise.all(slow);
    await eventually(
      async () => ((await t.api.get('/firmware?model=slow-model')).body.firmware as unknown[]).length === 2,
      'both uploads begun',
    );
    const third = await t.api.call('POST', '/firmware?model=slow-model&version=2.0.2', Buffer.alloc(1_000, 2).toString('latin1'), {
      'content-type': 'application/octet-stream',
    });
    assert.equal(third.status, 429, JSON.stringify(third.body));
    assert.equal(third.headers.get('retry-after'), '10');
    assert.ok(t.logs.some((l) => l.msg === 'firmware upload refused: too many at once' && l.version === '2.0.2'));
    for (const r of running) r.req.end(Buffer.alloc(10_000, 1));
    assert.deepEqual(await Promise.all(running.map((r) => r.status)), [201, 201]);
  });
});

describe('the firmware library leaves the disk its reserve', { skip: sqliteOnly('the disk checked is the one under --data-dir') }, () => {
  // A reserve no disk here has: every upload would leave less free, and is refused.
  let t: TestHub;
  before(async () => {
    t = await startTestHub(['--firmware-disk-reserve', '1000000GiB']);
  });
  after(() => t.close());

  it('refuses with 507 an upload that would leave less than --firmware-disk-reserve free, before storing any of it', async () => {
    const r = await t.api.call('POST', '/firmware?model=disk-model&version=1.0.0', Buffer.alloc(1_000, 3).toString('latin1'), {
      'content-type': 'application/octet-stream',
    });
    assert.equal(r.status, 507, JSON.stringify(r.body));
    const error = (r.body as { error?: { code: string; message: string } }).error;
    assert.equal(error?.code, 'HUB_ERR_FIRMWARE_LIBRARY_FULL');
    assert.match(
      error?.message ?? '',
      /^the disk under the data directory has \d+ bytes free; an image of 1000 bytes would leave less than 1073741824000000 \(--firmware-disk-reserve\)$/,
    );
    const logged = t.logs.filter(
      (l) => typeof l.msg === 'string' && l.msg.startsWith('firmware upload refused: the disk under the data directory'),
    );
    assert.equal(logged.length, 1);
    assert.equal(logged[0]?.reserve, 1_000_000 * 2 ** 30);
    assert.deepEqual((await t.api.get('/firmware?model=disk-model')).body.firmware, []);
  });
});

describe('red team: JSON bodies cut off', () => {
  // A client that closed mid-body on a JSON route was logged as the hub's own failure
  // ("request failed" at error level, with a stack), as firmware uploads were.
  let t: TestHub;
  before(async () => {
    t = await startTestHub();
  });
  after(() => t.close());

  it('is one info line, not a hub error', async () => {
    await new Promise<void>((resolve) => {
      const req = request(`${t.http}/api/v1/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': '1000' },
      });
      req.on('error', () => resolve());
      req.on('response', () => resolve());
      req.write('{"username": "adm', () => setTimeout(() => req.destroy(), 50));
    });
    await eventually(
      () => t.logs.some((l) => l.msg === 'request cut off: the client went away before the end of its body' && l.path === '/api/v1/login'),
      'the info line',
    );
    assert.deepEqual(
      t.logs.filter((l) => (l.level as number) >= 50).map((l) => l.msg),
      [],
    );
    // The hub goes on.
    assert.equal((await fetch(`${t.http}/healthz`)).status, 200);
  });
});
