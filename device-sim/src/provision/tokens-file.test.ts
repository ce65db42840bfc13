import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { SimErrorCode } from '../errors.js';
import { apiBaseFor } from './api-client.js';
import { byId, deviceIds, loadDevices } from './provision.js';
import { readTokensFile, tokensFor, writeTokensFile } from './tokens-file.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'halyard-sim-tokens-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('a missing file reads as empty; written files round-trip, private to the user', async () => {
  const path = join(dir, 'a.json');
  assert.deepEqual(await readTokensFile(path), { version: 1, hubs: {} });
  const file = { version: 1 as const, hubs: { 'http://h:1/api/v1': { 'sim-0001': 'sim-0001.s3cret' } } };
  await writeTokensFile(path, file);
  assert.deepEqual(await readTokensFile(path), file);
  assert.equal((await stat(path)).mode & 0o777, 0o600);
});

test('tokens are kept per hub; a single-hub or list file serves any hub', async () => {
  const two = { version: 1 as const, hubs: { a: { 'd-1': 'd-1.x' }, b: { 'd-2': 'd-2.y' } } };
  assert.deepEqual([...tokensFor(two, 'b')], [['d-2', 'd-2.y']]);
  assert.equal(tokensFor(two, 'c').size, 0);
  const path = join(dir, 'list.json');
  await writeFile(path, JSON.stringify([{ id: 'dev.1', token: 'dev.1.abc' }]));
  assert.deepEqual([...tokensFor(await readTokensFile(path), 'anything')], [['dev.1', 'dev.1.abc']]);
});

test('broken files are refused with SIM_ERR_TOKENS_FILE', async () => {
  const cases = ['not json', '{"version": 2, "hubs": {}}', '[{"id": "a b", "token": "x"}]', '{"version":1,"hubs":{"h":{"d-1":"other.x"}}}'];
  for (const [i, text] of cases.entries()) {
    const path = join(dir, `bad-${i}.json`);
    await writeFile(path, text);
    await assert.rejects(readTokensFile(path), (err: Error & { code?: string }) => err.code === SimErrorCode.TokensFile);
  }
});

test('loadDevices takes the first --count devices in id order, or says to provision', async () => {
  const path = join(dir, 'fleet.json');
  const hub = 'ws://127.0.0.1:9';
  const devices = Object.fromEntries(deviceIds('sim-', 3).map((id) => [id, `${id}.t`]));
  await writeTokensFile(path, { version: 1, hubs: { [apiBaseFor(hub)]: devices } });
  const two = await loadDevices(path, hub, 2, 'mixed');
  assert.deepEqual(
    two.map((d) => [d.id, d.profile]),
    [
      ['sim-0001', 'thermostat'],
      ['sim-0002', 'power-meter'],
    ],
  );
  assert.equal((await loadDevices(path, hub, undefined, 'relay')).length, 3);
  await assert.rejects(loadDevices(path, hub, 5, 'mixed'), (err: Error & { code?: string }) => err.code === SimErrorCode.TokensShort);
  await assert.rejects(
    loadDevices(join(dir, 'none.json'), hub, 1, 'mixed'),
    (err: Error & { code?: string }) => err.code === SimErrorCode.TokensShort,
  );
  assert.match(await readFile(path, 'utf8'), /"version": 1/);
});

test('deviceIds are stable whatever the count, and sort as numbers', () => {
  assert.deepEqual(deviceIds('sim-', 2), ['sim-0001', 'sim-0002']);
  const many = deviceIds('x', 12_345);
  assert.equal(many[0], 'x0001');
  assert.equal(many[12_344], 'x12345');
  assert.deepEqual([...many].reverse().sort(byId), many);
  assert.equal(apiBaseFor('wss://hub.example:8443/v1/device'), 'https://hub.example:8443/api/v1');
});
