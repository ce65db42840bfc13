// Red team, wave 2: firmware uploads that end early. A client that went away mid-
// body (or a slow one cut off at the request timeout) was logged as the hub's own
// failure: "request failed" at error level with a stack, one per upload, as if the
// hub had a bug. It is the client's doing: one info line, and 400 if anyone still
// listens; nothing of the image stays.

import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { eventually } from './helpers/eventually.js';
import { startTestHub, type TestHub } from './helpers/hub.js';

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
    for (const v of ['1.0.0', '1.0.1', '1.0.2']) await cutOff(v, 300_000, 100_000);
    await eventually(
      async () => ((await t.api.get('/firmware?model=cut-model')).body.firmware as unknown[]).length === 0,
      'the partial uploads removed',
    );
    await eventually(
      async () => t.logs.filter((l) => l.msg === 'firmware upload cut off before its end: nothing kept').length === 3,
      'one line per upload cut off',
    );
    const lines = t.logs.filter((l) => l.msg === 'firmware upload cut off before its end: nothing kept');
    assert.ok(lines.every((l) => l.level === 30 && l.model === 'cut-model' && typeof l.received === 'number'));
    assert.deepEqual(
      t.logs.filter((l) => (l.level as number) >= 50).map((l) => l.msg),
      [],
    );
  });
});
