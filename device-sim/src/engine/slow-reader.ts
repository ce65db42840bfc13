// The slow-consumer fault (--chaos-slow): downlink messages are handled one per
// `delayMs`, and the socket stays paused while any wait, so TCP backpressure reaches
// the hub just as it would from an overloaded microcontroller.

import type WebSocket from 'ws';

export class SlowReader {
  private queue: { data: Buffer; binary: boolean }[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ws: WebSocket,
    private readonly delayMs: number,
    private readonly deliver: (data: Buffer, binary: boolean) => void,
  ) {}

  push(data: Buffer, binary: boolean): void {
    this.queue.push({ data, binary });
    this.ws.pause();
    this.timer ??= setTimeout(this.next, this.delayMs);
  }

  /** The connection ended: forget what was waiting. */
  clear(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.queue = [];
  }

  private next = (): void => {
    this.timer = undefined;
    const item = this.queue.shift();
    if (item === undefined) return;
    this.deliver(item.data, item.binary);
    if (this.queue.length > 0) this.timer = setTimeout(this.next, this.delayMs);
    else this.ws.resume();
  };
}
