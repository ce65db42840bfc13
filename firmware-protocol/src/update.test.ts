import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, sign, verify } from 'node:crypto';
import { describe, it } from 'node:test';
import { CHUNK_OVERHEAD, encode, MessageType, signedBytes, updateReasonName } from './index.js';

describe('signedBytes (SPEC.md §12.8)', () => {
  const sha256 = createHash('sha256').update('image').digest();
  it('lays out context, model, fw, 8-byte big-endian size and the digest', () => {
    const b = Buffer.from(signedBytes({ model: 'm1', fw: '2.0', size: 0x1_0000_0102, sha256 }));
    const expected = Buffer.concat([Buffer.from('halyard-firmware-v1\0m1\x002.0\0'), Buffer.from([0, 0, 0, 1, 0, 0, 1, 2]), sha256]);
    assert.deepEqual(b, expected);
    assert.equal(b.length, 19 + 1 + 2 + 1 + 3 + 1 + 8 + 32);
  });
  it('an Ed25519 signature over them fails for another model or version', () => {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const image = { model: 'm1', fw: '2.0', size: 5, sha256 };
    const sig = sign(null, signedBytes(image), privateKey);
    assert.ok(verify(null, signedBytes(image), publicKey, sig));
    assert.ok(!verify(null, signedBytes({ ...image, model: 'm2' }), publicKey, sig));
    assert.ok(!verify(null, signedBytes({ ...image, fw: '2.1' }), publicKey, sig));
  });
});

describe('CHUNK size bound (SPEC.md §12.3)', () => {
  it('a CHUNK with the longest job id and offset is at most length + CHUNK_OVERHEAD bytes', () => {
    for (const length of [1, 23, 24, 255, 256, 16_384]) {
      const bytes = encode({ type: MessageType.Chunk, job: 'j'.repeat(64), offset: 2 ** 53 - 1, data: new Uint8Array(length) });
      assert.ok(bytes.length <= length + CHUNK_OVERHEAD, `${bytes.length} for ${length}`);
    }
  });
});

it('unknown reason codes read as other', () => {
  assert.equal(updateReasonName(2), 'digest_mismatch');
  assert.equal(updateReasonName(99), 'other');
});
