// Reading a --bridge URL: `mqtt[s]://user:pass@host:port[?prefix=site1/&qos=1]`,
// plus `version` (5, 3.1.1, or auto: 5 first, 3.1.1 if the broker refuses it)
// and `clientId`.

import { createHash } from 'node:crypto';
import { redact } from '../config.js';
import { HubError, HubErrorCode } from '../errors.js';

export interface BridgeConfig {
  /** The URL with its password hidden, for logs and stats. */
  url: string;
  /** host:port, for metric labels. */
  label: string;
  protocol: 'mqtt' | 'mqtts';
  host: string;
  port: number;
  username: string | undefined;
  password: string | undefined;
  /** Put in front of every topic on the remote broker ('' or ending in '/'). */
  prefix: string;
  qos: 0 | 1 | 2;
  version: 'auto' | 4 | 5;
  clientId: string;
}

function bad(url: string, why: string): HubError {
  return new HubError(HubErrorCode.Validation, `--bridge ${redact(url)}: ${why}`, { field: 'bridge' });
}

export function parseBridgeUrl(url: string, hubName: string): BridgeConfig {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw bad(url, 'not a URL');
  }
  const protocol = u.protocol.slice(0, -1);
  if (protocol !== 'mqtt' && protocol !== 'mqtts') throw bad(url, 'must be an mqtt:// or mqtts:// URL');
  if (u.hostname === '') throw bad(url, 'no host');
  for (const key of u.searchParams.keys()) {
    if (!['prefix', 'qos', 'version', 'clientId'].includes(key))
      throw bad(url, `unknown parameter "${key}" (prefix, qos, version, clientId)`);
  }
  let prefix = u.searchParams.get('prefix') ?? '';
  if (/[+#]/.test(prefix) || prefix.includes('\0') || prefix.startsWith('/') || prefix.startsWith('$'))
    throw bad(url, 'prefix must be topic levels without + # or a leading / or $');
  if (prefix !== '' && !prefix.endsWith('/')) prefix += '/';
  const qosText = u.searchParams.get('qos') ?? '1';
  if (!['0', '1', '2'].includes(qosText)) throw bad(url, 'qos must be 0, 1 or 2');
  const versionText = u.searchParams.get('version') ?? 'auto';
  const version =
    versionText === 'auto' ? 'auto' : versionText === '5' ? 5 : versionText === '3.1.1' || versionText === '4' ? 4 : undefined;
  if (version === undefined) throw bad(url, 'version must be 5, 3.1.1 or auto');
  const port = u.port === '' ? (protocol === 'mqtts' ? 8883 : 1883) : Number(u.port);
  // Stable per hub and remote: a reconnect after a crash takes over the stale session at once.
  const digest = createHash('sha256').update(`${hubName}|${u.host}|${prefix}`).digest('hex').slice(0, 12);
  const clientId = u.searchParams.get('clientId') ?? `halyard-${digest}`;
  return {
    url: redact(url),
    label: `${u.hostname}:${port}`,
    protocol,
    host: u.hostname,
    port,
    username: u.username === '' ? undefined : decodeURIComponent(u.username),
    password: u.password === '' ? undefined : decodeURIComponent(u.password),
    prefix,
    qos: Number(qosText) as 0 | 1 | 2,
    version,
    clientId,
  };
}
