// Where webhooks may point (README.md § Alarms and notifications, SECURITY.md). A
// webhook makes the hub send requests to a URL an admin typed: server-side request
// forgery is the risk. So: http and https only, no credentials in the URL, and the
// addresses a name resolves to are checked when the connection is made (not when
// the URL is saved: DNS can change in between), refusing by default loopback
// (the hub itself, its database, Redis), link-local (169.254.0.0/16 holds cloud
// metadata services; fe80::/10), "this host" 0.0.0.0/8 and ::, multicast and
// reserved ranges, IPv4-mapped forms of all those, and the other cloud metadata
// address fd00:ec2::254, and IPv6 addresses that carry an IPv4 one to a router that
// unwraps it (NAT64 64:ff9b::/96 and 64:ff9b:1::/48, 6to4 2002::/16, the old
// IPv4-compatible ::/96) when the IPv4 address is refused. Private ranges (10/8, 172.16/12, 192.168/16, fc00::/7) are
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

/** The 16 bytes of an IPv6 address (as isIP accepts it, zone removed), or undefined. */
function ipv6Bytes(address: string): number[] | undefined {
  let text = address.split('%')[0] ?? '';
  const tail = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (tail !== null) {
    const [a, b, c, d] = tail.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, tail.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', rest] = text.split('::');
  const groups = (part: string) => (part === '' ? [] : part.split(':').map((g) => Number.parseInt(g, 16)));
  const left = groups(head);
  const right = rest === undefined ? [] : groups(rest);
  const missing = 8 - left.length - right.length;
  if (missing < 0 || (rest === undefined && missing !== 0)) return undefined;
  const words = [...left, ...Array<number>(missing).fill(0), ...right];
  return words.flatMap((w) => [w >> 8, w & 0xff]);
}

/**
 * The IPv4 address an IPv6 one carries to a translating router (NAT64 64:ff9b::/96,
 * 64:ff9b:1::/48 as /96, 6to4 2002::/16, IPv4-compatible ::/96), or undefined.
 */
export function embeddedIpv4(address: string): string | undefined {
  if (isIP(address.split('%')[0] ?? '') !== 6) return undefined;
  const b = ipv6Bytes(address);
  if (b === undefined) return undefined;
  const v4 = (at: number) => b.slice(at, at + 4).join('.');
  const zero = (from: number, to: number) => b.slice(from, to).every((x) => x === 0);
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && (zero(4, 12) || (b[4] === 0 && b[5] === 1))) return v4(12);
  if (b[0] === 0x20 && b[1] === 0x02) return v4(2);
  // ::a.b.c.d, but not :: and ::1 (refused as themselves).
  if (zero(0, 12) && !zero(12, 15)) return v4(12);
  return undefined;
}

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
    const inner = f === 'ipv6' ? embeddedIpv4(a) : undefined;
    if (this.refused.check(a, f) || (inner !== undefined && !this.allowed.check(inner, 'ipv4') && this.refused.check(inner, 'ipv4')))
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
