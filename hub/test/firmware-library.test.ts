// The firmware library over the HTTP API (docs/firmware.md): streamed upload, the
// hub's size, SHA-256 and Ed25519 signature, chunked storage, roles, limits, the
// signing key's file and its guard across hubs, audit entries. Runs on both stores
// (HALYARD_TEST_STORE=postgres for the PostgreSQL pass).

import assert from 'node:assert/strict';
import { createHash, createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { signedBytes } from '@halyard/firmware-protocol';
import { SIGNING_KEY_FILE } from '../src/firmware/setup.js';
import { type Api, startHubWithRoles, startTestHub, type TestHub } from './helpers/hub.js';

/** A deterministic image of `n` bytes. */
const image = (n: number, salt = 1) => Buffer.from(new Uint8Array(n).map((_, i) => (i * 131 + salt) & 0xff));

/** Uploads `bytes`; `chunked` sends them as a stream of 10,000-byte parts without a Content-Length. */
async function upload(api: Api, query: Record<string, string>, bytes: Buffer, chunked = false) {
  const url = `${api.base}/api/v1/firmware?${new URLSearchParams(query)}`;
  const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
  if (api.token) headers.authorization = `Bearer ${api.token}`;
  const body = chunked
    ? new ReadableStream<Uint8Array>({
        start(controller) {
          for (let at = 0; at < bytes.length; at += 10_000) controller.enqueue(bytes.subarray(at, at + 10_000));
          controller.close();
        },
      })
    : bytes;
  const res = await fetch(url, { method: 'POST', headers, body, duplex: 'half' } as RequestInit);
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** The image as the store holds it, chunk by chunk. */
async function stored(t: TestHub, id: string): Promise<Buffer> {
  const r = await t.hub.ctx.store.getFirmware(id);
  assert.ok(r !== undefined);
  const parts: Uint8Array[] = [];
  for (let n = 0; ; n++) {
    const c = await t.hub.ctx.store.firmwareChunk(r.rowid, n);
    if (c === undefined) break;
    assert.ok(c.length <= r.chunkSize);
    parts.push(c);
  }
  return Buffer.concat(parts);
}

describe('firmware library (docs/firmware.md)', () => {
  let t: TestHub;
  let viewer: Api;
  let operator: Api;
  before(async () => {
    ({ t, viewer, operator } = await startHubWithRoles());
  });
  after(() => t.close());

  it('an operator uploads a streamed image; the hub computes size and SHA-256, signs it, and stores it in chunks', async () => {
    const bytes = image(300_000);
    const r = await upload(operator, { model: 'esp32', version: '1.1.0', notes: 'fixes the relay' }, bytes, true);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.size, bytes.length);
    assert.equal(r.body.sha256, createHash('sha256').update(bytes).digest('hex'));
    assert.equal(r.body.status, 'ready');
    assert.equal(r.body.notes, 'fixes the relay');
    assert.equal(r.body.createdBy, 'op');
    assert.deepEqual(await stored(t, r.body.id), bytes, 'the chunks are the image');

    const key = await viewer.get('/firmware/signing-key');
    assert.equal(key.status, 200);
    assert.equal(Buffer.from(key.body.publicKey, 'base64').length, 32);
    const publicKey = createPublicKey(key.body.pem);
    const signed = signedBytes({ model: 'esp32', fw: '1.1.0', size: bytes.length, sha256: createHash('sha256').update(bytes).digest() });
    assert.ok(verify(null, signed, publicKey, Buffer.from(r.body.signature, 'base64')), 'the signature verifies with the published key');
    assert.equal(key.body.fingerprint, createHash('sha256').update(Buffer.from(key.body.publicKey, 'base64')).digest('hex'));

    const file = join(t.dir, SIGNING_KEY_FILE);
    assert.ok(existsSync(file), 'the key was made on first use, in the data dir');
    assert.equal(statSync(file).mode & 0o777, 0o600);

    const listed = await viewer.get('/firmware?model=esp32');
    assert.deepEqual(
      listed.body.firmware.map((f: { id: string }) => f.id),
      [r.body.id],
    );
    assert.deepEqual((await viewer.get(`/firmware/${r.body.id}`)).body, r.body);
    const audit = await t.api.get('/audit?limit=5');
    const entry = audit.body.entries.find((e: { action: string }) => e.action === 'firmware.upload');
    assert.equal(entry?.target, r.body.id);
    assert.equal(entry?.actor, 'op');
  });

  it('viewers read but neither upload nor delete', async () => {
    assert.equal((await upload(viewer, { model: 'm', version: '1' }, image(10))).status, 403);
    const up = await upload(operator, { model: 'm-roles', version: '1' }, image(10));
    assert.equal((await viewer.delete(`/firmware/${up.body.id}`)).status, 403);
    assert.equal((await viewer.get(`/firmware/${up.body.id}`)).status, 200);
    assert.equal((await operator.delete(`/firmware/${up.body.id}`)).status, 204);
  });

  it('one image per model and version; deleted images are gone, with an audit entry', async () => {
    const a = await upload(operator, { model: 'm-dup', version: '2.0' }, image(5_000));
    assert.equal(a.status, 201);
    const b = await upload(operator, { model: 'm-dup', version: '2.0' }, image(5_000, 2));
    assert.equal(b.status, 409);
    assert.equal(b.body.error.code, 'HUB_ERR_FIRMWARE_EXISTS');
    assert.equal((await upload(operator, { model: 'm-dup', version: '2.1' }, image(5_000))).status, 201);
    assert.equal((await t.api.delete(`/firmware/${a.body.id}`)).status, 204);
    assert.equal((await t.api.get(`/firmware/${a.body.id}`)).status, 404);
    const again = await t.api.delete(`/firmware/${a.body.id}`);
    assert.equal(again.body.error.code, 'HUB_ERR_FIRMWARE_UNKNOWN');
    const rowid = (await t.hub.ctx.store.listFirmware('m-dup')).length;
    assert.equal(rowid, 1);
    const audit = await t.api.get('/audit?limit=5');
    assert.ok(audit.body.entries.some((e: { action: string; target: string }) => e.action === 'firmware.delete' && e.target === a.body.id));
  });

  it('refuses bad uploads with a specific error and stores nothing of them', async () => {
    const before = (await t.hub.ctx.store.listFirmware()).length;
    const noModel = await upload(operator, { version: '1' }, image(10));
    assert.equal(noModel.status, 400);
    assert.equal(noModel.body.error.field, 'model');
    const empty = await upload(operator, { model: 'm', version: '1' }, Buffer.alloc(0));
    assert.equal(empty.status, 400);
    assert.equal(empty.body.error.field, 'body');
    const nul = await upload(operator, { model: 'm\u0000', version: '1' }, image(10));
    assert.equal(nul.status, 400);
    const nulNotes = await upload(operator, { model: 'm', version: '1', notes: 'a\u0000b' }, image(10));
    assert.equal(nulNotes.status, 400);
    assert.equal(nulNotes.body.error.field, 'notes');
    const long = await upload(operator, { model: 'm', version: 'v'.repeat(129) }, image(10));
    assert.equal(long.status, 400);
    const json = await operator.post(`/firmware?model=m&version=1`, { not: 'an image' });
    assert.equal(json.status, 400);
    assert.equal((await t.hub.ctx.store.listFirmware()).length, before);
  });
});

describe('firmware library limits and the signing key', () => {
  it('an image over --firmware-max-size is refused (413), declared or streamed, and nothing stays', async () => {
    const t = await startTestHub(['--firmware-max-size', '100KiB']);
    try {
      const declared = await upload(t.api, { model: 'm', version: '1' }, image(100 * 1024 + 1));
      assert.equal(declared.status, 413);
      assert.equal(declared.body.error.code, 'HUB_ERR_TOO_LARGE');
      const streamed = await upload(t.api, { model: 'm', version: '2' }, image(300_000), true);
      assert.equal(streamed.status, 413);
      assert.deepEqual(await t.hub.ctx.store.listFirmware(), []);
      // Each refusal is one warn line, as the other refusals of an upload are.
      const lines = t.logs.filter((l) => l.msg.startsWith('firmware upload refused: the image is larger'));
      assert.deepEqual(
        lines.map((l) => [l.level, l.version]),
        [
          [40, '1'],
          [40, '2'],
        ],
      );
      assert.equal((await upload(t.api, { model: 'm', version: '3' }, image(100 * 1024))).status, 201, 'exactly the limit is fine');
    } finally {
      await t.close();
    }
  });

  it('the key survives a restart; with signing off images are unsigned; another key file is refused, not used', async () => {
    const t = await startTestHub();
    const dir = t.dir;
    const first = (await t.api.get('/firmware/signing-key')).body.publicKey;
    await t.stop();
    const again = await startTestHub([], dir);
    assert.equal((await again.api.get('/firmware/signing-key')).body.publicKey, first, 'the same key after a restart');
    await again.stop();

    // A hub that signs nothing still shows the key devices trust, and stores unsigned images.
    const off = await startTestHub(['--firmware-signing-key', 'off'], dir);
    assert.equal((await off.api.get('/firmware/signing-key')).body.publicKey, first);
    const unsigned = await upload(off.api, { model: 'm', version: '1' }, image(1_000));
    assert.equal(unsigned.status, 201);
    assert.equal(unsigned.body.signature, null);
    await off.stop();

    // A hub given another key (a cluster node set up wrong) must not sign with it.
    const other = join(dir, 'other-key.pem');
    writeFileSync(other, generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
    const wrong = await startTestHub(['--firmware-signing-key', other], dir);
    try {
      const r = await upload(wrong.api, { model: 'm', version: '2' }, image(1_000));
      assert.equal(r.status, 503);
      assert.match(r.body.error.message, /not the one devices trust/);
      assert.equal((await wrong.hub.ctx.store.listFirmware('m')).length, 1, 'the refused upload left nothing');
      assert.ok(
        wrong.logs.some((l) => l.level >= 50 && /signing key/.test(l.msg)),
        'one error line says why',
      );
    } finally {
      await wrong.close();
    }
  });

  it('a hub with signing off and no key ever made answers 404 for the key', async () => {
    const t = await startTestHub(['--firmware-signing-key', 'off']);
    try {
      const r = await t.api.get('/firmware/signing-key');
      assert.equal(r.status, 404);
      assert.equal(existsSync(join(t.dir, SIGNING_KEY_FILE)), false);
    } finally {
      await t.close();
    }
  });
});
