// The PROXY protocol (HAProxy's, versions 1 and 2: https://www.haproxy.org/download/2.6/doc/proxy-protocol.txt)
// on the MQTT TCP listener: a load balancer forwarding raw TCP says who the client is
// in a header before the first MQTT byte. Read only from --trusted-proxies
// (client-address.ts); a connection from anyone else goes to the broker as it is, where
// a PROXY header is not a CONNECT packet and ends the connection. A trusted proxy may
// also connect without a header (its health checks do): the peer's address then stands.
// Nothing a peer sends makes this throw: a bad header is a refusal with a reason.

import type { Socket } from 'node:net';
import { isIP } from 'node:net';

/** §2.1: a v1 header is at most 107 bytes, CRLF included. */
const V1_MAX = 107;
/** §2.2: the v2 signature. */
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
/** v2 headers longer than this (TLVs included) are refused: an address needs 36 bytes. */
const V2_MAX_LENGTH = 512;
const V1_PREFIX = Buffer.from('PROXY ', 'latin1');

export type ProxyHeader =
  /** A header naming the client (`address`), or none / LOCAL / UNKNOWN (`address` undefined: the peer's stands). */
  { ok: true; address: string | undefined } | { ok: false; reason: string; quiet?: boolean };

/** What `parse` makes of the bytes so far: a header and its length, not yet enough, or a refusal. */
type Parsed = { ok: true; address: string | undefined; length: number } | { ok: false; reason: string } | undefined;

export function parseProxyHeader(buf: Buffer): Parsed {
  if (startsLike(buf, V1_PREFIX)) return buf.length < V1_PREFIX.length ? undefined : parseV1(buf);
  if (startsLike(buf, V2_SIGNATURE)) return buf.length < V2_SIGNATURE.length ? undefined : parseV2(buf);
  return { ok: true, address: undefined, length: 0 };
}

/** True if buf is a prefix of `head`, or starts with it. */
function startsLike(buf: Buffer, head: Buffer): boolean {
  const n = Math.min(buf.length, head.length);
  return n > 0 && buf.subarray(0, n).equals(head.subarray(0, n));
}

function parseV1(buf: Buffer): Parsed {
  const end = buf.indexOf('\r\n', 0, 'latin1');
  if (end < 0) return buf.length >= V1_MAX ? { ok: false, reason: 'PROXY v1 header without CRLF in 107 bytes' } : undefined;
  if (end + 2 > V1_MAX) return { ok: false, reason: 'PROXY v1 header longer than 107 bytes' };
  const parts = buf.subarray(0, end).toString('latin1').split(' ');
  const length = end + 2;
  if (parts[1] === 'UNKNOWN') return { ok: true, address: undefined, length };
  if (parts.length !== 6 || (parts[1] !== 'TCP4' && parts[1] !== 'TCP6'))
    return { ok: false, reason: 'malformed PROXY v1 header (expected PROXY TCP4|TCP6 src dst sport dport)' };
  const src = parts[2] ?? '';
  if (isIP(src) !== (parts[1] === 'TCP4' ? 4 : 6)) return { ok: false, reason: 'PROXY v1 header with a bad source address' };
  return { ok: true, address: src, length };
}

function parseV2(buf: Buffer): Parsed {
  if (buf.length < 16) return undefined;
  const verCmd = buf[12] ?? 0;
  const fam = buf[13] ?? 0;
  const len = buf.readUInt16BE(14);
  if (verCmd >> 4 !== 2) return { ok: false, reason: 'PROXY v2 header of an unknown version' };
  if (len > V2_MAX_LENGTH) return { ok: false, reason: `PROXY v2 header longer than ${V2_MAX_LENGTH} bytes` };
  if (buf.length < 16 + len) return undefined;
  const length = 16 + len;
  const cmd = verCmd & 0x0f;
  // LOCAL: the proxy's own connection (health checks); the peer's address stands.
  if (cmd === 0) return { ok: true, address: undefined, length };
  if (cmd !== 1) return { ok: false, reason: 'PROXY v2 header with an unknown command' };
  const body = buf.subarray(16, length);
  const family = fam >> 4;
  if (family === 1) {
    if (body.length < 12) return { ok: false, reason: 'PROXY v2 IPv4 header too short' };
    return { ok: true, address: [...body.subarray(0, 4)].join('.'), length };
  }
  if (family === 2) {
    if (body.length < 36) return { ok: false, reason: 'PROXY v2 IPv6 header too short' };
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(body.readUInt16BE(i).toString(16));
    // Node's own canonical form (compressed zeros), so limits keyed by address agree.
    return { ok: true, address: new URL(`http://[${groups.join(':')}]`).hostname.slice(1, -1), length };
  }
  // AF_UNSPEC or AF_UNIX: no client address to give.
  return { ok: true, address: undefined, length };
}

/**
 * Reads a PROXY header from a trusted proxy's connection, then puts back what follows
 * it, for the broker. Resolves with the client's address (or undefined: none given),
 * or a refusal; `timeoutMs` bounds a proxy that sends nothing.
 */
export function readProxyHeader(socket: Socket, timeoutMs: number): Promise<ProxyHeader> {
  return new Promise((resolve) => {
    let buf = Buffer.alloc(0);
    const done = (r: ProxyHeader, rest: Buffer) => {
      clearTimeout(timer);
      socket.off('readable', onReadable);
      socket.off('close', onClose);
      if (rest.length > 0) socket.unshift(rest);
      resolve(r);
    };
    // A balancer's TCP health check connects and closes without a byte: nothing to report.
    const onClose = () => done({ ok: false, reason: 'closed before the PROXY header', quiet: buf.length === 0 }, Buffer.alloc(0));
    const onReadable = () => {
      for (let chunk = socket.read() as Buffer | null; chunk !== null; chunk = socket.read() as Buffer | null) {
        buf = Buffer.concat([buf, chunk]);
        const p = parseProxyHeader(buf);
        if (p === undefined) continue;
        if (!p.ok) return done(p, Buffer.alloc(0));
        return done({ ok: true, address: p.address }, buf.subarray(p.length));
      }
    };
    const timer = setTimeout(
      () => done({ ok: false, reason: `no PROXY header or data within ${timeoutMs} ms` }, Buffer.alloc(0)),
      timeoutMs,
    );
    socket.on('readable', onReadable);
    socket.once('close', onClose);
  });
}

export interface ProxiedAcceptOptions {
  /** Is the peer one of --trusted-proxies? */
  trusts: (peer: string | undefined) => boolean;
  /** ms a trusted proxy has to send its header (the MQTT CONNECT timeout). */
  timeoutMs: number;
  /** One line per refusal (never the bytes sent). */
  refused: (peer: string | undefined, reason: string) => void;
}

/**
 * Hands a TCP connection on with its client's address: the peer's, or, from a
 * trusted proxy, the one its PROXY header names. A bad header closes the connection.
 */
export function acceptProxied(socket: Socket, o: ProxiedAcceptOptions, accept: (socket: Socket, address: string) => void): void {
  const peer = socket.remoteAddress;
  if (!o.trusts(peer)) {
    accept(socket, peer ?? 'unknown');
    return;
  }
  // A reset while the header is awaited must not become an unhandled 'error'.
  const ignore = () => {};
  socket.on('error', ignore);
  void readProxyHeader(socket, o.timeoutMs).then((h) => {
    socket.off('error', ignore);
    if (!h.ok) {
      if (h.quiet !== true) o.refused(peer, h.reason);
      socket.destroy();
      return;
    }
    if (socket.destroyed) return;
    accept(socket, h.address ?? peer ?? 'unknown');
  });
}
