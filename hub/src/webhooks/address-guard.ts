// Where webhooks may point (README.md § Alarms and notifications, SECURITY.md). A
// webhook makes the hub send requests to a URL an admin typed: server-side request
// forgery is the risk. So: http and https only, no credentials in the URL, and the
// addresses a name resolves to are checked when the connection is made (not when
// the URL is saved: DNS can change in between), refusing by default loopback
// (the hub itself, its database, Redis), link-local (169.254.0.0/16 holds cloud
// metadata services; fe80::/10), "this host" 0.0.0.0/8 and ::, multicast and
// reserved ranges, IPv4-mapped forms of all those, and the other cloud metadata
// address fd00:ec2::254. Private ranges (10/8, 172.16/12, 192.168/16, fc00::/7) are
// allowed: receivers on the operator's own network are the usual case. An
// operator who wants loopback or any refused range lists it in --webhook-allow.
// Redirects are never followed (a 3xx is a failed attempt), so a receiver cannot
// bounce the hub to a refused address.

import { BlockList, isIP } from 'node:net';
import { parseCidr } from '../net/client-address.js';

const REFUSED: readonly [string, number, 'ipv4' | 'ipv6'][] = [
  ['0.0.0.0', 8, 'ipv4'],
  ['127.0.0.0', 8, 'ipv4'],
  ['169.254.0.0', 16, 'ipv4'],
  ['100.100.100.200', 32, 'ipv4'], // Alibaba Cloud metadata
  ['224.0.0.0', 4, 'ipv4'],
  ['240.0.0.0', 4, 'ipv4'],
  ['::', 128, 'ipv6'],
  ['::1', 128, 'ipv6'],
  ['fe80::', 10, 'ipv6'],
  ['ff00::', 8, 'ipv6'],
  ['fd00:ec2::254', 128, 'ipv6'], // AWS metadata over IPv6
];

export class AddressGuard {
  private readonly refused = new BlockList();
  private readonly allowed = new BlockList();

  /** `allow`: addresses or CIDR ranges (--webhook-allow), checked by config. */
  constructor(allow: readonly string[]) {
    for (const [a, p, f] of REFUSED) this.refused.addSubnet(a, p, f);
    for (const r of allow) {
      const c = parseCidr(r);
      if (c !== undefined) this.allowed.addSubnet(c.address, c.prefix, c.family);
    }
  }

  /** Why `address` (an IP) may not be reached, or undefined when it may. */
  refusal(address: string): string | undefined {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
    const a = mapped ?? address;
    const family = isIP(a);
    if (family === 0) return `not an address: ${address}`;
    const f = family === 4 ? 'ipv4' : 'ipv6';
    if (this.allowed.check(a, f)) return undefined;
    if (this.refused.check(a, f))
      return `${address} is a loopback, link-local, metadata or reserved address (allow it with --webhook-allow)`;
    return undefined;
  }
}

/** Longest webhook URL, characters. */
export const MAX_URL_LENGTH = 2_048;

/** The URL's problem, or undefined: http(s), a host, no user or password, not too long. Addresses are checked at connect time. */
export function urlProblem(text: string, guard: AddressGuard): string | undefined {
  if (text.length > MAX_URL_LENGTH) return `at most ${MAX_URL_LENGTH} characters`;
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return 'not a URL';
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return 'only http:// and https:// URLs';
  if (u.username !== '' || u.password !== '') return 'no user or password in the URL (the signature authenticates the hub)';
  if (u.hostname === '') return 'no host';
  // A literal address can be refused now; a name is checked on every connection.
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  if (isIP(host) !== 0) return guard.refusal(host);
  return undefined;
}
