// Connections per address that have not logged in yet. Until CONNACK a connection
// has proved nothing, so one address may hold only a few such slots: sockets that
// connect and then say nothing cannot fill the listener for everybody else. An
// address is the login limiter's client (auth/login-limiter.ts): an IPv6 one counts
// as its /64, or one subscriber walking its prefix would have slots without end.

import { clientOf } from '../auth/login-limiter.js';

export class PendingLogins {
  private readonly byAddress = new Map<string, number>();
  /** Connections not logged in yet, all addresses. */
  total = 0;

  /** `limit` 0 admits any number. */
  constructor(private readonly limit: number) {}

  /** Takes a slot for `address`; false when its client (IPv6: its /64) has none left. */
  take(address: string): boolean {
    const ip = clientOf(address);
    const n = this.byAddress.get(ip) ?? 0;
    if (this.limit > 0 && n >= this.limit) return false;
    this.byAddress.set(ip, n + 1);
    this.total++;
    return true;
  }

  /** Gives back a slot taken for `address`. */
  give(address: string): void {
    const ip = clientOf(address);
    const n = this.byAddress.get(ip) ?? 0;
    if (n === 0) return;
    this.total--;
    if (n <= 1) this.byAddress.delete(ip);
    else this.byAddress.set(ip, n - 1);
  }

  of(address: string): number {
    return this.byAddress.get(clientOf(address)) ?? 0;
  }
}
