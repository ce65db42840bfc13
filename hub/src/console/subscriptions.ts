// Which streams a console follows, and for which devices (SPEC.md §10.2).

import type { ConsoleStream } from '@halyard/firmware-protocol';

/** Streams that carry only the devices a console names; a `sub` without names follows none. */
const NAMED_ONLY: ReadonlySet<ConsoleStream> = new Set(['telemetry', 'twins']);
/** Streams about the hub or the whole fleet, where a device list means nothing (`jobs`: every job's progress). */
const WHOLE: ReadonlySet<ConsoleStream> = new Set(['fleet', 'stats', 'jobs']);

export type Scope = 'all' | ReadonlySet<string>;

export class Subscriptions {
  private readonly streams = new Map<ConsoleStream, Scope>();

  /** Subscribes, replacing an earlier device list of the same stream; returns the scope in force. */
  set(stream: ConsoleStream, devices: readonly string[] | undefined): Scope {
    const scope: Scope = WHOLE.has(stream)
      ? 'all'
      : devices === undefined
        ? NAMED_ONLY.has(stream)
          ? new Set()
          : 'all'
        : new Set(devices);
    this.streams.set(stream, scope);
    return scope;
  }

  delete(stream: ConsoleStream): boolean {
    return this.streams.delete(stream);
  }

  has(stream: ConsoleStream): boolean {
    return this.streams.has(stream);
  }

  /** Does this console want `stream` updates about `device`? */
  wants(stream: ConsoleStream, device: string): boolean {
    const s = this.streams.get(stream);
    return s !== undefined && (s === 'all' || s.has(device));
  }
}
