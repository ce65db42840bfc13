// Connections per address that have not logged in yet. Until CONNACK a connection
// has proved nothing, so one address may hold only a few such slots: sockets that
// connect and then say nothing cannot fill the listener for everybody else.

export class PendingLogins {
  private readonly byAddress = new Map<string, number>();
  /** Connections not logged in yet, all addresses. */
  total = 0;

  /** `limit` 0 admits any number. */
  constructor(private readonly limit: number) {}

  /** Takes a slot for `ip`; false when the address has none left. */
  take(ip: string): boolean {
    const n = this.byAddress.get(ip) ?? 0;
    if (this.limit > 0 && n >= this.limit) return false;
    this.byAddress.set(ip, n + 1);
    this.total++;
    return true;
  }

  /** Gives back a slot taken for `ip`. */
  give(ip: string): void {
    const n = this.byAddress.get(ip) ?? 0;
    if (n === 0) return;
    this.total--;
    if (n <= 1) this.byAddress.delete(ip);
    else this.byAddress.set(ip, n - 1);
  }

  of(ip: string): number {
    return this.byAddress.get(ip) ?? 0;
  }
}
