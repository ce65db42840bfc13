// Test doubles for the client: a socket the test drives, timers it advances by hand,
// and a frame scheduler it flushes. Nothing here sleeps.

import { type ConsoleUpdate, decodeCbor, type Encodable, encodeCbor } from '@halyard/firmware-protocol';
import type { Timers } from '../src/channel/channel.ts';
import type { Connect, SocketHandlers, SocketLike } from '../src/channel/socket.ts';

export class FakeSocket implements SocketLike {
  readonly sent: Record<string, unknown>[] = [];
  closed: { code?: number; reason?: string } | undefined;

  constructor(
    readonly url: string,
    readonly handlers: SocketHandlers,
  ) {}

  send(bytes: Uint8Array): void {
    // The hub decodes strictly; so does the test.
    const r = decodeCbor(bytes);
    if (!r.ok) throw r.error;
    this.sent.push(r.value as Record<string, unknown>);
  }

  close(code?: number, reason?: string): void {
    this.closed = { code, reason };
  }

  /** The hub side: accept, then say welcome. */
  accept(role: 'admin' | 'operator' | 'viewer' = 'operator'): void {
    this.handlers.open();
    this.deliver({ t: 'welcome', operator: { username: 'ann', role }, hub: { name: 'hub', version: '0.1.0' }, time: 1 });
  }

  deliver(u: ConsoleUpdate): void {
    this.handlers.message(encodeCbor(u as unknown as Encodable));
  }

  drop(code = 1006, reason = ''): void {
    this.handlers.close(code, reason);
  }
}

export class FakeNet {
  readonly sockets: FakeSocket[] = [];
  readonly connect: Connect = (url, handlers) => {
    const s = new FakeSocket(url, handlers);
    this.sockets.push(s);
    return s;
  };

  get last(): FakeSocket {
    const s = this.sockets[this.sockets.length - 1];
    if (s === undefined) throw new Error('no socket opened yet');
    return s;
  }
}

export class FakeClock implements Timers {
  now = 1_000_000;
  private seq = 0;
  private readonly due = new Map<number, { at: number; fn: () => void }>();

  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.due.set(id, { at: this.now + ms, fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.due.delete(handle as number);
  }

  get pending(): number {
    return this.due.size;
  }

  /** Moves time on, running whatever falls due, in order. */
  advance(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.due) if (e[1].at <= end && (next === undefined || e[1].at < next[1].at)) next = e;
      if (next === undefined) break;
      this.due.delete(next[0]);
      this.now = next[1].at;
      next[1].fn();
    }
    this.now = end;
  }
}

/** A frame scheduler the test flushes by hand. */
export class FakeFrames {
  private queue: (() => void)[] = [];
  readonly schedule = (fn: () => void): void => {
    this.queue.push(fn);
  };

  get waiting(): number {
    return this.queue.length;
  }

  flush(): void {
    const q = this.queue;
    this.queue = [];
    for (const fn of q) fn();
  }
}
