// Answering an HTTP upgrade request with a plain HTTP error, before any WebSocket
// exists (SPEC.md §2.2): status line, JSON body, then the socket is closed.

import { type IncomingMessage, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocketServer } from 'ws';
import type { Logger } from '../log.js';

export function rejectUpgrade(socket: Duplex, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  if (socket.destroyed) return;
  const body = JSON.stringify({ error: { code, message } });
  const lines = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`,
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  socket.on('error', () => {});
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
  setTimeout(() => socket.destroy(), 1_000).unref();
}

/**
 * Upgrades the WebSocket layer itself refuses (wrong method, missing or bad key,
 * version or subprotocol header) are answered here, so that they, too, get a log
 * line: with a listener for `wsClientError`, ws leaves the answer to us.
 */
export function answerHandshakeErrors(wss: WebSocketServer, log: Logger, what: string): void {
  wss.on('wsClientError', (err: Error, socket: Duplex, req: IncomingMessage) => {
    const method = /method/i.test(err.message);
    const version = /Sec-WebSocket-Version/i.test(err.message);
    const status = method ? 405 : 400;
    log.info({ status, code: 'HUB_ERR_BAD_REQUEST', remote: req.socket.remoteAddress }, `${what} upgrade refused: ${err.message}`);
    rejectUpgrade(socket, status, 'HUB_ERR_BAD_REQUEST', err.message, version ? { 'Sec-WebSocket-Version': '13' } : {});
  });
}
