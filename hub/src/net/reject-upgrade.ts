// Answering an HTTP upgrade request with a plain HTTP error, before any WebSocket
// exists (SPEC.md §2.2): status line, JSON body, then the socket is closed. Every
// refusal is a HubError, so its status comes from the one table in errors.ts.

import { type IncomingMessage, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocketServer } from 'ws';
import { HubError, HubErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import { requestClient } from './client-address.js';

/** The headers a refusal carries by its code and options (the HTTP API sets the same ones). */
export function refusalHeaders(err: HubError): Record<string, string> {
  const headers: Record<string, string> = {};
  if (err.code === HubErrorCode.Unauthenticated) headers['WWW-Authenticate'] = 'Bearer';
  if (err.options.retryAfter !== undefined) headers['Retry-After'] = String(err.options.retryAfter);
  return headers;
}

export function rejectUpgrade(socket: Duplex, err: HubError, extraHeaders: Record<string, string> = {}): void {
  if (socket.destroyed) return;
  const body = JSON.stringify({ error: { code: err.code, message: err.message } });
  const lines = [
    `HTTP/1.1 ${err.status} ${STATUS_CODES[err.status] ?? 'Error'}`,
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    ...Object.entries({ ...refusalHeaders(err), ...extraHeaders }).map(([k, v]) => `${k}: ${v}`),
  ];
  socket.on('error', () => {});
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
  setTimeout(() => socket.destroy(), 1_000).unref();
}

/** The log line every refused upgrade gets, the same for each endpoint. */
export function logRefusal(log: Logger, what: string, req: IncomingMessage, err: HubError, extra: Record<string, unknown> = {}): void {
  log.info({ status: err.status, code: err.code, remote: requestClient(req), ...extra }, `${what} upgrade refused: ${err.message}`);
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
    const refusal = new HubError(method ? HubErrorCode.MethodNotAllowed : HubErrorCode.BadRequest, err.message);
    logRefusal(log, what, req, refusal);
    rejectUpgrade(socket, refusal, version ? { 'Sec-WebSocket-Version': '13' } : {});
  });
}
