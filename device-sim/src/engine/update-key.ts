// The hub's firmware signing key as a device is provisioned with it (SPEC.md §12.8):
// a PEM public key, or the raw 32-byte Ed25519 key in base64 (or base64url), the two
// forms GET /api/v1/firmware/signing-key gives.

import { createPublicKey, type KeyObject } from 'node:crypto';

/** The Ed25519 public key in `text`, or undefined when it is neither form. */
export function parseUpdateKey(text: string): KeyObject | undefined {
  const trimmed = text.trim();
  try {
    if (trimmed.startsWith('-----BEGIN')) {
      const key = createPublicKey(trimmed);
      return key.asymmetricKeyType === 'ed25519' ? key : undefined;
    }
    const raw = Buffer.from(trimmed, 'base64');
    if (raw.length !== 32) return undefined;
    return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
  } catch {
    return undefined;
  }
}
