// The device's memory of commands it received (SPEC.md §6.4): commands arrive at least
// once, so a repeated id is answered from here and never run twice.

import type { CommandStatusNumber, Data } from '@halyard/firmware-protocol';

export interface CommandOutcome {
  status: CommandStatusNumber;
  body?: Data;
}

/** SPEC.md §6.4 asks for at least the last 64 ids; a little more costs nothing. */
export const COMMAND_MEMORY = 128;

export class CommandLog {
  // Map keeps insertion order, so the first key is the oldest command.
  private readonly seen = new Map<string, CommandOutcome | null>();

  constructor(readonly limit = COMMAND_MEMORY) {}

  has(id: string): boolean {
    return this.seen.has(id);
  }

  /** undefined: never seen; null: still running; else the outcome to repeat. */
  get(id: string): CommandOutcome | null | undefined {
    return this.seen.get(id);
  }

  /** Records a command the device has started (or answered at once). */
  start(id: string): void {
    this.seen.set(id, null);
    while (this.seen.size > this.limit) {
      const oldest = this.seen.keys().next().value;
      if (oldest === undefined) break;
      this.seen.delete(oldest);
    }
  }

  finish(id: string, outcome: CommandOutcome): void {
    // A command evicted while running (over `limit` newer ones meanwhile) is recorded
    // again: its outcome is what a repeat must get.
    if (!this.seen.has(id)) this.start(id);
    this.seen.set(id, outcome);
  }

  get size(): number {
    return this.seen.size;
  }
}
