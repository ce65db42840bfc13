import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { isSimError } from '../errors.js';
import { readDeviceToken } from './token-source.js';

const TOKEN = `thermo-1.${'a'.repeat(43)}`;

test('a token file is read and trimmed (files end with a newline)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sim-token-'));
  const file = join(dir, 'device.token');
  writeFileSync(file, `${TOKEN}\n`);
  assert.equal(await readDeviceToken({ token: undefined, tokenFile: file }), TOKEN);
});

test("'--token -' reads the token from stdin", async () => {
  assert.equal(await readDeviceToken({ token: '-', tokenFile: undefined }, Readable.from([`${TOKEN}\n`])), TOKEN);
});

test('a missing file or a malformed token is a config error naming the source', async () => {
  await assert.rejects(
    readDeviceToken({ token: undefined, tokenFile: '/nonexistent/device.token' }),
    (e) => isSimError(e) && /--token-file/.test(e.message),
  );
  await assert.rejects(
    readDeviceToken({ token: '-', tokenFile: undefined }, Readable.from(['no secret'])),
    (e) => isSimError(e) && /stdin/.test(e.message),
  );
});

test('a token given on the command line passes through; none is undefined', async () => {
  assert.equal(await readDeviceToken({ token: TOKEN, tokenFile: undefined }), TOKEN);
  assert.equal(await readDeviceToken({ token: undefined, tokenFile: undefined }), undefined);
});
