// Opens one device-channel WebSocket (SPEC.md §2): subprotocol, bearer token, no
// compression, our own pongs, a receive limit; and reduces everything that can end
// it (an HTTP refusal at the upgrade, a close, an error) to exactly one Ending.

import { DEFAULT_LIMITS, DEVICE_SUBPROTOCOL } from '@halyard/firmware-protocol';
import WebSocket from 'ws';
import { parseRetryAfter } from './close-policy.js';
import type { FleetContext } from './context.js';

/** How a connection ended: refused at the upgrade, or closed (by either side, or the network). */
export type Ending = { kind: 'http'; status: number; retryAfter: number | undefined } | { kind: 'close'; code: number };

export interface SocketHandlers {
  open(): void;
  ping(data: Buffer): void;
  message(data: Buffer, binary: boolean): void;
  /** A socket or TLS error; the ending follows. */
  error(code: string): void;
  /** Called once per socket. */
  end(ending: Ending): void;
}

/** Upgrade plus WELCOME must finish within this, ms. */
export const HANDSHAKE_TIMEOUT_MS = 20_000;

export function openDeviceSocket(ctx: FleetContext, token: string, localAddress: string | undefined, on: SocketHandlers): WebSocket {
  const ws = new WebSocket(ctx.url, DEVICE_SUBPROTOCOL, {
    ...ctx.socket,
    headers: { Authorization: `Bearer ${token}` },
    perMessageDeflate: false, // §2.1; and it costs ~17 KB per socket
    autoPong: false, // answered by hand, so that a silent device can withhold it
    maxPayload: DEFAULT_LIMITS.maxFrame,
    handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
    ...(localAddress === undefined ? {} : { localAddress }),
  });
  let ended = false;
  const end = (ending: Ending): void => {
    if (ended) return;
    ended = true;
    on.end(ending);
  };
  ws.on('unexpected-response', (req, res) => {
    // Handled here, ws emits nothing more for this socket: the ending is ours to report.
    const status = res.statusCode ?? 0;
    const retryAfter = parseRetryAfter(res.headers['retry-after']);
    res.resume();
    req.destroy();
    end({ kind: 'http', status, retryAfter });
  });
  ws.on('open', () => on.open());
  ws.on('ping', (data) => on.ping(data));
  ws.on('message', (data, isBinary) => on.message(data as Buffer, isBinary));
  ws.on('error', (err: Error & { code?: string }) => on.error(err.code ?? 'ERROR'));
  ws.on('close', (code) => end({ kind: 'close', code }));
  return ws;
}
