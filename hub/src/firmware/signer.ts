// The hub's Ed25519 firmware signing key (docs/firmware.md, SPEC.md §12.8).
//
// The private key lives in a PEM file of its own, mode 0600 (--firmware-signing-key,
// by default in the data directory), never in the database: a copy of the database
// or a PostgreSQL dump does not give away the power to sign firmware. The public key
// is recorded in the store (meta `firmware.signing-key`), which every hub of a
// cluster shares; so the first hub to need a key creates it, and a hub whose file
// holds another key, or none while the store names one, refuses to sign rather than
// sign with a key the devices do not trust. Every hub must then be given the same
// file, as with a TLS key.

import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { type SignedImage, signedBytes } from '@halyard/firmware-protocol';
import { HubError, HubErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import type { Store } from '../store/store.js';

/** The meta key under which the store records the public key (base64 of its 32 raw bytes). */
export const SIGNING_KEY_META = 'firmware.signing-key';

export interface PublicSigningKey {
  algorithm: 'Ed25519';
  /** The raw 32-byte public key, base64: what a device is provisioned with. */
  publicKey: string;
  /** The same key as a PEM (SPKI) document. */
  pem: string;
  /** SHA-256 of the raw key, hex: to compare keys by eye. */
  fingerprint: string;
}

function rawPublic(key: KeyObject): Buffer {
  const jwk = key.export({ format: 'jwk' });
  return Buffer.from(jwk.x as string, 'base64url');
}

export function describeKey(raw: Buffer): PublicSigningKey {
  const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
  return {
    algorithm: 'Ed25519',
    publicKey: raw.toString('base64'),
    pem: key.export({ format: 'pem', type: 'spki' }).toString(),
    fingerprint: createHash('sha256').update(raw).digest('hex'),
  };
}

export class FirmwareSigner {
  private key: KeyObject | undefined;
  private ready: Promise<KeyObject> | undefined;

  constructor(
    /** The key file, or undefined when signing is off (--firmware-signing-key off). */
    readonly path: string | undefined,
    private readonly store: Pick<Store, 'op' | 'getMeta'>,
    private readonly log: Logger,
  ) {}

  get enabled(): boolean {
    return this.path !== undefined;
  }

  /** The public key devices verify with: created on first use when signing is on; undefined when off and none recorded. */
  async publicKey(): Promise<PublicSigningKey | undefined> {
    if (this.enabled) return describeKey(rawPublic(await this.privateKey()));
    const recorded = await this.store.getMeta(SIGNING_KEY_META);
    return recorded === undefined ? undefined : describeKey(Buffer.from(recorded, 'base64'));
  }

  /** The signature of an image (SPEC.md §12.8), or null when signing is off. */
  async sign(image: SignedImage): Promise<Uint8Array | null> {
    if (!this.enabled) return null;
    return new Uint8Array(sign(null, signedBytes(image), await this.privateKey()));
  }

  private privateKey(): Promise<KeyObject> {
    if (this.key !== undefined) return Promise.resolve(this.key);
    this.ready ??= this.load().then(
      (k) => {
        this.key = k;
        return k;
      },
      (err: unknown) => {
        this.ready = undefined; // a later call may find the file fixed
        this.log.error({ path: this.path, err: (err as Error).message }, 'firmware signing key unusable: not signing');
        throw err;
      },
    );
    return this.ready;
  }

  private async load(): Promise<KeyObject> {
    const path = this.path as string;
    const recorded = await this.store.getMeta(SIGNING_KEY_META);
    let key = readKey(path);
    if (key === undefined) {
      if (recorded !== undefined)
        throw new HubError(
          HubErrorCode.Unavailable,
          `the firmware signing key file ${path} is missing, and another hub created the key devices trust: copy its file here (docs/firmware.md)`,
        );
      key = createKey(path);
      this.log.info({ path }, 'created the firmware signing key (Ed25519)');
    }
    const mine = rawPublic(createPublicKey(key)).toString('base64');
    const trusted = await this.store.op('initMeta', { key: SIGNING_KEY_META, value: mine });
    if (trusted !== mine)
      throw new HubError(
        HubErrorCode.Unavailable,
        `the firmware signing key in ${path} is not the one devices trust (fingerprint ${describeKey(Buffer.from(trusted, 'base64')).fingerprint}): give every hub the same key file (docs/firmware.md)`,
      );
    return key;
  }
}

function readKey(path: string): KeyObject | undefined {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new HubError(HubErrorCode.Unavailable, `cannot read the firmware signing key ${path}: ${(err as Error).message}`);
  }
  if (process.platform !== 'win32' && (statSync(path).mode & 0o077) !== 0)
    throw new HubError(HubErrorCode.Unavailable, `the firmware signing key ${path} can be read by other users: chmod 600 it`);
  try {
    const key = createPrivateKey(pem);
    if (key.asymmetricKeyType !== 'ed25519') throw new Error(`a ${key.asymmetricKeyType} key`);
    return key;
  } catch (err) {
    throw new HubError(HubErrorCode.Unavailable, `${path} holds no Ed25519 private key (${(err as Error).message})`);
  }
}

function createKey(path: string): KeyObject {
  const { privateKey } = generateKeyPairSync('ed25519');
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  try {
    // wx: two hubs sharing a directory may race here; the second reads the first one's key.
    writeFileSync(path, privateKey.export({ format: 'pem', type: 'pkcs8' }), { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return readKey(path) as KeyObject;
  }
  return privateKey;
}
