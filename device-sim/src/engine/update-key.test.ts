import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import { parseUpdateKey } from './update-key.js';

test('the signing key as PEM or as the raw 32 bytes in base64; anything else is refused', () => {
  const { publicKey } = generateKeyPairSync('ed25519');
  const pem = publicKey.export({ format: 'pem', type: 'spki' }).toString();
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x as string, 'base64url').toString('base64');
  assert.ok(parseUpdateKey(pem)?.equals(publicKey));
  assert.ok(parseUpdateKey(`${raw}\n`)?.equals(publicKey));
  assert.equal(parseUpdateKey(Buffer.alloc(31).toString('base64')), undefined);
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'pem', type: 'spki' }).toString();
  assert.equal(parseUpdateKey(rsa), undefined);
  assert.equal(parseUpdateKey('-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----'), undefined);
});
