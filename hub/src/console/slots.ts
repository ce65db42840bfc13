// Console connections held per operator and per address, so one account (or one
// machine) opening sockets in a loop cannot take every console slot the hub has
// and lock the other operators out (SECURITY.md, limits).

export interface SlotLimits {
  perOperator: number;
  perAddress: number;
}

export class ConsoleSlots {
  private readonly byOperator = new Map<string, number>();
  private readonly byAddress = new Map<string, number>();

  constructor(private readonly limits: SlotLimits) {}

  /** Why one more console for this operator from this address is refused, or undefined. */
  refusal(operator: string, address: string): string | undefined {
    if ((this.byOperator.get(operator) ?? 0) >= this.limits.perOperator)
      return `operator ${operator} already has ${this.limits.perOperator} consoles open; close one first`;
    if ((this.byAddress.get(address) ?? 0) >= this.limits.perAddress)
      return `${this.limits.perAddress} consoles are already open from this address; close one first`;
    return undefined;
  }

  take(operator: string, address: string): void {
    this.byOperator.set(operator, (this.byOperator.get(operator) ?? 0) + 1);
    this.byAddress.set(address, (this.byAddress.get(address) ?? 0) + 1);
  }

  release(operator: string, address: string): void {
    for (const [map, key] of [
      [this.byOperator, operator],
      [this.byAddress, address],
    ] as const) {
      const n = (map.get(key) ?? 0) - 1;
      if (n > 0) map.set(key, n);
      else map.delete(key);
    }
  }
}
