// The client's real address behind a load balancer (README.md, Running a cluster):
// `X-Forwarded-For` on HTTP requests and WebSocket upgrades is believed only when the
// connection comes from one of --trusted-proxies (CIDR ranges); from anyone else it
// is ignored, so a client cannot pick the address its rate limits, login throttling
// and log lines go by. Hostile header values never throw: what cannot be read is
// not believed.

import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';

/** Longest X-Forwarded-For read, characters; the rest is ignored (a proxy chain is a few addresses). */
const MAX_FORWARDED_CHARS = 2_048;

export class TrustedProxies {
  private readonly list = new BlockList();
  readonly size: number;

  /** `ranges`: CIDRs (`10.0.0.0/8`, `fd00::/8`) or single addresses; throws on one that is not (config checks first). */
  constructor(ranges: readonly string[]) {
    for (const r of ranges) {
      const cidr = parseCidr(r);
      if (cidr === undefined) throw new Error(`not an address or CIDR range: ${JSON.stringify(r)}`);
      this.list.addSubnet(cidr.address, cidr.prefix, cidr.family);
    }
    this.size = ranges.length;
  }

  /** True when `address` (as a socket reports it; IPv4-mapped IPv6 included) is a trusted proxy. */
  trusts(address: string | undefined): boolean {
    if (this.size === 0 || address === undefined) return false;
    const a = normalize(address);
    const family = isIP(a);
    if (family === 0) return false;
    return this.list.check(a, family === 4 ? 'ipv4' : 'ipv6');
  }

  /**
   * The client's address: the peer's, unless the peer is trusted and forwarded the
   * request; then the nearest address in X-Forwarded-For that is not itself a trusted
   * proxy (read right to left, as each proxy appends the address it saw). An entry
   * that is not an address stops the walk at what was read so far.
   */
  clientAddress(peer: string | undefined, forwardedFor: string | readonly string[] | undefined): string {
    const own = peer === undefined ? 'unknown' : normalize(peer);
    if (forwardedFor === undefined || !this.trusts(peer)) return own;
    const raw = (typeof forwardedFor === 'string' ? forwardedFor : forwardedFor.join(',')).slice(-MAX_FORWARDED_CHARS);
    const hops = raw.split(',');
    let client = own;
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = parseHop(hops[i] ?? '');
      if (hop === undefined) break;
      client = hop;
      if (!this.trusts(hop)) break;
    }
    return client;
  }

  /** The client's address of an HTTP request or WebSocket upgrade. */
  ofRequest(req: IncomingMessage): string {
    return this.clientAddress(req.socket.remoteAddress, req.headers['x-forwarded-for']);
  }
}

/** `a.b.c.d/n`, `x::y/n` or a bare address (a /32 or /128); undefined if neither. */
export function parseCidr(raw: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  const [address = '', prefixText, extra] = raw.trim().split('/');
  if (extra !== undefined) return undefined;
  const family = isIP(address);
  if (family === 0) return undefined;
  const max = family === 4 ? 32 : 128;
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (prefix > max) return undefined;
  return { address, prefix, family: family === 4 ? 'ipv4' : 'ipv6' };
}

/** One X-Forwarded-For entry: an address, possibly `[v6]:port` or `v4:port`; undefined if not one. */
function parseHop(raw: string): string | undefined {
  let s = raw.trim();
  if (s.length === 0 || s.length > 64) return undefined;
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(s);
  if (bracketed) s = bracketed[1] ?? '';
  else if (/^[\d.]+:\d{1,5}$/.test(s)) s = s.slice(0, s.lastIndexOf(':'));
  return isIP(s) === 0 ? undefined : normalize(s);
}

/** `::ffff:1.2.3.4` as `1.2.3.4`: the same client whichever way the socket reports it. */
function normalize(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

const byConfig = new WeakMap<object, TrustedProxies>();

/** The hub's trusted proxies (--trusted-proxies), made once per configuration. */
export function trustedProxies(config: { readonly trustedProxies: readonly string[] }): TrustedProxies {
  let t = byConfig.get(config);
  if (t === undefined) {
    t = new TrustedProxies(config.trustedProxies);
    byConfig.set(config, t);
  }
  return t;
}

const byRequest = new WeakMap<IncomingMessage, string>();

/** Records the client's address of an upgrade, decided once where upgrades come in (hub.ts). */
export function setRequestClient(req: IncomingMessage, address: string): void {
  byRequest.set(req, address);
}

/** The client's address of an upgrade: as recorded, else the peer's. For limits and log lines. */
export function requestClient(req: IncomingMessage): string {
  return byRequest.get(req) ?? normalizePeer(req.socket.remoteAddress);
}

function normalizePeer(address: string | undefined): string {
  return address === undefined ? 'unknown' : normalize(address);
}
