// The firmware library as the hub builds it from its configuration (docs/firmware.md).

import { resolve } from 'node:path';
import type { Audit } from '../audit.js';
import type { HubConfig } from '../config.js';
import type { Logger } from '../log.js';
import type { Store } from '../store/store.js';
import { FirmwareLibrary } from './library.js';
import { FirmwareSigner } from './signer.js';

/** Where the signing key lives unless --firmware-signing-key says: beside the database, 0600. */
export const SIGNING_KEY_FILE = 'firmware-signing-key.pem';

export function firmwareLibrary(
  config: Pick<HubConfig, 'dataDir' | 'store' | 'firmwareMaxSize' | 'firmwareMaxTotal' | 'firmwareDiskReserve' | 'firmwareSigningKey'>,
  store: Store,
  audit: Audit,
  log: Logger,
): FirmwareLibrary {
  const key = config.firmwareSigningKey;
  const path = key === 'off' ? undefined : resolve(key ?? resolve(config.dataDir, SIGNING_KEY_FILE));
  return new FirmwareLibrary(store, new FirmwareSigner(path, store, log), audit, log, {
    maxSize: config.firmwareMaxSize,
    maxTotal: config.firmwareMaxTotal,
    // SQLite's file is in the data directory; PostgreSQL's disk is the server's.
    diskDir: config.store === undefined ? config.dataDir : undefined,
    diskReserve: config.firmwareDiskReserve,
  });
}
